"""Live debug of flows: the last value and quality on each node output of the flows someone
watches (topic flows/<id>/debug), for the editor's live view.

Outputs are watched only while a client subscribes to a flow's debug topic, so an unwatched
flow pays nothing; a redeployed flow (a new compiled flow) is watched again by itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.engine import CompiledFlow, Engine
from runtime.registry import NodeRegistry

INTERVAL_S = 0.25
"""How often a watched flow's outputs are published (at most 4 Hz)."""
_TEXT_LIMIT = 200


def debug_topic(flow_id: str) -> str:
    """A flow's debug topic."""
    return f"flows/{flow_id}/debug"


@dataclass
class _Watched:
    compiled: CompiledFlow
    stop: list[Callable[[], None]] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: bool = False


class FlowDebug:
    """Watches the outputs of the flows asked for, and tells what changed since last asked."""

    def __init__(self, engine: Engine, registry: NodeRegistry) -> None:
        self._engine = engine
        self._registry = registry
        self._watched: dict[str, _Watched] = {}

    def watch(self, flow_ids: Iterable[str]) -> None:
        """Watch exactly these flows (those running); stop watching the others."""
        wanted = {f: self._engine.flows[f] for f in flow_ids if f in self._engine.flows}
        for flow_id, watched in list(self._watched.items()):
            if wanted.get(flow_id) is not watched.compiled:
                for stop in watched.stop:
                    stop()
                del self._watched[flow_id]
        for flow_id, compiled in wanted.items():
            if flow_id not in self._watched:
                self._watched[flow_id] = self._attach(compiled)

    def changes(self) -> dict[str, dict[str, Any]]:
        """{flow id: {flow, outputs: {"node:port": {ts, value, quality}}}} of each watched
        flow whose outputs changed since the last call."""
        out = {}
        for flow_id, watched in self._watched.items():
            if watched.changed:
                watched.changed = False
                out[flow_id] = {"flow": flow_id, "outputs": dict(watched.latest)}
        return out

    def _attach(self, compiled: CompiledFlow) -> _Watched:
        watched = _Watched(compiled)
        for node in compiled.flow.nodes:
            for port in self._registry.spec(node.type).outputs:
                key = f"{node.id}:{port.name}"
                watched.stop.append(compiled.watch(node.id, port.name,
                                                   self._recorder(watched, key)))
        return watched

    @staticmethod
    def _recorder(watched: _Watched, key: str) -> Callable[..., None]:
        def record(_port: str, ts: list[float], values: list[Any], quality: list[int]) -> None:
            if ts:
                watched.latest[key] = {"ts": ts[-1], "value": _plain(values[-1]),
                                       "quality": quality[-1]}
                watched.changed = True
        return record


def _plain(value: Any) -> Any:
    """A value as JSON can carry it: numbers (non-finite ones as text), booleans, short text."""
    if isinstance(value, bool | int | str) or value is None:
        return value if not isinstance(value, str) else value[:_TEXT_LIMIT]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return repr(value)[:_TEXT_LIMIT]
