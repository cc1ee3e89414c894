"""A number entered by touch: a slider with a spin box, its unit and its range.

The one place the Rules page enters numbers, so it can take the on-screen keypad later
without the page changing: `edited(value)` when the person changes it, `set_value(value)`
from the model (which never echoes back as an edit).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSlider,
    QWidget,
)

from ui.theme import named, value_font


class NumberEntry(QWidget):
    """A labelled number with a slider over [minimum, maximum] in steps of `step`; the spin
    box accepts anything within the hard limits (the slider's range grows to follow)."""

    edited = Signal(float)

    def __init__(self, label: str, where: str, unit: str, minimum: float, maximum: float,
                 step: float,
                 decimals: int, target_px: int, limit_min: float | None = None,
                 limit_max: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = step
        self.minimum, self.maximum = minimum, maximum
        self._quiet = False
        self.title = named(QLabel(label), "entryLabel")
        self.where = named(QLabel(where), "entryWhere")
        self.spin = named(QDoubleSpinBox(), "entrySpin")
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(step)
        self.spin.setRange(limit_min if limit_min is not None else -1e12,
                           limit_max if limit_max is not None else 1e12)
        self.spin.setFont(value_font())
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumHeight(target_px)
        self.spin.setMinimumWidth(target_px * 2)
        self.unit = named(QLabel(unit), "entryUnit")
        self.unit.setMinimumWidth(36)
        self.slider = named(QSlider(Qt.Orientation.Horizontal), "entrySlider")
        self.slider.setMinimumHeight(target_px)
        self.slider.setPageStep(10)
        self.low = named(QLabel(), "entryRange")
        self.high = named(QLabel(), "entryRange")
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.note = named(QLabel(), "entryNote")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._fmt = f"{{:.{decimals}f}}"
        self._set_range(minimum, maximum)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.where, 1, 0, 1, 2)
        grid.addWidget(self.spin, 0, 2, 2, 1)
        grid.addWidget(self.unit, 0, 3, 2, 1)
        grid.addWidget(self.slider, 2, 0, 1, 4)
        grid.addWidget(self.low, 3, 0)
        grid.addWidget(self.note, 3, 1)
        grid.addWidget(self.high, 3, 2, 1, 2)
        grid.setColumnStretch(1, 1)

        self.slider.valueChanged.connect(self._slid)
        self.spin.valueChanged.connect(self._typed)

    def value(self) -> float:
        """The number shown."""
        return float(self.spin.value())

    def set_value(self, value: float) -> None:
        """Show `value` (from the model: no `edited`)."""
        self._quiet = True
        try:
            if not self.minimum <= value <= self.maximum:
                self._set_range(min(self.minimum, value), max(self.maximum, value))
            self.spin.setValue(value)
            self.slider.setValue(self._position(value))
        finally:
            self._quiet = False

    def set_note(self, text: str) -> None:
        """A word under the slider (e.g. "● edited · deployed 70 °C")."""
        self.note.setText(text)

    def _set_range(self, minimum: float, maximum: float) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.slider.setRange(0, max(1, round((maximum - minimum) / self.step)))
        unit = self.unit.text() if hasattr(self, "unit") else ""
        self.low.setText(f"{self._fmt.format(minimum)} {unit}".strip())
        self.high.setText(f"{self._fmt.format(maximum)} {unit}".strip())

    def _position(self, value: float) -> int:
        return round((value - self.minimum) / self.step)

    def _slid(self, position: int) -> None:
        if self._quiet:
            return
        value = round(self.minimum + position * self.step, 10)
        self._quiet = True
        try:
            self.spin.setValue(value)
        finally:
            self._quiet = False
        self.edited.emit(float(self.spin.value()))

    def _typed(self, value: float) -> None:
        if self._quiet:
            return
        if not self.minimum <= value <= self.maximum:
            self._set_range(min(self.minimum, value), max(self.maximum, value))
        self._quiet = True
        try:
            self.slider.setValue(self._position(value))
        finally:
            self._quiet = False
        self.edited.emit(float(value))
