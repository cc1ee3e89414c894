"""The overview's view-model: the deployed document's assets with their live values, the
line mode, the recent events, and the actions on the line (manual, automatic, stop AI
writes), over a Link.

On every (re)connection it fetches the document (project.get) for its assets and follows
the health scores that are flow outputs on their flows' debug topics. Values are stored as
they arrive and announced at most every `REFRESH_MS` (one `values_changed` per period); a
lost runtime is announced at once (`stale_changed`), so nothing looks current that is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from runtime.client import ApiError, Disconnected, RuntimeClient, Subscription
from runtime.contracts.assets import Asset, assets_from_dict
from runtime.contracts.messages import EventKind, Quality
from runtime.contracts.roles import OPERATOR, role_at_least
from ui.link import Link

log = logging.getLogger(__name__)

REFRESH_MS = 100
"""At most 10 value announcements a second, whatever the data rate."""
RECENT_COUNT = 4
RECENT_KINDS = [EventKind.ALARM_RAISED, EventKind.WRITE, EventKind.WRITE_REFUSED,
                EventKind.LINE_MODE]
RECENT_PERIOD_MS = 5000
RECENT_WINDOW_S = 24 * 3600.0

Sample = tuple[float, Any, int]
"""(ts, value, quality) as published."""


class OverviewModel(QObject):
    """Assets, their values and the line, for the overview page."""

    assets_changed = Signal()
    """The deployed document's assets (re)loaded: `assets`, `units`, `types`."""
    values_changed = Signal(list)
    """The sources (tag ids, or "flow/node:port") whose values changed since last told."""
    stale_changed = Signal(bool)
    """True at once when the runtime is lost; False when it is back."""
    line_mode_changed = Signal(str)
    recent_changed = Signal(list)
    """The latest few events (alarms raised, rule writes and refusals, mode changes)."""

    def __init__(self, link: Link, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.assets: tuple[Asset, ...] = ()
        self.units: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.values: dict[str, Sample] = {}
        self.recent: list[dict[str, Any]] = []
        self.version: int | None = None
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subscriptions: list[Subscription] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(REFRESH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self._flush_timer.start()
        self._recent_timer = QTimer(self)
        self._recent_timer.setInterval(RECENT_PERIOD_MS)
        self._recent_timer.timeout.connect(self.refresh_recent)
        self._recent_timer.start()
        link.connected.connect(self._on_connected)
        link.lost.connect(self._on_lost)
        link.tags_defined.connect(self._define)
        link.tag_value.connect(self._on_value)
        link.line_mode_changed.connect(self.line_mode_changed)
        link.line_mode_changed.connect(lambda _mode: self.refresh_recent())
        link.alarms_changed.connect(lambda _alarms: self.refresh_recent())
        self._define(link.tags)
        for tag, sample in link.values.items():
            self.values[tag] = sample
        if not link.stale:
            self._on_connected()

    # -- what the page reads ------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """True while the runtime is not connected: no value is current."""
        return self.link.stale

    @property
    def line_mode(self) -> str:
        return self.link.line_mode

    def sample(self, source: str) -> Sample | None:
        """The latest (ts, value, quality) of a tag or flow output, None before the first."""
        return self.values.get(source)

    def is_stale(self, source: str) -> bool:
        """True when a source's value is not current: runtime lost, none yet, or its quality
        says so."""
        sample = self.values.get(source)
        return self.stale or sample is None or sample[2] >= Quality.STALE

    def may_act_why_not(self) -> str:
        """Why the line's controls are disabled now ("" when they are not)."""
        if self.stale:
            return self.tr("The runtime is not connected.")
        role = self.link.role
        if not role_at_least(role, OPERATOR):
            return self.tr("Logged in as {role}: switching the line needs an operator.").format(
                role=role or self.tr("nobody"))
        return ""

    # -- actions ------------------------------------------------------------------------

    def set_mode(self, mode: str) -> asyncio.Task[Any] | None:
        """Ask the runtime to switch the line to "manual" or "automatic"."""
        what = (self.tr("Switch the line to manual") if mode == "manual"
                else self.tr("Switch the line to automatic"))
        return self.link.act(what, lambda c: c.set_line_mode(mode, "from the overview"),
                             done=lambda r: self._mode_done(r))

    def stop_ai_writes(self) -> asyncio.Task[Any] | None:
        """Stop every AI-driven write at once: the line to manual, queued writes cancelled."""
        return self.link.act(self.tr("Stop AI writes"), lambda c: c.stop_ai_writes(),
                             done=lambda r: self._mode_done(r))

    def _mode_done(self, result: dict[str, Any]) -> str:
        mode = str(result.get("mode", ""))
        text = (self.tr("the line is in manual; rules no longer write") if mode == "manual"
                else self.tr("the line is in automatic; rules write within their envelopes"))
        cancelled = int(result.get("cancelled_writes") or 0)
        if cancelled:
            text += self.tr(" ({n} queued writes cancelled)").format(n=cancelled)
        return text

    # -- feeding ------------------------------------------------------------------------

    def flush(self) -> None:
        """Tell the page about every source changed since the last flush, in one signal."""
        if self._dirty:
            changed, self._dirty = sorted(self._dirty), set()
            self.values_changed.emit(changed)

    def refresh_recent(self) -> None:
        """Fetch the latest events again (in the background; at most one fetch at a time)."""
        client = self.link.client
        if client is None or self.stale or any(t.get_name() == "overview-recent"
                                              for t in self._tasks):
            return
        self._start(self._fetch_recent(client), "overview-recent")

    def _define(self, tags: list[dict[str, Any]]) -> None:
        self.units = {t["id"]: t.get("unit") or "" for t in tags}
        self.types = {t["id"]: t.get("type") or "float32" for t in tags}
        for tag in tags:
            latest = tag.get("latest")
            if latest and latest.get("ts") is not None:
                self._on_value(tag["id"], float(latest["ts"]), latest.get("value"),
                               int(latest.get("quality", Quality.BAD)))
        self.assets_changed.emit()

    def _on_value(self, source: str, ts: float, value: Any, quality: int) -> None:
        old = self.values.get(source)
        if old is None or ts >= old[0]:
            self.values[source] = (ts, value, quality)
            self._dirty.add(source)

    def _on_connected(self) -> None:
        client = self.link.client
        if client is None:
            return
        self.stale_changed.emit(False)
        self._start(self._load(client), "overview-load")

    def _on_lost(self, _reason: str) -> None:
        for task in list(self._tasks):
            task.cancel()
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            self._start(subscription.close(), "overview-unsubscribe")
        self.stale_changed.emit(True)

    def _start(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, (ApiError, Disconnected, TimeoutError)):
            log.error("hmi.overview.task_failed task=%s", task.get_name(), exc_info=error)

    async def _load(self, client: RuntimeClient) -> None:
        """The document's assets, then the flow outputs they show, then the recent events."""
        deployed = await client.project()
        self.version = deployed.get("number")
        self.assets = assets_from_dict(deployed.get("document") or {})
        self.assets_changed.emit()
        flows = sorted({a.health.flow for a in self.assets if a.health and a.health.flow})
        for flow in flows:
            subscription = await client.subscribe(f"flows/{flow}/debug")
            self._subscriptions.append(subscription)
            self._start(self._pump(flow, subscription), f"overview-debug:{flow}")
        await self._fetch_recent(client)

    async def _pump(self, flow: str, subscription: Subscription) -> None:
        with contextlib.suppress(StopAsyncIteration):
            async for event in subscription:
                outputs = (event.data or {}).get("outputs") or {}
                for output, sample in outputs.items():
                    self._on_value(f"{flow}/{output}", float(sample.get("ts") or 0.0),
                                   sample.get("value"),
                                   int(sample.get("quality", Quality.BAD)))

    async def _fetch_recent(self, client: RuntimeClient) -> None:
        now = time.time()
        found = await client.events(now - RECENT_WINDOW_S, now + 60.0, RECENT_KINDS,
                                    limit=RECENT_COUNT, newest_first=True)
        events = list(found.get("events") or [])
        if events != self.recent:
            self.recent = events
            self.recent_changed.emit(events)
