"""The engine: holds the deployed project, dispatches samples through its flows, deploys.

Dispatch is synchronous and depth first: a batch of one tag runs through every flow it
feeds before the next batch, so each node sees its inputs in time order. Deploy is
validate → build → swap; a failure in any step leaves the running project untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runtime.contracts import LineMode, Project, Sample, Tag
from runtime.contracts.validation import load_project
from runtime.engine.context import ActionSink, CaptureSink
from runtime.engine.graph import CompiledFlow, build_flow, flow_fingerprint
from runtime.registry import NodeRegistry

log = logging.getLogger(__name__)


class ModelRunner(Protocol):
    """Runs a model over a batch of feature rows (the runtime's ONNX sessions)."""

    def run(self, model: str, rows: Any) -> dict[str, Any]:
        """Outputs by name, each with one entry per row."""

    def catalogue(self) -> dict[str, Any]:
        """The loaded models' ModelInfo by "id@version" (what projects may reference)."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: flows started fresh, kept with their state, and stopped."""

    project_hash: str
    started: tuple[str, ...]
    kept: tuple[str, ...]
    stopped: tuple[str, ...]


@dataclass
class _NullSink:
    """Discards actions: the sink of an engine nobody attached to."""

    def write(self, request: Any) -> None:
        """Discard."""

    def event(self, event: Any) -> None:
        """Discard."""

    def line_mode(self, mode: str, event: Any) -> None:
        """Discard."""


@dataclass
class _Routes:
    """Per tag, the receive methods of the source nodes it feeds, with their flow ids."""

    by_tag: dict[str, list[tuple[str, Callable[..., None]]]] = field(default_factory=dict)


class Engine:
    """Runs the deployed project's flows over incoming samples."""

    def __init__(self, registry: NodeRegistry, sink: ActionSink | None = None,
                 clock: Callable[[], float] = time.time,
                 line_mode: str = LineMode.AUTOMATIC,
                 alarm_active: Callable[[str], bool] = lambda alarm_id: False,
                 inference: ModelRunner | None = None) -> None:
        self.registry = registry
        self.sink: ActionSink = sink or _NullSink()
        self.clock = clock
        self.alarm_active = alarm_active
        self.inference = inference
        self._inference_queue: dict[str, list[tuple[Any, Callable[..., None]]]] = {}
        self.line_mode = line_mode
        self.project: Project | None = None
        self.flows: dict[str, CompiledFlow] = {}
        self.tag_values: dict[str, tuple[float, Any, int]] = {}
        self._tags: dict[str, Tag] = {}
        self._routes = _Routes()
        self._last_writes: dict[tuple[int, str], float] = {}

    # -- deploy -------------------------------------------------------------------------

    def deploy(self, doc: dict[str, Any]) -> DeployResult:
        """Validate, build and swap in a project; raises and changes nothing on failure."""
        models = self.inference.catalogue() if self.inference is not None else {}
        project = load_project(doc, self.registry.catalogue(), models)
        return self.deploy_project(project)

    def deploy_project(self, project: Project) -> DeployResult:
        """Build and swap in an already validated project; flows unchanged keep state."""
        flows: dict[str, CompiledFlow] = {}
        started, kept = [], []
        for flow in project.flows:
            if not flow.enabled:
                continue
            fingerprint = flow_fingerprint(flow, project, self.registry)
            old = self.flows.get(flow.id)
            if old is not None and old.fingerprint == fingerprint:
                old.flow = flow
                flows[flow.id] = old
                kept.append(flow.id)
                continue
            sink = CaptureSink() if flow.mode == "shadow" else self.sink
            flows[flow.id] = build_flow(flow, project, self.registry, self, sink, fingerprint)
            started.append(flow.id)
        routes = _Routes()
        for flow_id, compiled in flows.items():
            for tag_id, receive in compiled.sources:
                routes.by_tag.setdefault(tag_id, []).append((flow_id, receive))
        stopped = tuple(f for f in self.flows if f not in flows)
        # The swap: a few reference assignments with no await between them.
        self.project, self.flows, self._routes = project, flows, routes
        self._tags = project.tags_by_id()
        result = DeployResult(project.hash, tuple(started), tuple(kept), stopped)
        log.info("engine.deployed hash=%s started=%s kept=%s stopped=%s", project.hash[:12],
                 ",".join(result.started), ",".join(result.kept), ",".join(result.stopped))
        return result

    # -- dispatch -----------------------------------------------------------------------

    def ingest(self, samples: Sequence[Sample]) -> None:
        """Dispatch samples (any mix of tags, in time order) through the flows they feed."""
        start = 0
        count = len(samples)
        while start < count:
            tag = samples[start].tag
            end = start + 1
            while end < count and samples[end].tag == tag:
                end += 1
            run = samples[start:end]
            self.ingest_columns(tag, [s.ts for s in run], [s.value for s in run],
                                [s.quality for s in run])
            start = end

    def ingest_columns(self, tag: str, ts: list[float], values: list[Any],
                       quality: list[int]) -> None:
        """Dispatch a batch of one tag given as parallel lists."""
        if not ts:
            return
        self.tag_values[tag] = (ts[-1], values[-1], quality[-1])
        for flow_id, receive in self._routes.by_tag.get(tag, ()):
            try:
                receive(tag, ts, values, quality)
            except Exception:
                self._flow_failed(flow_id, f"tag={tag}")

    def advance(self, watermark: float) -> None:
        """Declare that every sample with ts < `watermark` has been delivered.

        Nodes that act on a time grid (models scoring every period) evaluate up to it; their
        model calls are then run together, one batch per model. Live, the runtime calls this
        with its clock minus a grace period; a replay calls it at the end of each slice.
        """
        for flow_id, compiled in self.flows.items():
            for on_advance in compiled.tickers:
                try:
                    on_advance(watermark)
                except Exception:
                    self._flow_failed(flow_id, f"advance={watermark:.3f}")
        self._run_inference()

    def infer(self, model: str, rows: Any, deliver: Callable[[dict[str, Any]], None]) -> None:
        """Queue rows for a model; `deliver` gets this request's outputs after the batch ran."""
        self._inference_queue.setdefault(model, []).append((rows, deliver))

    def _run_inference(self) -> None:
        queue, self._inference_queue = self._inference_queue, {}
        for model, requests in queue.items():
            if self.inference is None:
                raise RuntimeError("this engine has no model runtime")
            rows = requests[0][0] if len(requests) == 1 else np.concatenate(
                [r for r, _ in requests])
            outputs = self.inference.run(model, rows)
            start = 0
            for part, deliver in requests:
                end = start + len(part)
                deliver({name: out[start:end] for name, out in outputs.items()})
                start = end

    def _flow_failed(self, flow_id: str, where: str) -> None:
        compiled = self.flows[flow_id]
        compiled.errors += 1
        if compiled.errors <= 3 or compiled.errors % 1000 == 0:
            log.exception("engine.flow_error flow=%s %s errors=%d", flow_id, where,
                          compiled.errors)

    # -- what nodes ask for -------------------------------------------------------------

    def tag_definition(self, tag_id: str) -> Tag:
        """The definition of a tag of the deployed project."""
        return self._tags[tag_id]

    def note_write(self, sink: ActionSink, tag_id: str, ts: float) -> None:
        """Remember when a write to a tag went to a sink (for the envelope's min interval)."""
        self._last_writes[(id(sink), tag_id)] = ts

    def last_write_ts(self, sink: ActionSink, tag_id: str) -> float | None:
        """When a write to a tag last went to this sink (message time), if ever."""
        return self._last_writes.get((id(sink), tag_id))

    def shadow_captures(self) -> dict[str, CaptureSink]:
        """The captured actions of each running shadow flow."""
        return {fid: f.sink for fid, f in self.flows.items() if isinstance(f.sink, CaptureSink)}
