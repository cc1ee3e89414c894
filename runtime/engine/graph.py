"""Compile one flow of a project into wired node instances."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.contracts import Flow, LinesideError, Project
from runtime.contracts.project import canonical_json
from runtime.engine.context import ActionSink, NodeContext

if TYPE_CHECKING:
    from runtime.engine.engine import Engine
    from runtime.registry import NodeRegistry

Batch = tuple[list[float], list[Any], list[int]]
Deliver = Callable[[list[float], list[Any], list[int]], None]
Tap = Callable[[Deliver, list[float], list[Any], list[int]], None]
"""Sits on a node's output: gets `deliver` and each batch, and decides when (and whether)
to hand the batch on with deliver(ts, values, quality)."""


class BuildError(LinesideError):
    """A node could not be built; names the flow and node."""


@dataclass
class FlowHealth:
    """Errors a flow's nodes raised since it was built: how many, the last one, and each
    distinct error (type and message) with how often it happened."""

    errors: int = 0
    last_error: str = ""
    last_error_ts: float | None = None
    distinct: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True once any node of the flow raised."""
        return self.errors > 0

    def record(self, error: str, ts: float) -> bool:
        """Count an error; True when this error was not seen before."""
        self.errors += 1
        self.last_error, self.last_error_ts = error, ts
        seen = self.distinct.get(error, 0)
        self.distinct[error] = seen + 1
        return seen == 0


@dataclass
class CompiledFlow:
    """A flow's node instances, the tags that feed them, its wiring, its action sink, the
    fingerprint of its definition and its health."""

    flow: Flow
    fingerprint: str
    nodes: dict[str, Any]
    sources: list[tuple[str, str]]
    """(tag id, node id): the node receives the tag's batches with the tag id as the port."""
    sink: ActionSink
    tickers: list[tuple[str, Callable[[float], None]]] = field(default_factory=list)
    """(node id, on_advance) of the nodes acting on a time grid."""
    wiring: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    """(node, output port) → the (node, input port) it feeds."""
    health: FlowHealth = field(default_factory=FlowHealth)

    @property
    def errors(self) -> int:
        """How many errors the flow's nodes raised since it was built."""
        return self.health.errors

    def receivers(self) -> list[tuple[str, Callable[..., None]]]:
        """(tag id, receive method) of every node fed by a tag."""
        return [(tag, self.nodes[node_id].receive) for tag, node_id in self.sources]

    def targets(self, node_id: str, port: str) -> list[tuple[str, str]]:
        """The (node, input port) pairs an output port is wired to."""
        return list(self.wiring.get((node_id, port), ()))

    def tap(self, node_id: str, port: str, tap: Tap,
            only_to: Collection[str] | None = None) -> None:
        """Route what `node_id` emits on `port` towards the nodes in `only_to` (all wired
        nodes when None) through `tap`; the other wires stay direct. Used by replays (to
        hold grid output back) and by live debug views (to watch each output)."""
        node = self.nodes[node_id]
        direct: list[tuple[Callable[..., None], str]] = []
        tapped: list[tuple[Callable[..., None], str]] = []
        for target, target_port in self.targets(node_id, port):
            entry = (self.nodes[target].receive, target_port)
            (tapped if only_to is None or target in only_to else direct).append(entry)
        if not tapped:
            return

        def deliver(ts: list[float], values: list[Any], quality: list[int]) -> None:
            for receive, target_port in tapped:
                receive(target_port, ts, values, quality)

        def tapped_output(_port: str, ts: list[float], values: list[Any],
                          quality: list[int]) -> None:
            tap(deliver, ts, values, quality)

        node.outputs[port] = [*direct, (tapped_output, "")]

    def watch(self, node_id: str, port: str, watcher: Callable[..., None]) -> Callable[[], None]:
        """Also send what `node_id` emits on `port` (wired or not) to
        `watcher(port, ts, values, quality)`; returns the function that stops it. Used by
        backtest traces and live debug views."""
        outputs = self.nodes[node_id].outputs
        entry = (watcher, port)
        outputs[port] = [*outputs.get(port, ()), entry]

        def unwatch() -> None:
            outputs[port] = [e for e in outputs.get(port, ()) if e is not entry]
        return unwatch


def flow_fingerprint(flow: Flow, project: Project, registry: NodeRegistry) -> str:
    """What decides whether a flow must restart on deploy: its nodes, wires and mode and
    the definitions of the tags it reads or writes; not labels or positions on screen."""
    tags = project.tags_by_id()
    used: dict[str, Any] = {}
    for node in flow.nodes:
        spec = registry.spec(node.type)
        for param in spec.params:
            if param.type in ("tag", "writable_tag") and node.params.get(param.name) in tags:
                tag = tags[node.params[param.name]]
                used[tag.id] = repr(tag)
    return canonical_json({
        "enabled": flow.enabled,
        "mode": flow.mode,
        "nodes": [[n.id, registry.spec(n.type).type, n.version, n.params] for n in flow.nodes],
        "wires": sorted([w.source, w.source_port, w.target, w.target_port] for w in flow.wires),
        "tags": used,
    })


def build_flow(flow: Flow, project: Project, registry: NodeRegistry, engine: Engine,
               sink: ActionSink, fingerprint: str) -> CompiledFlow:
    """Instantiate and wire a flow's nodes; raises BuildError naming the failing node."""
    wired: dict[str, set[str]] = {n.id: set() for n in flow.nodes}
    wiring: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for wire in flow.wires:
        wired[wire.target].add(wire.target_port)
        wiring.setdefault((wire.source, wire.source_port), []).append(
            (wire.target, wire.target_port))
    shadow = flow.mode == "shadow"
    nodes: dict[str, Any] = {}
    sources: list[tuple[str, str]] = []
    tickers: list[tuple[str, Callable[[float], None]]] = []
    for node in flow.nodes:
        spec = registry.spec(node.type)
        ctx = NodeContext(engine, flow.id, node.id, shadow, sink, frozenset(wired[node.id]))
        try:
            instance = registry.implementation(spec)(ctx, spec.resolve_params(node.params))
        except Exception as exc:
            raise BuildError(f"flow '{flow.id}' node '{node.id}' ({spec.type}) could not be "
                             f"built: {exc}") from exc
        nodes[node.id] = instance
        # A node that reads tags itself (a tag source, a model over several tags) names
        # them in `source_tags`; it receives their batches with the tag id as the port.
        sources.extend((tag, node.id) for tag in getattr(instance, "source_tags", ()))
        if hasattr(instance, "on_advance"):
            tickers.append((node.id, instance.on_advance))
    for wire in flow.wires:
        nodes[wire.source].connect(wire.source_port, nodes[wire.target].receive,
                                   wire.target_port)
    return CompiledFlow(flow=flow, fingerprint=fingerprint, nodes=nodes, sources=sources,
                        sink=sink, tickers=tickers, wiring=wiring)
