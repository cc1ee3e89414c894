"""The Rules page's trend: a flow's inputs and intermediate outputs over a preview window,
the thresholds being tuned drawn on the signal they act on, and a lane of markers below:
what fired live (filled ◆ alarm, ■ write) beside what would fire with the edit (hollow
△ alarm, ○ write), each row named, so neither shape nor colour is the only cue.

Each trace arrives as min/max buckets (backtest traces); it is drawn as one peak line
through every bucket's min and max, so a spike in a week-long window still shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

from runtime.contracts.messages import EventKind
from ui.rule_document import Marker, Preview
from ui.theme import LABEL_PX, PENS, Palette, rule_colour

MAX_LINES = 40
"""Alarm markers get a vertical line on the signal plot while there are no more than this."""
LIVE_ROW, PREVIEW_ROW = 1.0, 0.0


def peak_line(buckets: dict[str, list[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a line through each bucket's min then max (at its first and last time)."""
    first = np.asarray(buckets["first_ts"], dtype=np.float64)
    last = np.asarray(buckets["last_ts"], dtype=np.float64)
    low = np.asarray(buckets["min"], dtype=np.float64)
    high = np.asarray(buckets["max"], dtype=np.float64)
    x = np.empty(2 * len(first))
    y = np.empty(2 * len(first))
    x[0::2], x[1::2] = first, last
    y[0::2], y[1::2] = low, high
    return x, y


class RulesTrend(pg.GraphicsLayoutWidget):
    """Signals on top, markers below, one time axis; `show_preview(preview)` draws one."""

    def __init__(self, palette: Palette, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.theme = palette
        self.setBackground(palette.panel)
        self.ci.layout.setSpacing(0)
        self.ci.setContentsMargins(4, 8, 12, 4)
        font = QFont()
        font.setPixelSize(LABEL_PX - 1)
        self._font = font
        self.signals = self.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.lane = self.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.ci.layout.setRowStretchFactor(0, 4)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.lane.setXLink(self.signals)
        self.signals.getAxis("bottom").setStyle(showValues=False)
        self.legend = self.signals.addLegend(offset=(8, 4), labelTextSize=f"{LABEL_PX - 1}px",
                                             labelTextColor=palette.text)
        for plot in (self.signals, self.lane):
            plot.showGrid(x=True, y=plot is self.signals, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setMouseEnabled(x=True, y=False)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(palette.outline))
                axis.setTextPen(pg.mkPen(palette.secondary))
                axis.setTickFont(font)
            plot.getAxis("left").setWidth(96)
        self.lane.setYRange(-0.6, 1.6 + 0.0, padding=0)
        self.lane.setMaximumHeight(150)
        self.lane.getViewBox().setMouseEnabled(x=True, y=False)
        self._rows: list[tuple[float, str]] = []
        self.preview: Preview | None = None

    def clear_preview(self) -> None:
        """Nothing on the plot (no preview yet, or it cannot run)."""
        self.preview = None
        self.signals.clear()
        self.lane.clear()
        self.legend.clear()

    def show_preview(self, preview: Preview) -> None:
        """Draw a preview: traces, thresholds and the fired / would-fire lane."""
        self.clear_preview()
        self.preview = preview
        p = self.theme
        numeric = [t for t in preview.trace_info if not t.state]
        states = [t for t in preview.trace_info if t.state]
        units = sorted({t.unit for t in numeric if t.unit})
        self.signals.setLabel("left", " / ".join(units), color=p.secondary)
        for i, info in enumerate(numeric):
            x, y = peak_line(preview.traces[info.key])
            pen = pg.mkPen(PENS[i % len(PENS)], width=2)
            self.signals.plot(x, y, pen=pen, name=info.label)
            for label, edited, deployed in preview.thresholds.get(info.key, []):
                self._threshold(label, edited, deployed)
        self._lane(preview, states)
        self.signals.setXRange(preview.start, preview.end, padding=0)
        self.signals.enableAutoRange(axis="y")

    def _threshold(self, label: str, edited: float, deployed: float) -> None:
        p = self.theme
        line_label = f"{label} {edited:g}"
        if edited != deployed:
            line_label += "  (edit)"
            self.signals.addItem(pg.InfiniteLine(
                deployed, angle=0, pen=pg.mkPen(p.secondary, width=1, style=Qt.PenStyle.DotLine),
                label=f"{label} {deployed:g} deployed",
                labelOpts={"position": 0.05, "color": p.secondary, "anchors": [(0, 0), (0, 0)]}))
        self.signals.addItem(pg.InfiniteLine(
            edited, angle=0, pen=pg.mkPen(rule_colour(p), width=2, style=Qt.PenStyle.DashLine),
            label=line_label,
            labelOpts={"position": 0.95, "color": rule_colour(p), "anchors": [(1, 1), (1, 1)]}))

    def _lane(self, preview: Preview, states: list[Any]) -> None:
        p = self.theme
        rows = [(PREVIEW_ROW, self.tr("△ ○ would fire")), (LIVE_ROW, self.tr("◆ ■ fired"))]
        for n, info in enumerate(states):
            y = 2.0 + n
            rows.append((y, info.label))
            x, high = peak_line(preview.traces[info.key])
            on = np.where(high >= 0.5, y, np.nan)
            self.lane.plot(x, on, pen=pg.mkPen(p.outline, width=6), connect="finite")
        self._rows = rows
        self.lane.getAxis("left").setTicks([[(y, text) for y, text in rows]])
        self.lane.setYRange(-0.6, max(y for y, _ in rows) + 0.6, padding=0)
        self.lane.setMaximumHeight(60 + 34 * len(rows))
        self._markers(preview.did, LIVE_ROW, filled=True)
        self._markers(preview.would, PREVIEW_ROW, filled=False)

    def _markers(self, markers: list[Marker], row: float, filled: bool) -> None:
        p = self.theme
        alarms = [m.ts for m in markers if m.kind == EventKind.ALARM_RAISED]
        cleared = [m.ts for m in markers if m.kind == EventKind.ALARM_CLEARED]
        writes = [m.ts for m in markers if m.kind == EventKind.WRITE]
        alarm_colour = QColor(p.critical)
        for times, symbol, colour, size in (
                (alarms, "d" if filled else "t1", alarm_colour, 18),
                (writes, "s" if filled else "o", QColor(rule_colour(p)), 14),
                (cleared, "|", QColor(p.secondary), 14)):
            if not times:
                continue
            brush = pg.mkBrush(colour) if filled or symbol == "|" else pg.mkBrush(None)
            self.lane.addItem(pg.ScatterPlotItem(
                x=times, y=[row] * len(times), symbol=symbol, size=size, brush=brush,
                pen=pg.mkPen(colour, width=2)))
        if len(alarms) <= MAX_LINES:
            style = Qt.PenStyle.SolidLine if filled else Qt.PenStyle.DashLine
            for ts in alarms:
                self.signals.addItem(pg.InfiniteLine(
                    ts, angle=90, pen=pg.mkPen(alarm_colour, width=1, style=style)))
