"""Backtests: one flow replayed over recorded history, its actions captured, not executed.

A backtest builds a copy of the flow (with changed parameters, if any) in an engine of its
own, with the same node code as live, a clock that follows the data and a CaptureSink, then
feeds it the recorded samples of every tag the flow reads and advances its watermark slice
by slice. It returns the alarms, writes and line-mode changes the flow would have made.

Each node sees its inputs in the order a live engine sees them when each connection delivers
in time order:
- samples of tags that meet in a node, and of the tags the flow's action nodes write (they
  read them back, and share the line mode), are merged into one time order, ties in the
  order of the project's tags, and dispatched as runs of one tag as live batches are; tags
  that never meet go in long runs, which is what makes a day take about a second;
- a node that is `order_free` (by default the nodes acting on a time grid: by the engine's
  contract they depend only on the samples before each watermark) joins no tags;
- grid nodes emit as the watermark passes their grid times, and live the watermark trails
  the clock (LiveTiming). Where their output meets samples of tags, the replay follows that
  in data time step by step; grid nodes still evaluate once per slice, what they emit is
  held and let go step by step (_HeldOutputs).

Live differs where connections deliver out of time order (across connections, live order is
arrival order), where a sample arrives later than the watermark grace, where the runtime's
clock stamps finer than the historian's microseconds, and where the store lost samples.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

import numpy as np

from runtime.contracts import (
    Event,
    LineMode,
    Problem,
    Sample,
    ValidationFailed,
    WriteRequest,
)
from runtime.engine.context import CaptureSink
from runtime.engine.engine import Engine, ModelRunner
from runtime.engine.graph import CompiledFlow, Deliver, Tap
from runtime.engine.traces import Traces
from runtime.registry import NodeRegistry

log = logging.getLogger(__name__)

Columns = tuple[np.ndarray, list[Any], np.ndarray]  # ts (float64), values, quality (int)
DEFAULT_SLICE_S = 600.0


class History(Protocol):
    """Recorded samples by tag: the Store, or MemoryHistory."""

    def history_columns(self, tag: str, start: float, end: float) -> Columns:
        """The tag's samples with start <= ts < end, oldest first, as columns."""


@dataclass(frozen=True)
class BacktestResult:
    """What a flow would have done over [start, end): its events (alarms raised and cleared,
    writes, refusals, line-mode changes) and write requests in time order, stamped with the
    data's timestamps; how many samples were replayed, and how long it took."""

    flow_id: str
    start: float
    end: float
    events: list[Event]
    writes: list[WriteRequest]
    line_modes: list[str]
    samples: int
    elapsed_s: float
    read_s: float
    errors: int = 0
    traces: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    """With `trace_width`: each node output ("node:port") as buckets (columns) for a plot."""

    @property
    def alarm_events(self) -> list[Event]:
        """The alarm raises and clears."""
        return [e for e in self.events if e.kind.startswith("alarm.")]


@dataclass(frozen=True)
class LiveTiming:
    """How the live runtime advances the watermark: every `step_s` of its clock, to the
    clock minus `lag_s` (Runtime.ADVANCE_INTERVAL_S and WATERMARK_GRACE_S). A replay follows
    it in data time where what grid nodes emit meets samples of tags, so those nodes see the
    two in the order they see them live."""

    step_s: float = 0.25
    lag_s: float = 1.0


class _Clock:
    """The replay's clock: the time of the data delivered so far."""

    __slots__ = ("now",)

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _ReplaySink(CaptureSink):
    """Captures like CaptureSink and, as the live runtime does, applies a rule's line mode
    at once, so the flow's later writes see it."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: Engine | None = None

    def line_mode(self, mode: str, event: Event) -> None:
        super().line_mode(mode, event)
        if self.engine is not None:
            self.engine.line_mode = mode


# -- the public functions -------------------------------------------------------------------


def backtest(project_doc: dict[str, Any], flow_id: str, history: History, start: float,
             end: float, overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
             registry: NodeRegistry, inference: ModelRunner | None = None,
             line_mode: str = LineMode.AUTOMATIC, slice_s: float = DEFAULT_SLICE_S,
             timing: LiveTiming = LiveTiming(), trace_width: int = 0,
             progress: Callable[[float], None] | None = None) -> BacktestResult:
    """Replay flow `flow_id` of a project over the history of [start, end).

    `overrides` maps node id to changed parameters ({"hyst": {"on_above": 75}}); the
    changed flow is validated like a deploy: ValidationFailed names the path of every
    problem (an unknown flow or node, a bad value). Node state starts fresh and alarms
    start normal: start where the state you compare with started.

    With `trace_width`, the result holds every node output downsampled to that many
    buckets. `progress` gets the fraction done after each slice; what it raises ends the
    backtest (a way to cancel it).
    """
    if not slice_s > 0:
        raise ValueError(f"slice_s must be > 0, got {slice_s}")
    started = time.perf_counter()
    replay = _Replay(project_doc, flow_id, overrides, registry, inference, line_mode)
    traces = Traces(replay.compiled, registry) if trace_width > 0 else None
    columns = {tag: history.history_columns(tag, start, end) for tag in replay.tags}
    read_s = time.perf_counter() - started
    samples = replay.run(columns, end, slice_s, timing, progress)
    result = replay.result(start, end, samples, time.perf_counter() - started, read_s)
    if traces is None:
        return result
    return dataclasses.replace(result, traces=traces.downsampled(start, end, trace_width))


def backtest_samples(project_doc: dict[str, Any], flow_id: str,
                     samples_by_tag: Mapping[str, Sequence[Sample] | Columns],
                     start: float = -math.inf, end: float = math.inf,
                     overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                     registry: NodeRegistry, inference: ModelRunner | None = None,
                     line_mode: str = LineMode.AUTOMATIC,
                     slice_s: float = DEFAULT_SLICE_S,
                     timing: LiveTiming = LiveTiming()) -> BacktestResult:
    """backtest() over samples in memory: per tag a list of Samples or (ts, values, quality)
    columns. Open bounds cover all the data."""
    return backtest(project_doc, flow_id, MemoryHistory(samples_by_tag), start, end,
                    overrides, registry=registry, inference=inference, line_mode=line_mode,
                    slice_s=slice_s, timing=timing)


class MemoryHistory:
    """Samples held in memory, read like the Store's history_columns."""

    def __init__(self, samples_by_tag: Mapping[str, Sequence[Sample] | Columns]) -> None:
        self._columns = {tag: _as_columns(data) for tag, data in samples_by_tag.items()}

    def history_columns(self, tag: str, start: float, end: float) -> Columns:
        """The tag's samples with start <= ts < end."""
        ts, values, quality = self._columns.get(tag) or _EMPTY
        a, b = np.searchsorted(ts, [start, end], side="left").tolist()
        return ts[a:b], values[a:b], quality[a:b]


class CachedHistory:
    """Keeps what it read, so backtests of one window with other parameters (a slider in the
    HMI) read the store once."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._cache: dict[tuple[str, float, float], Columns] = {}

    def history_columns(self, tag: str, start: float, end: float) -> Columns:
        """The tag's samples with start <= ts < end, read once per (tag, start, end)."""
        key = (tag, start, end)
        if key not in self._cache:
            self._cache[key] = self._history.history_columns(tag, start, end)
        return self._cache[key]


_EMPTY: Columns = (np.empty(0, dtype=np.float64), [], np.empty(0, dtype=np.int64))


def _as_columns(data: Sequence[Sample] | Columns) -> Columns:
    if isinstance(data, tuple) and len(data) == 3 and not isinstance(data[0], Sample):
        ts = np.asarray(data[0], dtype=np.float64)
        values = list(data[1])
        quality = np.asarray(data[2], dtype=np.int64)
    else:
        ts = np.array([s.ts for s in data], dtype=np.float64)
        values = [s.value for s in data]
        quality = np.array([s.quality for s in data], dtype=np.int64)
    if not len(ts) == len(values) == len(quality):
        raise ValueError("ts, values and quality must have the same length")
    if len(ts) > 1 and np.any(ts[1:] < ts[:-1]):
        order = np.argsort(ts, kind="stable")
        ts, quality = ts[order], quality[order]
        values = [values[i] for i in order.tolist()]
    return ts, values, quality


# -- building the copy ----------------------------------------------------------------------


class _Replay:
    """One flow copied into an engine of its own, and the tags it reads in merge groups."""

    def __init__(self, doc: dict[str, Any], flow_id: str,
                 overrides: Mapping[str, Mapping[str, Any]] | None, registry: NodeRegistry,
                 inference: ModelRunner | None, line_mode: str) -> None:
        if line_mode not in LineMode.ALL:
            raise ValueError(f"unknown line mode '{line_mode}'; use automatic or manual")
        self.flow_id = flow_id
        self.clock = _Clock(-math.inf)
        self.sink = _ReplaySink()
        self.engine = Engine(registry, self.sink, clock=self.clock, line_mode=line_mode,
                             inference=inference)
        self.sink.engine = self.engine
        copy_doc, paths = _flow_copy(doc, flow_id, overrides or {})
        try:
            self.engine.deploy(copy_doc)
        except ValidationFailed as exc:
            raise ValidationFailed([Problem(paths(p.path), p.message)
                                    for p in exc.problems]) from None
        self.compiled: CompiledFlow = self.engine.flows[flow_id]
        rank = {t["id"]: i for i, t in enumerate(doc["tags"])}
        plan = _merge_groups(self.compiled, registry, rank)
        self.groups, self.timed = plan.groups, plan.timed
        # What grid nodes emit towards the timed group is held and let go step by step,
        # unless tags of that group feed grid nodes too: then the engine advances each step.
        self.held = (_HeldOutputs(self.engine, self.compiled, plan.free)
                     if plan.timed is not None and not plan.timed_feeds_free else None)
        self.tags = [tag for group in (*self.groups, self.timed or []) for tag in group]
        self.rank = {tag: rank.get(tag, len(rank)) for tag in self.tags}
        self.watermark = -math.inf

    def run(self, columns: Mapping[str, Columns], end: float, slice_s: float,
            timing: LiveTiming, progress: Callable[[float], None] | None = None) -> int:
        """Feed the samples slice by slice, advancing the watermark as live; the number of
        samples."""
        all_ts = np.concatenate([np.empty(0), *(c[0] for c in columns.values())])
        if not len(all_ts):
            if math.isfinite(end):
                self._advance(end)
            return 0
        # Slices start at the first sample; only slices holding samples are visited.
        begin = float(all_ts.min())
        finish = end if math.isfinite(end) else float(np.nextafter(all_ts.max(), math.inf))
        filled = np.unique((all_ts - begin) // slice_s)
        edges = [e for e in (begin + (filled + 1) * slice_s).tolist() if e < finish]
        edges.append(finish)
        streams = [_Stream(group, [columns[t] for t in group], edges) for group in self.groups]
        timed = (None if self.timed is None else
                 _Stream(self.timed, [columns[t] for t in self.timed], edges, timing))
        ingest, clock, rank, held = self.engine.ingest_columns, self.clock, self.rank, self.held
        for k, edge in enumerate(edges):
            watermark = edge if edge == finish else edge - timing.lag_s
            # Each group's runs of the slice go together, groups in the order of their first
            # sample: so every node's first sample is the earliest it would see live. Tags
            # meeting grid output go run by run, the watermark (or what grid nodes emitted,
            # held) advanced before each as live.
            due = sorted((s.first(k, rank), i, s) for i, s in enumerate(streams) if s.has(k))
            if timed is not None and held is not None:
                for _, _, stream in due:
                    stream.dispatch(k, ingest, clock)
                due = []
                self._advance(watermark)
                for j in timed.runs(k):
                    held.release(timed.run_watermark[j])
                    timed.dispatch_run(j, ingest, clock)
                held.release(watermark)
            elif timed is not None:
                for j in timed.runs(k):
                    while due and due[0][0] <= timed.run_key(j, rank):
                        due.pop(0)[2].dispatch(k, ingest, clock)
                    self._advance(timed.run_watermark[j])
                    timed.dispatch_run(j, ingest, clock)
            for _, _, stream in due:
                stream.dispatch(k, ingest, clock)
            self._advance(watermark)
            if progress is not None:
                progress((edge - begin) / (finish - begin) if finish > begin else 1.0)
        return sum(len(c[0]) for c in columns.values())

    def _advance(self, watermark: float) -> None:
        if watermark > self.watermark:
            self.watermark = self.clock.now = watermark
            self.engine.advance(watermark)

    def result(self, start: float, end: float, samples: int, elapsed_s: float,
               read_s: float) -> BacktestResult:
        sink = self.compiled.sink
        assert isinstance(sink, CaptureSink)
        events = sorted(sink.events, key=attrgetter("ts"))
        writes = sorted(sink.writes, key=attrgetter("ts"))
        log.info("backtest.done flow=%s samples=%d events=%d writes=%d read_s=%.3f "
                 "elapsed_s=%.3f", self.flow_id, samples, len(events), len(writes), read_s,
                 elapsed_s)
        return BacktestResult(self.flow_id, start, end, events, writes, list(sink.modes),
                              samples, elapsed_s, read_s, self.compiled.errors)


def _flow_copy(doc: dict[str, Any], flow_id: str, overrides: Mapping[str, Mapping[str, Any]]
               ) -> tuple[dict[str, Any], Callable[[str], str]]:
    """A project holding only the flow (enabled, overrides applied) and the tags and
    connections it names; and a function mapping a problem's path back to the document."""
    flows = doc.get("flows") if isinstance(doc, dict) else None
    if not isinstance(flows, list):
        raise ValidationFailed([Problem("$.flows", "the project has no list of flows")])
    index = next((i for i, f in enumerate(flows) if isinstance(f, dict)
                  and f.get("id") == flow_id), None)
    if index is None:
        known = ", ".join(str(f.get("id")) for f in flows if isinstance(f, dict)) or "none"
        raise ValidationFailed([Problem("$.flows", f"no flow '{flow_id}' in the project; "
                                                   f"its flows: {known}")])
    flow = changed_flow(flows[index], overrides, f"$.flows[{index}]")
    flow["enabled"] = True
    tags = doc.get("tags", [])
    named = set(_strings(flow.get("nodes", [])))
    tag_index = [i for i, t in enumerate(tags) if isinstance(t, dict) and t.get("id") in named]
    used_connections = {tags[i].get("connection") for i in tag_index}
    connections = doc.get("connections", [])
    conn_index = [i for i, c in enumerate(connections)
                  if isinstance(c, dict) and c.get("id") in used_connections]
    # The assets are display hints over all the tags; the copy holds only some of them.
    copy_doc = {k: v for k, v in doc.items()
                if k not in ("flows", "tags", "connections", "assets")}
    copy_doc.update(flows=[flow], tags=[copy.deepcopy(tags[i]) for i in tag_index],
                    connections=[copy.deepcopy(connections[i]) for i in conn_index])
    back = {"flows": [index], "tags": tag_index, "connections": conn_index}

    def path_in_document(path: str) -> str:
        match = re.match(r"^\$\.(flows|tags|connections)\[(\d+)\]", path)
        if match is None or int(match[2]) >= len(back[match[1]]):
            return path
        return f"$.{match[1]}[{back[match[1]][int(match[2])]}]" + path[match.end():]

    return copy_doc, path_in_document


def changed_flow(flow: dict[str, Any], overrides: Mapping[str, Mapping[str, Any]],
                 path: str) -> dict[str, Any]:
    """A copy of a flow (at JSON path `path`) with some nodes' parameters changed:
    `overrides` maps node id to changed parameters. ValidationFailed names every node the
    flow lacks and every change that is not a mapping; the values are checked by the
    project's validation, not here."""
    flow = copy.deepcopy(flow)
    problems = []
    nodes = {n.get("id"): n for n in flow.get("nodes", []) if isinstance(n, dict)}
    for node_id, params in overrides.items():
        if node_id not in nodes:
            problems.append(Problem(f"{path}.nodes", f"flow '{flow.get('id')}' has no node "
                                                     f"'{node_id}' to change"))
        elif not isinstance(params, Mapping):
            problems.append(Problem(f"{path}.nodes", f"the changes of node '{node_id}' "
                                                     "must map parameter names to values"))
        else:
            nodes[node_id].setdefault("params", {}).update(copy.deepcopy(dict(params)))
    if problems:
        raise ValidationFailed(problems)
    return flow


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON value: the tag ids a flow's parameters may name."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class _Plan:
    """How to feed a flow: groups of tags merged in time order; apart, the group of tags
    that meet what grid nodes emit (None if none); the order-free nodes; and whether a tag
    of the timed group also feeds an order-free node."""

    groups: list[list[str]]
    timed: list[str] | None
    free: frozenset[str]
    timed_feeds_free: bool


def _merge_groups(compiled: CompiledFlow, registry: NodeRegistry,
                  rank: Mapping[str, int]) -> _Plan:
    """Which tags to read and how their samples must be merged (see _Plan)."""
    parent: dict[Any, Any] = {}

    def find(x: Any) -> Any:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: Any, b: Any) -> None:
        parent[find(a)] = find(b)

    nodes = compiled.nodes
    free = {nid for nid, node in nodes.items()
            if getattr(node, "order_free", hasattr(node, "on_advance"))}
    timed: list[Any] = []
    for wire in compiled.flow.wires:
        if wire.source not in free and wire.target not in free:
            join(("node", wire.source), ("node", wire.target))
        elif wire.source in free and wire.target not in free:
            timed.append(("node", wire.target))
    tags: list[str] = []
    feeds_free: set[str] = set()
    for tag, node_id in compiled.sources:
        tags.append(tag)
        if node_id not in free:
            join(("tag", tag), ("node", node_id))
        else:
            find(("tag", tag))
            feeds_free.add(tag)
    actions = [n for n in compiled.flow.nodes if registry.spec(n.type).role == "action"]
    for node in actions:
        join(("node", node.id), ("node", actions[0].id))
        for param in registry.spec(node.type).params:
            written = node.params.get(param.name)
            if param.type == "writable_tag" and isinstance(written, str):
                tags.append(written)
                join(("tag", written), ("node", node.id))
    timed_roots = {find(x) for x in timed}
    groups: dict[Any, list[str]] = {}
    for tag in sorted(set(tags), key=lambda t: (rank.get(t, len(rank)), t)):
        root = find(("tag", tag))
        groups.setdefault("timed" if root in timed_roots else root, []).append(tag)
    timed_group = groups.pop("timed", None)
    return _Plan(list(groups.values()), timed_group, frozenset(free),
                 bool(feeds_free & set(timed_group or ())))


# -- feeding --------------------------------------------------------------------------------


class _HeldOutputs:
    """What order-free (grid) nodes emit towards other nodes, held back when the engine
    advances once per slice and let go as the live watermark would have passed each grid
    time: the receiving nodes see it in the same order as with an advance at every step,
    at the cost of one evaluation per slice. Uses the compiled flow's output taps."""

    def __init__(self, engine: Engine, compiled: CompiledFlow, free: frozenset[str]) -> None:
        self._engine = engine
        self._flow_id = compiled.flow.id
        self._order: list[tuple[str, str]] = []  # (node, port), in the order first emitted
        self._queues: dict[tuple[str, str], deque[tuple[list[float], list[Any], list[int]]]] = {}
        self._deliver: dict[tuple[str, str], Deliver] = {}
        for (node_id, port), targets in sorted(compiled.wiring.items()):
            onward = {target for target, _ in targets if target not in free}
            if node_id in free and onward:
                compiled.tap(node_id, port, self._holder((node_id, port)), only_to=onward)

    def _holder(self, key: tuple[str, str]) -> Tap:
        def hold(deliver: Deliver, ts: list[float], values: list[Any],
                 quality: list[int]) -> None:
            if key not in self._queues:
                self._order.append(key)
                self._queues[key] = deque()
                self._deliver[key] = deliver
            if ts:
                self._queues[key].append((ts, values, quality))
        return hold

    def release(self, watermark: float) -> None:
        """Deliver what was emitted for times up to the watermark, port by port."""
        for key in self._order:
            queue = self._queues[key]
            while queue:
                ts, values, quality = queue[0]
                n = bisect_right(ts, watermark)
                if n == 0:
                    break
                partial = n < len(ts)
                if partial:
                    queue[0] = (ts[n:], values[n:], quality[n:])
                    ts, values, quality = ts[:n], values[:n], quality[:n]
                else:
                    queue.popleft()
                try:
                    self._deliver[key](ts, values, quality)
                except Exception as exc:
                    self._engine.flow_failed(self._flow_id, exc, f"node={key[0]}")
                if partial:
                    break


@dataclass
class _Stream:
    """The samples of one merge group in time order, cut into runs of one tag that also end
    at every slice edge, and with `timing`, at every live advance step."""

    tags: list[str]
    columns: list[Columns]
    edges: list[float]
    timing: LiveTiming | None = None
    ts: list[float] = field(init=False)
    values: list[Any] = field(init=False)
    quality: list[int] = field(init=False)
    cuts: list[int] = field(init=False)
    run_tag: list[str] = field(init=False)
    run_watermark: list[float] = field(init=False)
    slice_at: list[int] = field(init=False)

    def __post_init__(self) -> None:
        if len(self.tags) == 1:
            ts, values, quality = self.columns[0]
            which = np.zeros(len(ts), dtype=np.int64)
        else:
            ts_all = np.concatenate([c[0] for c in self.columns])
            order = np.argsort(ts_all, kind="stable")  # ties: in the order of self.tags
            ts = ts_all[order]
            which = np.repeat(np.arange(len(self.tags)), [len(c[0]) for c in self.columns])
            which = which[order]
            values_all = np.empty(len(ts), dtype=object)
            values_all[:] = [v for c in self.columns for v in c[1]]
            values = values_all[order].tolist()
            quality = np.concatenate([c[2] for c in self.columns])[order]
        n = len(ts)
        breaks = [np.array([0, n]), np.flatnonzero(which[1:] != which[:-1]) + 1]
        if self.timing is not None:
            steps = np.floor(np.asarray(ts) / self.timing.step_s)
            breaks.append(np.flatnonzero(steps[1:] != steps[:-1]) + 1)
        edge_at = np.searchsorted(ts, np.asarray(self.edges), side="left")
        cuts = np.unique(np.concatenate([*breaks, edge_at]))
        self.ts = np.asarray(ts).tolist()
        self.values = list(values)
        self.quality = np.asarray(quality).tolist()
        self.cuts = cuts.tolist()
        self.run_tag = [self.tags[i] for i in which[cuts[:-1]].tolist()] if n else []
        self.run_watermark = [] if self.timing is None or not n else (
            steps[cuts[:-1]] * self.timing.step_s - self.timing.lag_s).tolist()
        # slice k holds the runs j with slice_at[k] <= j < slice_at[k + 1]
        self.slice_at = [0, *np.searchsorted(cuts, edge_at).tolist()]

    def has(self, k: int) -> bool:
        """Whether slice k holds samples of this group."""
        return self.slice_at[k + 1] > self.slice_at[k]

    def runs(self, k: int) -> range:
        """The runs of slice k."""
        return range(self.slice_at[k], self.slice_at[k + 1])

    def run_key(self, j: int, rank: Mapping[str, int]) -> tuple[float, int]:
        """Where run j falls in the time order of all samples: (its first ts, tag rank)."""
        return self.ts[self.cuts[j]], rank[self.run_tag[j]]

    def first(self, k: int, rank: Mapping[str, int]) -> tuple[float, int]:
        """The run_key of the first run of slice k."""
        return self.run_key(self.slice_at[k], rank)

    def dispatch(self, k: int, ingest: Callable[..., None], clock: _Clock) -> None:
        """Deliver the runs of slice k."""
        ts, values, quality, cuts, run_tag = (self.ts, self.values, self.quality, self.cuts,
                                              self.run_tag)
        for j in range(self.slice_at[k], self.slice_at[k + 1]):
            lo, hi = cuts[j], cuts[j + 1]
            clock.now = ts[hi - 1]
            ingest(run_tag[j], ts[lo:hi], values[lo:hi], quality[lo:hi])

    def dispatch_run(self, j: int, ingest: Callable[..., None], clock: _Clock) -> None:
        """Deliver run j."""
        lo, hi = self.cuts[j], self.cuts[j + 1]
        clock.now = self.ts[hi - 1]
        ingest(self.run_tag[j], self.ts[lo:hi], self.values[lo:hi], self.quality[lo:hi])
