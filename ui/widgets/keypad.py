"""The on-screen numeric keypad, and `NumberField`, the number entry that opens it.

Every number an operator enters goes through one of these: on a panel PC there is no
keyboard, and gloved fingers need keys of at least 12 mm. The keypad shows the unit and
the allowed range and refuses a value outside it with the reason, in words, so nothing out
of range ever reaches a page. A keyboard works too: typing into the field, or on the
keypad (digits, point, minus, Backspace, Delete, Enter, Escape).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.theme import TOUCH_GAP_MM, TOUCH_TARGET_MM, named, px_for_mm, value_font

MIN_KEY_PX = 44
"""Never smaller than this, whatever DPI the screen reports."""

BACKSPACE, CLEAR, MINUS, POINT, OK, CANCEL = "⌫", "C", "±", ".", "OK", "Cancel"
KEYS = (("7", "8", "9", BACKSPACE),
        ("4", "5", "6", CLEAR),
        ("1", "2", "3", MINUS),
        ("0", POINT))
"""The key grid, row by row; "0" spans two columns and the point the other two."""


def format_number(value: float, decimals: int) -> str:
    """`value` with `decimals` places, trailing zeros dropped ("12.5", "40")."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class NumberRange(QObject):
    """What a number may be (minimum, maximum, decimals, unit), and why a value is refused."""

    def __init__(self, minimum: float, maximum: float, decimals: int = 0, unit: str = "",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if not minimum <= maximum:
            raise ValueError(f"minimum {minimum} is above maximum {maximum}")
        self.minimum, self.maximum = float(minimum), float(maximum)
        self.decimals, self.unit = max(0, int(decimals)), unit

    def text(self, value: float) -> str:
        """`value` as shown, without the unit."""
        return format_number(value, self.decimals)

    def with_unit(self, value: float) -> str:
        """`value` with the unit ("45 min")."""
        return f"{self.text(value)} {self.unit}".strip()

    def describe(self) -> str:
        """The allowed range in words ("1 to 1440 min")."""
        return self.tr("{low} to {high}").format(
            low=self.text(self.minimum), high=self.with_unit(self.maximum))

    def check(self, text: str) -> tuple[float | None, str]:
        """(the value, "") when `text` is an allowed number, else (None, why not)."""
        text = text.strip()
        if text in ("", "-", ".", "-."):
            return None, self.tr("Enter a number")
        try:
            value = float(text)
        except ValueError:
            return None, self.tr("“{text}” is not a number").format(text=text)
        if not math.isfinite(value):
            return None, self.tr("“{text}” is not a number").format(text=text)
        if value != round(value, self.decimals):
            return None, (self.tr("Whole numbers only") if self.decimals == 0 else
                          self.tr("At most {n} decimal places").format(n=self.decimals))
        if value < self.minimum:
            return None, self.tr("{value} is below the minimum, {low}").format(
                value=self.with_unit(value), low=self.with_unit(self.minimum))
        if value > self.maximum:
            return None, self.tr("{value} is above the maximum, {high}").format(
                value=self.with_unit(value), high=self.with_unit(self.maximum))
        return value, ""


def key_px(widget: QWidget) -> int:
    """The side of a key on `widget`'s screen: 12 mm, and never below MIN_KEY_PX."""
    return max(MIN_KEY_PX, px_for_mm(widget.screen(), TOUCH_TARGET_MM))


class Keypad(QDialog):
    """A modal numeric keypad over `limits`; `value()` once accepted.

    `press(key)` is what a tap on a key does (tests and the keyboard use it too); OK
    accepts only an allowed value and otherwise shows why not and stays open."""

    def __init__(self, title: str, limits: NumberRange, value: float | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(True)
        self.setWindowTitle(title)
        self.limits = limits
        self._value: float | None = None
        self._fresh = True
        """The shown value is the old one: the first digit replaces it."""
        key = key_px(parent or self)
        gap = max(6, px_for_mm(self.screen(), TOUCH_GAP_MM))

        self.title = named(QLabel(title), "sectionTitle")
        self.display = named(QLabel(), "keypadDisplay")
        self.display.setFont(value_font(round(key * 0.6)))
        self.display.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.display.setMinimumHeight(key)
        self.unit = named(QLabel(limits.unit), "keypadUnit")
        self.range = named(QLabel(self.tr("Allowed: {range}").format(range=limits.describe())),
                           "keypadRange")
        self.reason = named(QLabel(), "refusal")
        self.reason.setWordWrap(True)
        self.reason.hide()

        display_row = QHBoxLayout()
        display_row.setSpacing(gap)
        display_row.addWidget(self.display, 1)
        display_row.addWidget(self.unit)

        grid = QGridLayout()
        grid.setSpacing(gap)
        self.keys: dict[str, QPushButton] = {}
        for r, row in enumerate(KEYS):
            column = 0
            for text in row:
                span = 2 if len(row) == 2 else 1
                button = self._key(text, key, "keypadKey")
                grid.addWidget(button, r, column, 1, span)
                column += span
        self.keys[POINT].setEnabled(limits.decimals > 0)
        self.keys[MINUS].setEnabled(limits.minimum < 0)
        actions = QHBoxLayout()
        actions.setSpacing(gap)
        actions.addWidget(self._key(CANCEL, key, "keypadCancel", self.tr("Cancel")))
        actions.addWidget(self._key(OK, key, "keypadOk", self.tr("OK")))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(gap * 2, gap * 2, gap * 2, gap * 2)
        layout.setSpacing(gap)
        layout.addWidget(self.title)
        layout.addLayout(display_row)
        layout.addWidget(self.range)
        layout.addWidget(self.reason)
        layout.addLayout(grid)
        layout.addLayout(actions)
        self._set_text(limits.text(value) if value is not None else "")

    def _key(self, key: str, px: int, name: str, label: str | None = None) -> QPushButton:
        button = named(QPushButton(label or key), name)
        button.setMinimumSize(px, px)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _=False, k=key: self.press(k))
        self.keys[key] = button
        return button

    def text(self) -> str:
        """What is typed so far."""
        return self.display.text()

    def value(self) -> float | None:
        """The accepted value (None until OK accepted one)."""
        return self._value

    def refusal(self) -> str:
        """Why the last OK was refused ("" when it was not)."""
        return self.reason.text() if not self.reason.isHidden() else ""

    def press(self, key: str) -> None:
        """Do what the key does: type, edit, accept (if allowed) or cancel."""
        if key == OK:
            self._confirm()
            return
        if key == CANCEL:
            self.reject()
            return
        text = "" if self._fresh and key not in (BACKSPACE, MINUS) else self.text()
        self._fresh = False
        if key == BACKSPACE:
            text = text[:-1]
        elif key == CLEAR:
            text = ""
        elif key == MINUS:
            if self.limits.minimum < 0:
                text = text[1:] if text.startswith("-") else "-" + text
        elif key == POINT:
            if self.limits.decimals > 0 and "." not in text:
                text = (text or "0") + "."
        elif key.isdigit() and len(key) == 1:
            digits = text.split(".", 1)
            if len(digits) == 2 and len(digits[1]) >= self.limits.decimals:
                return
            text = "0" if text in ("0", "-0") and key == "0" else (
                (text[:-1] if text in ("0", "-0") else text) + key)
        else:
            raise ValueError(f"no key {key!r} on the keypad")
        self._set_text(text)

    def _set_text(self, text: str) -> None:
        self.display.setText(text)
        self.reason.hide()

    def _confirm(self) -> None:
        value, why = self.limits.check(self.text())
        if value is None:
            self.reason.setText(self.tr("✕ {why}").format(why=why))
            self.reason.show()
            return
        self._value = value
        self.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.press(OK)
        elif key == Qt.Key.Key_Escape:
            self.press(CANCEL)
        elif key == Qt.Key.Key_Backspace:
            self.press(BACKSPACE)
        elif key == Qt.Key.Key_Delete:
            self.press(CLEAR)
        elif text == "-":
            self.press(MINUS)
        elif text in (".", ","):
            self.press(POINT)
        elif len(text) == 1 and text.isdigit():
            self.press(text)
        else:
            super().keyPressEvent(event)


class NumberField(QWidget):
    """A number entry: a tap opens the keypad; with a keyboard, type and press Enter.

    `valueChanged(value)` when a new allowed value is set; a typed value out of range is
    refused with the reason shown under the field, and the field keeps its value."""

    valueChanged = Signal(float)

    def __init__(self, limits: NumberRange, value: float, title: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.limits = limits
        self.limits.setParent(self)
        self._title = title
        checked, why = limits.check(limits.text(value))
        if checked is None:
            raise ValueError(f"initial value {value}: {why}")
        self._value = checked
        self.keypad: Keypad | None = None
        self.edit = named(QLineEdit(limits.text(checked)), "numberField")
        self.edit.setFont(value_font())
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.edit.setMinimumHeight(key_px(self))
        self.edit.installEventFilter(self)
        self.edit.editingFinished.connect(self._typed)
        self.unit = QLabel(limits.unit)
        self.reason = named(QLabel(), "refusal")
        self.reason.setWordWrap(True)
        self.reason.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.unit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.reason)

    def value(self) -> float:
        """The current (allowed) value."""
        return self._value

    def set_value(self, value: float) -> bool:
        """Set `value` if allowed (True), else show why not and keep the old one (False)."""
        checked, why = self.limits.check(self.limits.text(value))
        return self._apply(checked, why)

    def refusal(self) -> str:
        """Why the last entry was refused ("" when it was not)."""
        return self.reason.text() if not self.reason.isHidden() else ""

    def open_keypad(self) -> Keypad:
        """Open the keypad (as a tap does); its OK sets the value."""
        if self.keypad is not None:
            return self.keypad
        keypad = Keypad(self._title or self.tr("Enter a number"), self.limits, self._value,
                        self.window())
        keypad.accepted.connect(lambda: self._apply(keypad.value(), ""))
        keypad.finished.connect(lambda _result: self._keypad_closed(keypad))
        self.keypad = keypad
        keypad.open()
        return keypad

    def _keypad_closed(self, keypad: Keypad) -> None:
        if self.keypad is keypad:
            self.keypad = None
        keypad.deleteLater()

    def _typed(self) -> None:
        text = self.edit.text()
        if text == self.limits.text(self._value):
            return
        checked, why = self.limits.check(text)
        self._apply(checked, why)

    def _apply(self, value: float | None, why: str) -> bool:
        if value is None:
            self.reason.setText(self.tr("✕ {why}").format(why=why))
            self.reason.show()
            self.edit.setText(self.limits.text(self._value))
            return False
        self.reason.hide()
        self.edit.setText(self.limits.text(value))
        if value != self._value:
            self._value = value
            self.valueChanged.emit(value)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.edit and event.type() == QEvent.Type.MouseButtonRelease
                and isinstance(event, QMouseEvent)
                and event.button() == Qt.MouseButton.LeftButton and self.isEnabled()):
            self.open_keypad()
            return True
        return super().eventFilter(watched, event)
