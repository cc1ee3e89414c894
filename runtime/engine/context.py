"""What a node may reach: time, tag values, line mode, and the action and event sinks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from runtime.contracts import Event, Tag, WriteRequest

if TYPE_CHECKING:
    from runtime.engine.engine import Engine


class ActionSink(Protocol):
    """Where approved writes, events and line-mode requests go (live: the runtime)."""

    def write(self, request: WriteRequest) -> None:
        """Execute (or queue) an approved write."""

    def event(self, event: Event) -> None:
        """Record an event (alarm raised or cleared, write, refusal, mode change)."""

    def line_mode(self, mode: str, event: Event) -> None:
        """Change the line mode as requested by a rule."""


@dataclass
class CaptureSink:
    """Captures actions instead of executing them: for shadow flows, backtests and tests."""

    writes: list[WriteRequest] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)

    def write(self, request: WriteRequest) -> None:
        """Keep the write."""
        self.writes.append(request)

    def event(self, event: Event) -> None:
        """Keep the event."""
        self.events.append(event)

    def line_mode(self, mode: str, event: Event) -> None:
        """Keep the requested mode and its event."""
        self.modes.append(mode)
        self.events.append(event)


class NodeContext:
    """One node's view of the engine. Time comes from messages or the injected clock."""

    __slots__ = ("_engine", "flow_id", "node_id", "shadow", "sink", "wired_inputs")

    def __init__(self, engine: Engine, flow_id: str, node_id: str, shadow: bool,
                 sink: ActionSink, wired_inputs: frozenset[str]) -> None:
        self._engine = engine
        self.flow_id = flow_id
        self.node_id = node_id
        self.shadow = shadow
        self.sink = sink
        self.wired_inputs = wired_inputs

    @property
    def clock(self) -> Callable[[], float]:
        """The injected clock (wall time live, replay time in backtests)."""
        return self._engine.clock

    @property
    def line_mode(self) -> str:
        """The current line mode."""
        return self._engine.line_mode

    def tag(self, tag_id: str) -> Tag:
        """The definition of a tag of the deployed project."""
        return self._engine.tag_definition(tag_id)

    def tag_value(self, tag_id: str) -> tuple[float, Any, int] | None:
        """The latest (ts, value, quality) the engine saw for a tag, if any."""
        return self._engine.tag_values.get(tag_id)

    def alarm_active(self, alarm_id: str) -> bool:
        """Whether a live alarm is active in the record (shadow flows start from normal)."""
        return not self.shadow and self._engine.alarm_active(alarm_id)

    def last_write_ts(self, tag_id: str) -> float | None:
        """When a rule of this sink last wrote the tag (message time), if ever."""
        return self._engine.last_write_ts(self.sink, tag_id)

    def make_event(self, kind: str, ts: float, **data: Any) -> Event:
        """An event stamped with this node, flow and shadow flag."""
        return Event(kind=kind, ts=ts, flow=self.flow_id, node=self.node_id, data=data,
                     shadow=self.shadow)

    def emit_event(self, kind: str, ts: float, **data: Any) -> None:
        """Record an event."""
        self.sink.event(self.make_event(kind, ts, **data))

    def request_write(self, request: WriteRequest) -> None:
        """Hand an approved write to the sink and remember when it was made."""
        self._engine.note_write(self.sink, request.tag, request.ts)
        self.sink.write(request)

    def infer(self, model: str, rows: Any, deliver: Callable[[dict[str, Any]], None]) -> None:
        """Queue feature rows for a model; `deliver` gets the outputs when the batch ran."""
        self._engine.infer(self.flow_id, model, rows, deliver)

    def request_line_mode(self, mode: str, ts: float) -> None:
        """Ask for a line-mode change (shadow flows only record the wish)."""
        event = self.make_event("line_mode", ts, mode=mode)
        self.sink.line_mode(mode, event)
