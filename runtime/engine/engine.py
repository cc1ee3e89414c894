"""The engine: holds the deployed project, dispatches samples through its flows, deploys.

Dispatch is synchronous and depth first: a batch of one tag runs through every flow it
feeds before the next batch, so each node sees its inputs in time order. Deploy is
validate → build → swap; a failure in any step leaves the running project untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runtime.contracts import (
    Flow,
    LineMode,
    LinesideError,
    Problem,
    Project,
    Sample,
    Tag,
    ValidationFailed,
)
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

    def prepare(self, models: Collection[str]) -> None:
        """Get these models ready to run (a deploy is about to use them); raises a
        LinesideError saying why one can't be."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: flows started fresh, kept with their state, and stopped."""

    project_hash: str
    started: tuple[str, ...]
    kept: tuple[str, ...]
    stopped: tuple[str, ...]


@dataclass(frozen=True)
class DeployPlan:
    """A validated project with its flows built, ready to swap in (Engine.prepare).

    Building has no effect on the running flows; a plan applies only to the flows it was
    prepared against, so two deploys can't interleave (Engine.swap checks it)."""

    project: Project
    flows: dict[str, CompiledFlow]
    result: DeployResult
    base: dict[str, CompiledFlow]
    kept: tuple[tuple[CompiledFlow, Flow], ...]


@dataclass(frozen=True)
class FlowError:
    """A node of a flow raised: where the engine caught it, the error, whether this error
    (type and message) is new for the flow, and the flow's error count so far."""

    flow: str
    where: str
    error: str
    first: bool
    errors: int
    ts: float


class DeployConflict(LinesideError):
    """A deploy plan was prepared against flows that have been replaced since."""


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
    """Per tag, the receive methods of the nodes it feeds, with their flow ids."""

    by_tag: dict[str, list[tuple[str, Callable[..., None]]]] = field(default_factory=dict)


@dataclass
class _InferenceRequest:
    """Feature rows a flow's node queued for a model, and where the outputs go."""

    flow_id: str
    rows: Any
    deliver: Callable[[dict[str, Any]], None]


class Engine:
    """Runs the deployed project's flows over incoming samples.

    An error raised by a node never leaves the engine: it is charged to the node's flow
    (counted in its FlowHealth, logged once per distinct error with its traceback, passed to
    `on_flow_error`) and the other flows carry on. Shadow flows act on a sink of their own,
    made by `shadow_sink(flow_id)` (by default a CaptureSink).
    """

    MAX_LOGGED_ERRORS = 20
    """Distinct errors logged per flow; later new ones are still counted and reported."""

    def __init__(self, registry: NodeRegistry, sink: ActionSink | None = None,
                 clock: Callable[[], float] = time.time,
                 line_mode: str = LineMode.AUTOMATIC,
                 alarm_active: Callable[[str], bool] = lambda alarm_id: False,
                 inference: ModelRunner | None = None,
                 shadow_sink: Callable[[str], ActionSink] | None = None,
                 on_flow_error: Callable[[FlowError], None] | None = None) -> None:
        self.registry = registry
        self.sink: ActionSink = sink or _NullSink()
        self.clock = clock
        self.alarm_active = alarm_active
        self.inference = inference
        self.shadow_sink: Callable[[str], ActionSink] = shadow_sink or (lambda _f: CaptureSink())
        self.on_flow_error = on_flow_error
        self._inference_queue: dict[str, list[_InferenceRequest]] = {}
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
        return self.swap(self.prepare(doc))

    def prepare(self, doc: dict[str, Any]) -> DeployPlan:
        """Validate a document and build what changed; raises ValidationFailed or
        BuildError. The running flows are untouched until `swap`."""
        models = self.inference.catalogue() if self.inference is not None else {}
        return self.prepare_project(load_project(doc, self.registry.catalogue(), models))

    def prepare_project(self, project: Project) -> DeployPlan:
        """Build an already validated project; flows unchanged keep their instances; the
        models its flows use are made ready (ValidationFailed names the node of one that
        can't be)."""
        self._prepare_models(project)
        flows: dict[str, CompiledFlow] = {}
        started, kept, kept_pairs = [], [], []
        for flow in project.flows:
            if not flow.enabled:
                continue
            fingerprint = flow_fingerprint(flow, project, self.registry)
            old = self.flows.get(flow.id)
            if old is not None and old.fingerprint == fingerprint:
                flows[flow.id] = old
                kept.append(flow.id)
                kept_pairs.append((old, flow))
                continue
            sink = self.shadow_sink(flow.id) if flow.mode == "shadow" else self.sink
            flows[flow.id] = build_flow(flow, project, self.registry, self, sink, fingerprint)
            started.append(flow.id)
        stopped = tuple(f for f in self.flows if f not in flows)
        result = DeployResult(project.hash, tuple(started), tuple(kept), stopped)
        return DeployPlan(project, flows, result, self.flows, tuple(kept_pairs))

    def _prepare_models(self, project: Project) -> None:
        if self.inference is None:
            return
        problems = []
        for f_index, flow in enumerate(project.flows):
            if not flow.enabled:
                continue
            for n_index, node in enumerate(flow.nodes):
                for param in self.registry.spec(node.type).params:
                    key = node.params.get(param.name)
                    if param.type != "model" or not isinstance(key, str):
                        continue
                    try:
                        self.inference.prepare([key])
                    except LinesideError as exc:
                        problems.append(Problem(
                            f"$.flows[{f_index}].nodes[{n_index}].params.{param.name}",
                            str(exc)))
        if problems:
            raise ValidationFailed(problems)

    def deploy_project(self, project: Project) -> DeployResult:
        """Build and swap in an already validated project; flows unchanged keep state."""
        return self.swap(self.prepare_project(project))

    def swap(self, plan: DeployPlan) -> DeployResult:
        """Make a prepared project the running one (no await, nothing that can fail half)."""
        if plan.base is not self.flows:
            raise DeployConflict("the flows changed since this deploy was prepared; "
                                 "prepare it again")
        routes = _Routes()
        for flow_id, compiled in plan.flows.items():
            for tag_id, receive in compiled.receivers():
                routes.by_tag.setdefault(tag_id, []).append((flow_id, receive))
        for compiled, flow in plan.kept:
            compiled.flow = flow
        # The swap: a few reference assignments with no await between them.
        self.project, self.flows, self._routes = plan.project, plan.flows, routes
        self._tags = plan.project.tags_by_id()
        result = plan.result
        log.info("engine.deployed hash=%s started=%s kept=%s stopped=%s", result.project_hash[:12],
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
            except Exception as exc:
                self.flow_failed(flow_id, exc, f"tag={tag}")

    def advance(self, watermark: float) -> None:
        """Declare that every sample with ts < `watermark` has been delivered.

        Nodes that act on a time grid (models scoring every period) evaluate up to it; their
        model calls are then run together, one batch per model. Live, the runtime calls this
        with its clock minus a grace period; a replay calls it at the end of each slice.
        """
        for flow_id, compiled in self.flows.items():
            for node_id, on_advance in compiled.tickers:
                try:
                    on_advance(watermark)
                except Exception as exc:
                    self.flow_failed(flow_id, exc, f"node={node_id}")
        self._run_inference()

    def infer(self, flow_id: str, model: str, rows: Any,
              deliver: Callable[[dict[str, Any]], None]) -> None:
        """Queue a flow's rows for a model; `deliver` gets this request's outputs after the
        batch ran (at the end of the current advance)."""
        self._inference_queue.setdefault(model, []).append(
            _InferenceRequest(flow_id, rows, deliver))

    def _run_inference(self) -> None:
        """One model call per model for every queued request; when a batch fails, each
        flow's rows are scored alone, so only the flows whose rows fail are charged."""
        queue, self._inference_queue = self._inference_queue, {}
        for model, requests in queue.items():
            try:
                outputs = self._score(model, [r.rows for r in requests])
            except Exception as exc:
                if len(requests) == 1:
                    self.flow_failed(requests[0].flow_id, exc, f"model={model}")
                    continue
                for request in requests:
                    try:
                        alone = self._score(model, [request.rows])
                    except Exception as exc_alone:
                        self.flow_failed(request.flow_id, exc_alone, f"model={model}")
                    else:
                        self._deliver(request, alone, 0, len(request.rows), model)
                continue
            start = 0
            for request in requests:
                end = start + len(request.rows)
                self._deliver(request, outputs, start, end, model)
                start = end

    def _score(self, model: str, parts: list[Any]) -> dict[str, Any]:
        if self.inference is None:
            raise RuntimeError("this engine has no model runtime")
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self.inference.run(model, rows)

    def _deliver(self, request: _InferenceRequest, outputs: dict[str, Any], start: int,
                 end: int, model: str) -> None:
        try:
            request.deliver({name: out[start:end] for name, out in outputs.items()})
        except Exception as exc:
            self.flow_failed(request.flow_id, exc, f"model={model} (delivering scores)")

    def flow_failed(self, flow_id: str, exc: BaseException, where: str) -> None:
        """Charge an error a node raised to its flow: counted, logged with its traceback the
        first time this error (type and message) happens in the flow, reported."""
        compiled = self.flows.get(flow_id)
        if compiled is None:
            log.error("engine.flow_error flow=%s where=%s error=%r (flow not deployed)",
                      flow_id, where, _describe(exc))
            return
        error = _describe(exc)
        health = compiled.health
        now = self.clock()
        first = health.record(error, now)
        if first and len(health.distinct) <= self.MAX_LOGGED_ERRORS:
            log.error("engine.flow_failed flow=%s where=%s error=%r errors=%d", flow_id,
                      where, error, health.errors, exc_info=exc)
        if self.on_flow_error is not None:
            self.on_flow_error(FlowError(flow_id, where, error, first, health.errors, now))

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
        """The captured actions of each running shadow flow that captures in memory."""
        return {fid: f.sink for fid, f in self.flows.items() if isinstance(f.sink, CaptureSink)}


def _describe(exc: BaseException) -> str:
    """An error in one line: its type and message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
