"""The trend's view-model: its pens, the visible time range, live samples from the link and
history and events fetched from the runtime for that range at the view's pixel width.

Samples are stored as they arrive and only mark the model dirty; the view redraws on its
own timer (ui.trend.plot), so the data rate never sets the paint rate. History is asked for
once per change of the range or width (debounced), for every pen in one history.query, and
lands on the same columns the live samples are reduced to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from runtime.client import ApiError, Disconnected
from runtime.contracts.messages import EventKind, Quality
from ui.link import Link
from ui.trend.downsample import Columns, Grid
from ui.trend.series import Series

log = logging.getLogger(__name__)

MAX_PENS = 16
RANGES_S = (60, 600, 3_600, 8 * 3_600, 24 * 3_600, 7 * 86_400, 30 * 86_400)
"""The range buttons: 1 min, 10 min, 1 h, 8 h, 24 h, 7 d, 30 d."""
MIN_SPAN_S = 5.0
MAX_SPAN_S = 90 * 86_400.0
FETCH_DELAY_MS = 250
"""History is fetched this long after the range or width first changed (pans and pinches
send many changes; one request follows them, and another if the range moved on since)."""
REFETCH_ZOOM = 1.25
"""Buckets fetched for a span more than this many times longer or shorter are refetched."""
MARKER_KINDS = (EventKind.ALARM_RAISED, EventKind.WRITE)
MARKER_LIMIT = 500


@dataclass
class Pen:
    """A tag on the trend: its data and its place in the pen order (its colour)."""

    series: Series
    index: int
    drawn: Columns | None = field(default=None, repr=False)
    """What was last drawn (for the cursor and the CSV export)."""

    @property
    def tag(self) -> str:
        return self.series.tag

    @property
    def unit(self) -> str:
        return self.series.unit


@dataclass(frozen=True)
class Marker:
    """An event drawn on the trend: an alarm raised or a rule's write."""

    ts: float
    kind: str
    text: str


class TrendModel(QObject):
    """Pens, range and follow state of one trend; `dirty` says a redraw is due."""

    pens_changed = Signal()
    """A pen was added or removed (the view rebuilds its curves and axes)."""
    range_changed = Signal(float, float)
    follow_changed = Signal(bool)
    history_loaded = Signal(float, float, int)
    """History for (start, end, width) arrived and was stored on every pen."""
    markers_changed = Signal(list)

    def __init__(self, link: Link, parent: QObject | None = None,
                 clock: Any = time.time) -> None:
        super().__init__(parent)
        self.link = link
        self.clock = clock
        self.pens: dict[str, Pen] = {}
        self.markers: list[Marker] = []
        span = float(RANGES_S[1])
        now = clock()
        self.start, self.end = now - span, now
        self.follow = True
        self.width = 0
        self.dirty = True
        self.fetches = 0
        """history.query requests made (for tests and the bench)."""
        self.last_fetch: tuple[float, float, int] | None = None
        self._fetched: tuple[float, float, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(FETCH_DELAY_MS)
        self._fetch_timer.timeout.connect(self._fetch)
        link.tag_value.connect(self.add_sample)
        link.lost.connect(self._on_lost)
        link.connected.connect(self.refetch)

    # -- pens ----------------------------------------------------------------------------

    def units(self) -> dict[str, str]:
        """Each known tag's unit ("" when it has none)."""
        return {t["id"]: t.get("unit") or "" for t in self.link.tags}

    def add_pen(self, tag: str) -> bool:
        """Draw `tag` (False when it is drawn already or the trend has MAX_PENS)."""
        if tag in self.pens or len(self.pens) >= MAX_PENS:
            return False
        used = {p.index for p in self.pens.values()}
        index = min(i for i in range(MAX_PENS) if i not in used)
        pen = Pen(Series(tag, self.units().get(tag, "")), index)
        latest = self.link.values.get(tag)
        if latest is not None:
            pen.series.add(*latest)
        self.pens[tag] = pen
        self.dirty = True
        self.pens_changed.emit()
        self.refetch()
        return True

    def remove_pen(self, tag: str) -> None:
        if self.pens.pop(tag, None) is not None:
            self.dirty = True
            self.pens_changed.emit()

    def ordered(self) -> list[Pen]:
        """The pens in colour order."""
        return sorted(self.pens.values(), key=lambda p: p.index)

    def add_sample(self, tag: str, ts: float, value: Any, quality: int) -> None:
        pen = self.pens.get(tag)
        if pen is not None and pen.series.add(ts, value, quality) and ts >= self.start:
            self.dirty = True

    def _on_lost(self, _reason: str) -> None:
        """Break every line where the runtime was lost: nothing known is drawn after it."""
        now = self.clock()
        for pen in self.pens.values():
            pen.series.add(now, None, int(Quality.STALE))
        self.dirty = True

    # -- range ---------------------------------------------------------------------------

    def set_range(self, start: float, end: float, follow: bool | None = None) -> None:
        """Show [start, end) (clamped to sensible spans); `follow` keeps its end at now."""
        span = min(max(end - start, MIN_SPAN_S), MAX_SPAN_S)
        mid = (start + end) / 2
        start, end = mid - span / 2, mid + span / 2
        if follow is not None and follow != self.follow:
            self.follow = follow
            self.follow_changed.emit(follow)
        if (start, end) != (self.start, self.end):
            self.start, self.end = start, end
            self.dirty = True
            self.range_changed.emit(start, end)
            self._maybe_refetch()

    def set_span(self, span: float) -> None:
        """A range button: the last `span` seconds, following now."""
        now = self.clock()
        self.set_range(now - span, now, follow=True)

    def set_follow(self, follow: bool) -> None:
        """Follow now (the range keeps its span and slides) or stay where it is."""
        if follow:
            self.set_span(self.end - self.start)
        elif self.follow:
            self.follow = False
            self.follow_changed.emit(False)

    def tick(self) -> None:
        """The redraw timer's step: slide the range to now when following."""
        if self.follow:
            now = self.clock()
            span = self.end - self.start
            if self.width and now - self.end < span / self.width / 2:
                return  # not half a pixel yet
            self.set_range(now - span, now)

    def set_width(self, width: int) -> None:
        """The plot's width in pixels: the number of columns drawn and fetched."""
        if width > 0 and width != self.width:
            self.width = width
            self.dirty = True
            self._maybe_refetch()

    def grid(self) -> Grid | None:
        return Grid(self.start, self.end, self.width) if self.width > 0 else None

    # -- history and markers -------------------------------------------------------------

    def refetch(self) -> None:
        """Fetch history and markers for the current range soon (debounced)."""
        self._fetched = None
        self._fetch_timer.start()

    def _maybe_refetch(self) -> None:
        # Not restarted while pending: a following view changes its range every frame.
        if self._needs_fetch() and not self._fetch_timer.isActive():
            self._fetch_timer.start()

    def _needs_fetch(self) -> bool:
        if not self.pens or not self.width:
            return False
        if self._fetched is None:
            return True
        start, end, width = self._fetched
        span, fetched_span = self.end - self.start, end - start
        if width != self.width or not 1 / REFETCH_ZOOM <= span / fetched_span <= REFETCH_ZOOM:
            return True
        if self.start < start - fetched_span / width:
            return True  # panned into the past
        # The present is live; past the fetch's end only if live samples do not reach back.
        oldest = [t for t in (_oldest(p.series) for p in self.pens.values()) if t is not None]
        return bool(oldest) and min(oldest) > end and self.end > end

    def _fetch(self) -> None:
        if not self.pens or not self.width or self.link.client is None or self.link.stale:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        request = (self.start, min(self.end, self.clock()), self.width)
        if request[1] <= request[0]:
            return
        self._fetched = (self.start, self.end, self.width)
        self._task = asyncio.get_running_loop().create_task(self._load(*request),
                                                            name="hmi-trend-history")

    async def _load(self, start: float, end: float, width: int) -> None:
        client = self.link.client
        assert client is not None
        tags = list(self.pens)
        try:
            self.fetches += 1
            self.last_fetch = (start, end, width)
            answer = await client.history(tags, start, end, width)
            events = await client.events(start, end, kinds=list(MARKER_KINDS),
                                         limit=MARKER_LIMIT)
        except (ApiError, Disconnected, TimeoutError) as exc:
            log.info("hmi.trend.history_failed error=%s", exc)
            self._fetched = None
            return
        grid = Grid(start, end, width)
        for tag, buckets in answer.get("series", {}).items():
            pen = self.pens.get(tag)
            if pen is not None:
                pen.series.set_history(grid, buckets)
        self.markers = [_marker(e) for e in events.get("events", [])
                        if not e.get("shadow")]
        self.dirty = True
        self.markers_changed.emit(self.markers)
        self.history_loaded.emit(start, end, width)

    async def close(self) -> None:
        """Stop fetching (the page is going away, or already gone)."""
        if shiboken6.isValid(self._fetch_timer):
            self._fetch_timer.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- reading -------------------------------------------------------------------------

    def columns(self, pen: Pen, grid: Grid) -> Columns:
        """What `pen` shows on `grid` (remembered as drawn)."""
        until = min(self.clock(), grid.end - grid.step / 2) if not self.link.stale else None
        pen.drawn = pen.series.columns(grid, until)
        return pen.drawn

    def values_at(self, ts: float) -> list[tuple[Pen, float | None]]:
        """Every pen's drawn value at `ts` (None: no value there, or a bad one)."""
        return [(pen, pen.drawn.value_at(ts) if pen.drawn is not None else None)
                for pen in self.ordered()]


def _oldest(series: Series) -> float | None:
    ts = series.live.arrays()[0]
    return float(ts[0]) if len(ts) else None


def _marker(event: dict[str, Any]) -> Marker:
    data = event.get("data") or {}
    kind = str(event.get("kind", ""))
    if kind == EventKind.WRITE:
        text = f"{data.get('tag', '')} ← {data.get('value', '')}"
    else:
        text = str(data.get("alarm") or data.get("message") or event.get("flow", ""))
    return Marker(float(event.get("ts", 0.0)), kind, text)
