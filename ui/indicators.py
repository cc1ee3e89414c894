"""Painted process-value indicators for the overview (ISA-101 level 2): one row per value.

A row is the label (under it the normal band and limits in words, or, when the value is
outside its normal band, the state badge), then the indicator, then the value with its unit:

- an analog bar: the range as a grey track, the normal band shaded light, the alarm limits
  as ticks (high-high and low-low heavier), the value as a bar from the range's start and a
  pointer. Outside the normal band the bar and a badge take the state's colour, shape and
  word (● ABOVE NORMAL, ▲ HI, ◆ HI-HI), never colour alone;
- a lamp for an on/off value: a filled disc and ON, or a hollow ring and OFF;
- a bare number when the value has no range.

A value that is not current (runtime lost, stale or bad quality, none yet) is never drawn as
a number: the track is hatched, no pointer is drawn and the value reads ⌀ STALE, ✕ BAD or —.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from runtime.contracts.assets import ABOVE, BELOW, NORMAL, AssetTag
from runtime.contracts.messages import Quality
from ui.theme import KEY_VALUE_PX, LABEL_PX, VALUE_PX, Palette, alarm_colours, value_font

LABEL_W = 176
VALUE_W = 128
GAP = 14
ROW_H = 60
DETAIL_H = 44
TRACK_H = 18

BAR, LAMP, NUMBER = "bar", "lamp", "number"


@dataclass(frozen=True)
class Reading:
    """What a row shows now: the value, or why there is none (`missing`: "STALE", "BAD",
    "NONE")."""

    value: Any = None
    missing: str = "NONE"


def reading_of(sample: tuple[float, Any, int] | None, stale: bool) -> Reading:
    """A row's reading from a sample: no value while the runtime is lost, before the first
    sample, or when the quality is stale or bad."""
    if stale:
        return Reading(missing="STALE")
    if sample is None or sample[1] is None:
        return Reading(missing="NONE")
    quality = sample[2]
    if quality >= Quality.BAD:
        return Reading(missing="BAD")
    if quality >= Quality.STALE:
        return Reading(missing="STALE")
    return Reading(sample[1], missing="")


def format_number(value: float, span: float | None = None) -> str:
    """A value with as many decimals as its scale needs (tabular figures do the rest)."""
    scale = abs(span) if span else abs(value)
    decimals = 0 if scale >= 100 else 1 if scale >= 10 else 2
    return f"{value:,.{decimals}f}".replace(",", "\u2009")


class ValueRow(QWidget):
    """One value: label, indicator (bar, lamp or none), value with unit, state badge."""

    def __init__(self, label: str, unit: str, hint: AssetTag, kind: str, palette: Palette,
                 caption: str = "", detail: bool = False, source: str = "",
                 state_words: dict[str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source or hint.tag
        self.state_words = state_words or {}
        self.label = label
        self.unit = unit
        self.hint = hint
        self.kind = kind
        self.caption = caption
        self.detail = detail
        self.theme = palette
        self.reading = Reading()
        self._label_font = QFont(self.font())
        self._label_font.setPixelSize(LABEL_PX if detail else LABEL_PX + 1)
        self._caption_font = QFont(self.font())
        self._caption_font.setPixelSize(LABEL_PX - 1)
        self._value_font = value_font(VALUE_PX if detail else KEY_VALUE_PX)
        self._value_font.setWeight(QFont.Weight.DemiBold)
        self._unit_font = QFont(self.font())
        self._unit_font.setPixelSize(LABEL_PX)
        self._badge_font = QFont(self.font())
        self._badge_font.setPixelSize(LABEL_PX - 1)
        self._badge_font.setWeight(QFont.Weight.Bold)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(LABEL_W + VALUE_W + 2 * GAP + 120)

    def sizeHint(self) -> QSize:
        return QSize(LABEL_W + VALUE_W + 2 * GAP + 240, DETAIL_H if self.detail else ROW_H)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), DETAIL_H if self.detail else ROW_H)

    # -- state --------------------------------------------------------------------------

    def set_reading(self, reading: Reading) -> None:
        """Show a new reading (repaints only when it changed)."""
        if reading != self.reading:
            self.reading = reading
            self.update()

    def state(self) -> str:
        """Where the value stands ("normal", "above", "hi", ... as AssetTag.state), "" when
        there is no current numeric value."""
        value = self.reading.value
        if self.reading.missing or self.kind == LAMP or not isinstance(value, int | float):
            return ""
        return self.hint.state(float(value))

    def value_text(self) -> str:
        """The value as shown: a number with its unit, ON/OFF, or why there is none."""
        reading = self.reading
        if reading.missing == "STALE":
            return self.tr("⌀ STALE")
        if reading.missing == "BAD":
            return self.tr("✕ BAD")
        if reading.missing:
            return "—"
        value = reading.value
        if self.kind == LAMP or isinstance(value, bool):
            return self.tr("ON") if value else self.tr("OFF")
        if isinstance(value, int | float):
            span = self.hint.range[1] - self.hint.range[0] if self.hint.range else None
            return f"{format_number(float(value), span)} {self.unit}".strip()
        return str(value)

    def badge(self) -> tuple[str, str, str] | None:
        """(text, background, foreground) of the state badge, None when normal."""
        p = self.theme
        state = self.state()
        words = {ABOVE: self.tr("● ABOVE NORMAL"), BELOW: self.tr("● BELOW NORMAL"),
                 "hi": self.tr("▲ HI"), "lo": self.tr("▲ LO"), "hi_hi": self.tr("◆ HI-HI"),
                 "lo_lo": self.tr("◆ LO-LO")}
        priority = {ABOVE: "low", BELOW: "low", "hi": "medium", "lo": "medium",
                    "hi_hi": "high", "lo_lo": "high"}.get(state)
        if priority is None:
            return None
        return (self.state_words.get(state, words[state]), *alarm_colours(p, priority))

    # -- painting -----------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        p = self.theme
        w, h = self.width(), self.height()
        value_x = w - VALUE_W
        self._paint_label(painter, h)
        indicator = QRectF(LABEL_W + GAP, 0, max(0, value_x - LABEL_W - 2 * GAP), h)
        if self.kind == BAR and self.hint.range is not None:
            self._paint_bar(painter, indicator)
        elif self.kind == LAMP:
            self._paint_lamp(painter, indicator)
        # The value, right-aligned, its unit smaller after it.
        text = self.value_text()
        current = not self.reading.missing
        number, _, unit = text.partition(" ") if current and self.unit else (text, "", "")
        unit_w = 0
        if unit:
            painter.setFont(self._unit_font)
            unit_w = painter.fontMetrics().horizontalAdvance(unit) + 6
        value_box = QRectF(value_x, 0, VALUE_W - unit_w, h)
        painter.setFont(self._value_font if current else self._badge_font)
        painter.setPen(QColor(p.text if current else p.secondary))
        painter.drawText(value_box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         number)
        if unit:
            painter.setFont(self._unit_font)
            painter.setPen(QColor(p.secondary))
            painter.drawText(QRectF(value_x + VALUE_W - unit_w + 6, 0, unit_w, h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, unit)

    def _paint_label(self, painter: QPainter, h: int) -> None:
        """The label; under it the state badge when abnormal, else the caption."""
        p = self.theme
        painter.setPen(QColor(p.text))
        painter.setFont(self._label_font)
        badge = self.badge()
        if not self.caption and badge is None:
            painter.drawText(QRectF(0, 0, LABEL_W, h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.label)
            return
        painter.drawText(QRectF(0, 2, LABEL_W, h / 2 - 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, self.label)
        lower = QRectF(0, h / 2 + 2, LABEL_W, h / 2 - 4)
        if badge is not None:
            words, background, foreground = badge
            painter.setFont(self._badge_font)
            width = painter.fontMetrics().horizontalAdvance(words) + 14
            box = QRectF(0, lower.top(), min(LABEL_W, width), min(22.0, lower.height()))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(background))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(QColor(foreground))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, words)
            return
        painter.setFont(self._caption_font)
        painter.setPen(QColor(p.secondary))
        elided = painter.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight,
                                                  LABEL_W)
        painter.drawText(lower, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elided)

    def _x(self, track: QRectF, value: float) -> float:
        low, high = self.hint.range or (0.0, 1.0)
        fraction = min(1.0, max(0.0, (value - low) / (high - low)))
        return track.left() + fraction * track.width()

    def _paint_bar(self, painter: QPainter, area: QRectF) -> None:
        p = self.theme
        track = QRectF(area.left(), area.center().y() - TRACK_H / 2, area.width(), TRACK_H)
        painter.setPen(QPen(QColor(p.outline), 1))
        current = not self.reading.missing and isinstance(self.reading.value, int | float)
        if not current:
            # Not current: hatched, hollow, no pointer.
            painter.setBrush(QBrush(QColor(p.stale), Qt.BrushStyle.BDiagPattern))
            painter.drawRect(track)
            return
        painter.setBrush(QColor(p.track))
        painter.drawRect(track)
        if self.hint.normal is not None:
            band = QRectF(QPointF(self._x(track, self.hint.normal[0]), track.top() + 1),
                          QPointF(self._x(track, self.hint.normal[1]), track.bottom() - 1))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(p.band))
            painter.drawRect(band)
        value = float(self.reading.value)
        state = self.state()
        badge = self.badge()
        fill = QColor(badge[1]) if badge else QColor(p.secondary)
        x = self._x(track, value)
        inner = QRectF(QPointF(track.left(), track.top() + TRACK_H * 0.3),
                       QPointF(x, track.bottom() - TRACK_H * 0.3))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRect(inner)
        for name, limit in self.hint.limits.given():
            lx = self._x(track, limit)
            heavy = name in ("hi_hi", "lo_lo")
            painter.setPen(QPen(QColor(p.text), 3 if heavy else 2))
            painter.drawLine(QPointF(lx, track.top() - 5), QPointF(lx, track.bottom() + 5))
        # The pointer: a triangle under the track, pointing at the value, and a line across.
        pointer = QColor(p.text)
        painter.setPen(QPen(pointer, 3))
        painter.drawLine(QPointF(x, track.top() - 3), QPointF(x, track.bottom() + 3))
        painter.setPen(QPen(QColor(p.panel), 1))
        painter.setBrush(fill if state not in ("", NORMAL) else pointer)
        size = 8.0
        painter.drawPolygon(QPolygonF([QPointF(x, track.bottom() + 2),
                                       QPointF(x - size, track.bottom() + 2 + size * 1.3),
                                       QPointF(x + size, track.bottom() + 2 + size * 1.3)]))

    def _paint_lamp(self, painter: QPainter, area: QRectF) -> None:
        p = self.theme
        radius = 11.0
        centre = QPointF(area.left() + radius + 2, area.center().y())
        if self.reading.missing:
            painter.setPen(QPen(QColor(p.stale), 2, Qt.PenStyle.DashLine))
            painter.setBrush(QBrush(QColor(p.stale), Qt.BrushStyle.BDiagPattern))
        elif self.reading.value:
            painter.setPen(QPen(QColor(p.text), 2))
            painter.setBrush(QColor(p.text))
        else:
            painter.setPen(QPen(QColor(p.text), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(centre, radius, radius)
