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

OFF_SCALE = 3.0
"""A signal running above this many times its highest tuned level is cut at that height."""
MAX_LINES = 40
"""Alarm markers get a vertical line on the signal plot while there are no more than this."""
LIVE_ROW, PREVIEW_ROW = 1.0, 0.0
ROW_PX = 30
AXIS_PX = 124
"""The left axes' width: room for the lane's row names (a wider name would not be drawn)."""


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
            plot.getAxis("left").setWidth(AXIS_PX)
        self.lane.setYRange(-0.6, 1.6, padding=0)
        self.lane.getViewBox().setMouseEnabled(x=True, y=False)
        self.lane.getAxis("left").setStyle(textFillLimits=[(0, 1.0)], hideOverlappingLabels=False)
        self.off_scale = pg.LabelItem("", color=palette.secondary, size=f"{LABEL_PX - 1}px",
                                      justify="right")
        self.off_scale.setParentItem(self.signals.getViewBox())
        self.off_scale.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-8, 4))
        self.rows: list[tuple[float, str]] = []
        """The lane's rows (y, name), bottom to top."""
        self.preview: Preview | None = None

    def clear_preview(self) -> None:
        """Nothing on the plot (no preview yet, or it cannot run)."""
        self.preview = None
        self.signals.clear()
        self.lane.clear()
        self.legend.clear()
        self.off_scale.setText("")

    def show_preview(self, preview: Preview) -> None:
        """Draw a preview: traces, thresholds and the fired / would-fire lane."""
        self.clear_preview()
        self.preview = preview
        p = self.theme
        numeric = [t for t in preview.trace_info if not t.state]
        states = [t for t in preview.trace_info if t.state]
        units = sorted({t.unit for t in numeric if t.unit})
        self.signals.setLabel("left", " / ".join(units), color=p.secondary)
        low, high, levels = np.inf, -np.inf, []
        for i, info in enumerate(numeric):
            x, y = peak_line(preview.traces[info.key])
            if len(y):
                low, high = min(low, float(np.nanmin(y))), max(high, float(np.nanmax(y)))
            pen = pg.mkPen(PENS[i % len(PENS)], width=2)
            self.signals.plot(x, y, pen=pen, name=info.label)
            for n, (label, edited, deployed) in enumerate(preview.thresholds.get(info.key, [])):
                self._threshold(label, edited, deployed, n)
                levels += [edited, deployed]
        self._lane(preview, states)
        self.signals.setXRange(preview.start, preview.end, padding=0.01)
        self._y_range(low, high, levels)

    def _y_range(self, low: float, high: float, levels: list[float]) -> None:
        """The signals' values, and the tuned levels always in view; when the signal runs far
        above its levels (a score climbing past its limit), the top is cut at OFF_SCALE times
        the highest level so the limit stays readable, and the cut is said in words."""
        self.off_scale.setText("")
        if not np.isfinite(low):
            self.signals.enableAutoRange(axis="y")
            return
        if levels:
            low, top = min(low, *levels), max(levels)
            if top > 0 and high > OFF_SCALE * top:
                self.off_scale.setText(self.tr("▲ off the top: up to {v:.4g}").format(v=high))
                high = OFF_SCALE * top
            high = max(high, top)
        self.signals.setYRange(low, high, padding=0.06)

    def _threshold(self, label: str, edited: float, deployed: float, n: int) -> None:
        """A tuned level as a dashed line labelled with its value (the deployed one dotted
        beside it when edited); labels of several levels are spread along the line."""
        p = self.theme
        line_label = f"{label} {edited:g}"
        if edited != deployed:
            line_label += self.tr(" (edit)")
            self.signals.addItem(pg.InfiniteLine(
                deployed, angle=0, pen=pg.mkPen(p.secondary, width=1, style=Qt.PenStyle.DotLine),
                label=self.tr("{label} {value} deployed").format(label=label,
                                                                  value=f"{deployed:g}"),
                labelOpts={"position": 0.02 + 0.22 * n, "color": p.secondary,
                           "anchors": [(0, 1), (0, 1)], "fill": pg.mkBrush(p.panel)}))
        self.signals.addItem(pg.InfiniteLine(
            edited, angle=0, pen=pg.mkPen(rule_colour(p), width=2, style=Qt.PenStyle.DashLine),
            label=line_label,
            labelOpts={"position": 0.98 - 0.22 * n, "color": rule_colour(p),
                       "anchors": [(1, 0), (1, 0)], "fill": pg.mkBrush(p.panel)}))

    def _lane(self, preview: Preview, states: list[Any]) -> None:
        p = self.theme
        rows = [(PREVIEW_ROW, self.tr("△ ○ would fire")), (LIVE_ROW, self.tr("◆ ■ fired"))]
        for n, info in enumerate(states):
            y = 2.0 + n
            rows.append((y, info.label))
            x, high = peak_line(preview.traces[info.key])
            on = np.where(high >= 0.5, y, np.nan)
            self.lane.plot(x, on, pen=pg.mkPen(p.outline, width=6), connect="finite")
        self.rows = rows
        self.lane.getAxis("left").setTicks([[(y, text) for y, text in rows]])
        self.lane.setYRange(-0.6, max(y for y, _ in rows) + 0.6, padding=0)
        self.ci.layout.setRowFixedHeight(1, 40 + ROW_PX * len(rows))
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
