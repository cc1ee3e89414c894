"""The trend plot: one PlotItem, one ViewBox and axis per unit, one curve per pen, redrawn
by one timer only when something changed.

Built to stay fast with 16 pens (see bench/ui.py): each pen is reduced to two points per
pixel column before it reaches pyqtgraph (ui.trend.downsample); auto-range and SI-prefix
rescaling are off and the axes have fixed sizes, so a new sample never re-lays the plot
out; a unit's Y range changes only when its data leave it or shrink well inside it; curves
get finite-connected arrays without pyqtgraph's own finiteness pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGestureEvent, QPinchGesture, QWidget

from runtime.contracts.messages import EventKind
from ui.theme import LABEL_PX, Palette, pen_colour
from ui.trend.model import Marker, TrendModel

REDRAW_HZ = 30
"""The one redraw timer's rate; a redraw happens only when the model is dirty."""
AXIS_WIDTH_PX = 64
TIME_AXIS_HEIGHT_PX = 40
PEN_WIDTH = 1
Y_PAD = 0.08
"""Room above and below a unit's data (a fraction of its span)."""
Y_SHRINK = 0.4
"""A unit's range is refitted when its data span less than this fraction of it."""
ALARM_SYMBOL, WRITE_SYMBOL = "◆", "✎"


class PenCurve(pg.GraphicsObject):
    """One pen's line: polylines between its gaps, drawn straight with QPainter.drawPolyline.

    pyqtgraph's PlotCurveItem would build a QPainterPath, scan the data for its bounds and
    map pixel sizes for every bounding-rect query; the points here are already reduced to
    the pixel columns and their bounds are known, so none of that is needed."""

    def __init__(self, pen: QPen) -> None:
        super().__init__()
        self.pen = pen
        self.polylines: list[QPolygonF] = []
        self._bounds = QRectF()

    def set_points(self, x: np.ndarray, y: np.ndarray, x_range: tuple[float, float],
                   y_range: tuple[float, float] | None) -> None:
        """Draw (x, y) next, broken at NaN; `y_range` the finite y's extent (None: none)."""
        self.prepareGeometryChange()
        self.polylines = []
        if y_range is None or not len(x):
            self._bounds = QRectF()
        else:
            (x0, x1), (y0, y1) = x_range, y_range
            pad = max(y1 - y0, abs(y1), 1.0) * 0.02  # a flat line still has a height
            self._bounds = QRectF(x0, y0 - pad, x1 - x0, y1 - y0 + 2 * pad)
            gaps = np.flatnonzero(np.isnan(y))
            for a, b in zip(np.concatenate(([0], gaps + 1)),
                            np.concatenate((gaps, [len(y)])), strict=True):
                if b - a >= 2:
                    poly = pg.functions.create_qpolygonf(int(b - a))
                    points = pg.functions.ndarray_from_qpolygonf(poly)
                    points[:, 0] = x[a:b]
                    points[:, 1] = y[a:b]
                    self.polylines.append(poly)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, *_args: object) -> None:
        painter.setPen(self.pen)
        for poly in self.polylines:
            painter.drawPolyline(poly)


@dataclass
class UnitAxis:
    """A unit's ViewBox and its axis (the first unit uses the plot's own)."""

    unit: str
    view: pg.ViewBox
    axis: pg.AxisItem
    own: bool
    y_range: tuple[float, float] | None = None


class TrendPlot(pg.PlotWidget):
    """The plot of a TrendModel; `cursor_moved(ts)` when the cursor is placed or dragged."""

    cursor_moved = Signal(float)

    def __init__(self, model: TrendModel, palette: Palette,
                 parent: QWidget | None = None) -> None:
        self.time_axis = pg.DateAxisItem(orientation="bottom")
        super().__init__(parent, background=palette.panel,
                         axisItems={"bottom": self.time_axis})
        self.model = model
        self.theme = palette
        self.redraws = 0
        self.item: pg.PlotItem = self.getPlotItem()
        self.view: pg.ViewBox = self.item.getViewBox()
        self.setAntialiasing(False)
        # Every curve moves every frame: one full repaint is cheaper than merging regions.
        self.setViewportUpdateMode(pg.QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.item.hideButtons()
        self.item.setMenuEnabled(False)
        self.view.setMenuEnabled(False)
        self.view.disableAutoRange()
        self.view.setMouseEnabled(x=True, y=False)
        self.view.setDefaultPadding(0.0)
        # The grid is one curve of line pairs at the major ticks (pyqtgraph's own grid,
        # drawn by each axis across the whole view, cost more than all 16 pens together).
        self.grid_lines = pg.PlotCurveItem(pen=pg.mkPen(palette.grid, width=1),
                                           connect="pairs", skipFiniteCheck=True)
        self.grid_lines.setZValue(-10)
        self.view.addItem(self.grid_lines, ignoreBounds=True)
        self._style_axis(self.time_axis)
        self.time_axis.setHeight(TIME_AXIS_HEIGHT_PX)
        self.item.getAxis("left").setWidth(AXIS_WIDTH_PX)
        self.units: list[UnitAxis] = []
        self.curves: dict[str, PenCurve] = {}
        self._markers: list[pg.InfiniteLine] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=True,
                                      pen=pg.mkPen(palette.text, width=2))
        self.cursor.setHoverPen(pg.mkPen(palette.text, width=4))
        self.cursor.hide()
        self.view.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(
            lambda line: self.cursor_moved.emit(float(line.value())))
        self.view.sigResized.connect(self._resized)
        self.view.sigRangeChangedManually.connect(self._moved_by_hand)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        model.pens_changed.connect(self.rebuild)
        model.markers_changed.connect(self._show_markers)
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self.rebuild()

    # -- structure -------------------------------------------------------------------------

    def _style_axis(self, axis: pg.AxisItem) -> None:
        axis.setPen(pg.mkPen(self.theme.outline))
        axis.setTextPen(pg.mkPen(self.theme.text))
        font = self.font()
        font.setPixelSize(LABEL_PX - 1)
        axis.setStyle(tickFont=font, autoExpandTextSpace=False, autoReduceTextSpace=False)
        axis.enableAutoSIPrefix(False)

    def rebuild(self) -> None:
        """Curves and unit axes for the model's pens (when pens are added or removed)."""
        for curve in self.curves.values():
            owner = curve.getViewBox()
            if owner is not None:
                owner.removeItem(curve)
        self.curves.clear()
        for extra in self.units[1:]:
            self.scene().removeItem(extra.view)
            if extra.own:
                self.item.layout.removeItem(extra.axis)
                self.scene().removeItem(extra.axis)
        self.item.hideAxis("right")
        pens = self.model.ordered()
        unit_names = list(dict.fromkeys(p.unit for p in pens)) or [""]
        self.units = []
        for i, unit in enumerate(unit_names):
            self.units.append(self._unit_axis(i, unit))
        for pen in pens:
            colour = pen_colour(self.theme, pen.index)
            curve = PenCurve(pg.mkPen(colour, width=PEN_WIDTH))
            self.curves[pen.tag] = curve
            self.unit_of(pen.unit).view.addItem(curve, ignoreBounds=True)
        self._resized()
        self.model.dirty = True

    def _unit_axis(self, i: int, unit: str) -> UnitAxis:
        label = unit or self.tr("(no unit)")
        if i == 0:
            axis = self.item.getAxis("left")
            self._style_axis(axis)
            axis.setLabel(label)
            return UnitAxis(unit, self.view, axis, own=False)
        view = pg.ViewBox(enableMenu=False)
        view.setMouseEnabled(x=False, y=False)
        view.disableAutoRange()
        view.setDefaultPadding(0.0)
        if i == 1:
            self.item.showAxis("right")
            axis = self.item.getAxis("right")
            own = False
        else:
            axis = pg.AxisItem("right")
            self.item.layout.addItem(axis, 2, i + 1)
            own = True
        self._style_axis(axis)
        axis.setWidth(AXIS_WIDTH_PX)
        axis.setLabel(label)
        self.scene().addItem(view)
        axis.linkToView(view)
        view.setXLink(self.view)
        return UnitAxis(unit, view, axis, own)

    def unit_of(self, unit: str) -> UnitAxis:
        return next(u for u in self.units if u.unit == unit)

    def _resized(self) -> None:
        rect = self.view.sceneBoundingRect()
        for extra in self.units[1:]:
            extra.view.setGeometry(rect)
            extra.view.linkedViewChanged(self.view, extra.view.XAxis)
        self.model.set_width(int(rect.width()))

    # -- drawing ---------------------------------------------------------------------------

    def redraw(self) -> bool:
        """Bring the curves up to date if anything changed; whether it did."""
        if not self.isVisible():
            return False
        self.model.tick()
        grid = self.model.grid()
        if grid is None or not self.model.dirty:
            return False
        self.model.dirty = False
        self.redraws += 1
        (x0, x1), _ = self.view.viewRange()
        if (x0, x1) != (grid.start, grid.end):
            self.view.setXRange(grid.start, grid.end, padding=0.0)
        spans: dict[str, list[float]] = {}
        for pen in self.model.ordered():
            x, y = self.model.columns(pen, grid).points()
            y_range = None
            if len(y):
                low, high = float(np.fmin.reduce(y)), float(np.fmax.reduce(y))
                if not np.isnan(low):
                    y_range = (low, high)
                    span = spans.setdefault(pen.unit, [low, high])
                    span[0], span[1] = min(span[0], low), max(span[1], high)
            self.curves[pen.tag].set_points(x, y, (grid.start, grid.end), y_range)
        for unit in self.units:
            if unit.unit in spans:
                self._fit_y(unit, *spans[unit.unit])
        self._draw_grid(grid.start, grid.end)
        return True

    def _draw_grid(self, x0: float, x1: float) -> None:
        """Grid lines at the time axis' and the first unit's major ticks."""
        rect = self.view.sceneBoundingRect()
        y0, y1 = self.units[0].y_range or (0.0, 1.0)
        if not hasattr(self.time_axis, "fontMetrics"):
            return  # the time axis learns its font's size when first painted
        xs = _major(self.time_axis.tickValues(x0, x1, rect.width()))
        ys = _major(self.units[0].axis.tickValues(y0, y1, rect.height()))
        xs, ys = xs[(xs > x0) & (xs < x1)], ys[(ys > y0) & (ys < y1)]
        x = np.concatenate([np.repeat(xs, 2), np.tile([x0, x1], len(ys))])
        y = np.concatenate([np.tile([y0, y1], len(xs)), np.repeat(ys, 2)])
        self.grid_lines.setData(x, y, connect="pairs", skipFiniteCheck=True)

    def _fit_y(self, unit: UnitAxis, low: float, high: float) -> None:
        """Refit a unit's Y range only when its data leave it or fill too little of it."""
        current = unit.y_range
        if current is not None:
            inside = current[0] <= low and high <= current[1]
            if inside and (high - low) >= Y_SHRINK * (current[1] - current[0]):
                return
        span = high - low
        pad = span * Y_PAD if span > 0 else max(abs(high) * 0.05, 1.0)
        unit.y_range = (low - pad, high + pad)
        unit.view.setYRange(*unit.y_range, padding=0.0)

    def _show_markers(self, markers: list[Marker]) -> None:
        for line in self._markers:
            self.view.removeItem(line)
        self._markers = []
        for marker in markers:
            alarm = marker.kind == EventKind.ALARM_RAISED
            colour = self.theme.critical if alarm else self.theme.rule_output
            line = pg.InfiniteLine(
                pos=marker.ts, angle=90, movable=False,
                pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                label=ALARM_SYMBOL if alarm else WRITE_SYMBOL,
                labelOpts={"position": 0.97, "color": QColor(colour), "movable": False,
                           "anchors": [(0.5, 0.0), (0.5, 0.0)]})
            self.view.addItem(line, ignoreBounds=True)
            self._markers.append(line)

    # -- input -----------------------------------------------------------------------------

    def place_cursor(self, ts: float) -> None:
        """Show the cursor at `ts` (tells `cursor_moved`)."""
        self.cursor.show()
        self.cursor.setValue(ts)
        self.cursor_moved.emit(float(ts))

    def hide_cursor(self) -> None:
        self.cursor.hide()

    def _clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if self.view.sceneBoundingRect().contains(pos):
            self.place_cursor(self.view.mapSceneToView(pos).x())

    def _moved_by_hand(self, _changed: object) -> None:
        (x0, x1), _ = self.view.viewRange()
        self.model.set_range(x0, x1, follow=False)

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """Zoom the time axis by `factor` (> 1 shows less) around `centre` (the right edge
        while following, so the present stays in view)."""
        m = self.model
        if m.follow or centre is None:
            end = m.end
            m.set_range(end - (end - m.start) / factor, end)
        else:
            m.set_range(centre - (centre - m.start) / factor,
                        centre + (m.end - centre) / factor)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Gesture:
            assert isinstance(event, QGestureEvent)
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                centre = self.view.mapSceneToView(
                    self.mapToScene(self.viewport().mapFromGlobal(
                        pinch.centerPoint().toPoint()))).x()
                self.zoom(float(pinch.scaleFactor()) or 1.0, centre)
                event.accept()
                return True
        return super().viewportEvent(event)


def _major(levels: list[tuple[float, list[float]]]) -> np.ndarray:
    """The major (first) level of an axis' tick values."""
    return np.asarray(levels[0][1] if levels else [], dtype=np.float64)
