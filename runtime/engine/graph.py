"""Compile one flow of a project into wired node instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.contracts import Flow, LinesideError, Project
from runtime.contracts.project import canonical_json
from runtime.engine.context import ActionSink, NodeContext

if TYPE_CHECKING:
    from runtime.engine.engine import Engine
    from runtime.registry import NodeRegistry

SourceEntry = tuple[str, Callable[..., None]]  # (tag id, receive of a node fed by that tag)


class BuildError(LinesideError):
    """A node could not be built; names the flow and node."""


@dataclass
class CompiledFlow:
    """A flow's node instances, the tags that feed it, and the fingerprint of its definition."""

    flow: Flow
    fingerprint: str
    nodes: dict[str, Any]
    sources: list[SourceEntry]
    sink: ActionSink
    tickers: list[Callable[[float], None]] = field(default_factory=list)
    errors: int = field(default=0)


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
    for wire in flow.wires:
        wired[wire.target].add(wire.target_port)
    shadow = flow.mode == "shadow"
    nodes: dict[str, Any] = {}
    sources: list[SourceEntry] = []
    tickers: list[Callable[[float], None]] = []
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
        sources.extend((tag, instance.receive) for tag in getattr(instance, "source_tags", ()))
        if hasattr(instance, "on_advance"):
            tickers.append(instance.on_advance)
    for wire in flow.wires:
        nodes[wire.source].connect(wire.source_port, nodes[wire.target].receive,
                                   wire.target_port)
    return CompiledFlow(flow=flow, fingerprint=fingerprint, nodes=nodes, sources=sources,
                        sink=sink, tickers=tickers)
