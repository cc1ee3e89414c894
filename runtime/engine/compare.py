"""Shadow comparison: what a candidate flow would have done beside the live one.

`compare` summarises two sets of actions over a period: alarms raised and cleared per alarm,
writes per tag, alarms only one side raised, and for alarms both raised how much earlier the
shadow raised it. Events are anything with kind, ts, node and data (runtime Events, the
store's EventRecords); writes anything with tag, value and ts (WriteRequests).
`shadow_comparison` reads both sides from the store: the live flow's events and the shadow
flow's (recorded marked shadow); `compare` works as well on what a CaptureSink captured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runtime.contracts import EventKind, WriteRequest


class EventLike(Protocol):
    """Read only, so frozen dataclasses (Event, EventRecord) match."""

    @property
    def kind(self) -> str: ...
    @property
    def ts(self) -> float: ...
    @property
    def node(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


class WriteLike(Protocol):
    """Read only, so the frozen WriteRequest matches."""

    @property
    def tag(self) -> str: ...
    @property
    def value(self) -> Any: ...
    @property
    def ts(self) -> float: ...


class EventStore(Protocol):
    """What shadow_comparison reads from the store."""

    def events(self, start: float, end: float, kinds: Iterable[str] | None = None,
               limit: int = 1000, newest_first: bool = False) -> list[Any]: ...


@dataclass(frozen=True)
class AlarmCounts:
    """One alarm on one side: how often it was raised and cleared, and when it was raised."""

    alarm: str
    raised: int
    cleared: int
    raised_ts: tuple[float, ...]

    @property
    def first_raised(self) -> float | None:
        """When it was first raised in the period, if it was."""
        return self.raised_ts[0] if self.raised_ts else None


@dataclass(frozen=True)
class WriteCounts:
    """The writes to one tag on one side: how many, the values in order, first and last."""

    tag: str
    count: int
    values: tuple[Any, ...]
    first_ts: float
    last_ts: float


@dataclass(frozen=True)
class AlarmLead:
    """An alarm both sides raised: the first raise of each in the period."""

    alarm: str
    live_raised: float
    shadow_raised: float

    @property
    def shadow_earlier_s(self) -> float:
        """How many seconds earlier the shadow raised it (negative: later)."""
        return self.live_raised - self.shadow_raised


@dataclass(frozen=True)
class Comparison:
    """Live against shadow over a period; alarms keyed by the live alarm id."""

    live_alarms: dict[str, AlarmCounts]
    shadow_alarms: dict[str, AlarmCounts]
    live_writes: dict[str, WriteCounts]
    shadow_writes: dict[str, WriteCounts]
    only_live: tuple[str, ...]
    only_shadow: tuple[str, ...]
    leads: dict[str, AlarmLead]

    def lines(self) -> list[str]:
        """A plain-text summary, one finding per line."""
        out = []
        for alarm, lead in self.leads.items():
            when = (f"{lead.shadow_earlier_s:.1f} s earlier" if lead.shadow_earlier_s >= 0
                    else f"{-lead.shadow_earlier_s:.1f} s later")
            counts = (self.shadow_alarms[alarm].raised, self.live_alarms[alarm].raised)
            out.append(f"{alarm}: shadow raised it {when} (shadow {counts[0]}x, "
                       f"live {counts[1]}x)")
        out += [f"{a}: raised only live ({self.live_alarms[a].raised}x)" for a in self.only_live]
        out += [f"{a}: raised only in shadow ({self.shadow_alarms[a].raised}x)"
                for a in self.only_shadow]
        for side, writes in (("live", self.live_writes), ("shadow", self.shadow_writes)):
            out += [f"{w.tag}: {w.count} write(s) {side}, last {w.values[-1]!r}"
                    for w in writes.values()]
        return out


def compare(live_events: Iterable[EventLike], live_writes: Iterable[WriteLike],
            shadow_events: Iterable[EventLike], shadow_writes: Iterable[WriteLike],
            alarm_pairs: Mapping[str, str] | None = None) -> Comparison:
    """Summarise live and shadow actions of one period.

    `alarm_pairs` maps a shadow alarm id to the live alarm id it stands for, when the shadow
    copy raises its alarm under another id.
    """
    pairs = dict(alarm_pairs or {})
    live = _alarms(live_events, {})
    shadow = _alarms(shadow_events, pairs)
    raised_live = {a for a, c in live.items() if c.raised}
    raised_shadow = {a for a, c in shadow.items() if c.raised}
    leads = {a: AlarmLead(a, live[a].raised_ts[0], shadow[a].raised_ts[0])
             for a in sorted(raised_live & raised_shadow)}
    return Comparison(live, shadow, _writes(live_writes), _writes(shadow_writes),
                      tuple(sorted(raised_live - raised_shadow)),
                      tuple(sorted(raised_shadow - raised_live)), leads)


def shadow_comparison(store: EventStore, shadow_flow_id: str, live_flow_id: str,
                      start: float, end: float,
                      alarm_pairs: Mapping[str, str] | None = None) -> Comparison:
    """Compare a shadow flow's recorded actions with the live flow's over [start, end).
    Alarms the shadow copy raises under another id than the live flow are paired by node id
    (a copy keeps its node ids); `alarm_pairs` overrides that."""
    kinds = (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED, EventKind.WRITE)
    recorded = _all_events(store, start, end, kinds)
    live_events = [e for e in recorded if e.flow == live_flow_id and not e.shadow]
    shadow_events = [e for e in recorded if e.flow == shadow_flow_id and e.shadow]
    live_ids = {e.node: e.data.get("alarm") for e in live_events if "alarm" in e.data}
    pairs = {e.data["alarm"]: live_ids[e.node] for e in shadow_events
             if "alarm" in e.data and live_ids.get(e.node) is not None}
    pairs.update(alarm_pairs or {})
    return compare(live_events, writes_from_events(live_events), shadow_events,
                   writes_from_events(shadow_events), pairs)


def writes_from_events(events: Iterable[EventLike]) -> list[WriteRequest]:
    """The writes recorded as "write" events (what a flow's write nodes approved)."""
    return [WriteRequest(tag=e.data["tag"], value=e.data["value"], ts=e.ts,
                         flow=getattr(e, "flow", ""), node=e.node)
            for e in events if e.kind == EventKind.WRITE]


def _alarms(events: Iterable[EventLike], pairs: Mapping[str, str]) -> dict[str, AlarmCounts]:
    raised: dict[str, list[float]] = {}
    cleared: dict[str, int] = {}
    for event in sorted(events, key=lambda e: e.ts):
        if event.kind not in (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED):
            continue
        alarm = str(event.data.get("alarm"))
        alarm = pairs.get(alarm, alarm)
        raised.setdefault(alarm, [])
        cleared.setdefault(alarm, 0)
        if event.kind == EventKind.ALARM_RAISED:
            raised[alarm].append(event.ts)
        else:
            cleared[alarm] += 1
    return {a: AlarmCounts(a, len(raised[a]), cleared[a], tuple(raised[a]))
            for a in sorted(raised)}


def _writes(writes: Iterable[WriteLike]) -> dict[str, WriteCounts]:
    by_tag: dict[str, list[WriteLike]] = {}
    for write in sorted(writes, key=lambda w: w.ts):
        by_tag.setdefault(write.tag, []).append(write)
    return {tag: WriteCounts(tag, len(ws), tuple(w.value for w in ws), ws[0].ts, ws[-1].ts)
            for tag, ws in sorted(by_tag.items())}


def _all_events(store: EventStore, start: float, end: float,
                kinds: Iterable[str], page: int = 10_000) -> list[Any]:
    """Every event of the kinds in [start, end), read a page at a time."""
    found: list[Any] = []
    seen: set[int] = set()
    while True:
        batch = store.events(start, end, kinds, limit=page)
        fresh = [e for e in batch if e.id not in seen]
        found += fresh
        if len(batch) < page or not fresh:
            return found
        seen.update(e.id for e in batch)
        start = batch[-1].ts
