"""Samples per second through the reference chain in the real engine, and its ceiling.

The chain is built from the engine's own nodes by deploying a project document, fed with
`Engine.ingest_columns` in batches of 500 (the Node-RED generator's chunk) and of one
(the per-message cost), and compared with the same chain hand-wired as plain objects.
Every measured run is checked against the reference counts; a wrong chain fails the bench.
Only the feeding is timed: the samples are made beforehand (Node-RED's rate includes its
generator node, which costs little next to its per-message work).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from bench import handwired_chain
from bench.harness import Context, Metric, Ratio, WrongResults, best_rate, pinned_to_cpu
from bench.reference_chain import (
    BATCH,
    COMPARE_THRESHOLD,
    IN_MAX,
    IN_MIN,
    OFF_BELOW,
    ON_ABOVE,
    OUT_MAX,
    OUT_MIN,
    TAG,
    ChainCounts,
    batches,
    check_counts,
    signal,
)
from runtime.contracts.nodespec import NodeSpec, PortSpec
from runtime.engine.engine import Engine
from runtime.nodes.base import Node
from runtime.registry import NodeRegistry

NAME = "engine"
METRICS = (
    Metric("engine.chain_samples_per_s", "samples/s", at_least=500_000),
    Metric("engine.chain_samples_per_s_batch1", "samples/s"),
    Metric("engine.handwired_chain_samples_per_s", "samples/s"),
)
RATIOS = (
    Ratio("engine / handwired", "engine.chain_samples_per_s",
          "engine.handwired_chain_samples_per_s", at_least=0.25),
    Ratio("engine batch 1 / handwired", "engine.chain_samples_per_s_batch1",
          "engine.handwired_chain_samples_per_s"),
)

FLOW = "chain"
SINK = "sink"
WARM_UP_SAMPLES = 20_000

COUNTING_SINK = NodeSpec(
    type="bench.count", title="Counting sink", category="bench",
    implementation="bench.engine_chain:CountingSink",
    description="Counts samples, samples with the alarm on and alarm state changes.",
    inputs=(PortSpec("in", "any"),),
)


class CountingSink(Node):
    """Counts what arrives; per batch the work is done in C (list.count, groupby)."""

    def setup(self, params: dict[str, Any]) -> None:
        self.samples = self.alarm_samples = self.transitions = 0
        self.last: Any = False

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        n = len(values)
        first = values[0]
        self.samples += n
        self.alarm_samples += values.count(True)
        if first != self.last:
            self.transitions += 1
        if n > 1 and values.count(first) != n:
            self.transitions += sum(1 for _ in groupby(values)) - 1
        self.last = values[-1]

    def counts(self) -> ChainCounts:
        """What was counted so far."""
        return ChainCounts(self.samples, self.alarm_samples, self.transitions)


def project() -> dict[str, Any]:
    """The reference chain as a lineside.project/1 document."""
    return {
        "schema": "lineside.project/1",
        "name": "bench",
        "connections": [{"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840"}],
        "tags": [{"id": TAG, "connection": "plc", "address": "ns=2;s=P101.Vibration",
                  "type": "float64"}],
        "flows": [{
            "id": FLOW,
            "nodes": [
                {"id": "src", "type": "source.tag", "params": {"tag": TAG}},
                {"id": "scale", "type": "math.scale",
                 "params": {"in_min": IN_MIN, "in_max": IN_MAX, "out_min": OUT_MIN,
                            "out_max": OUT_MAX}},
                {"id": "hyst", "type": "logic.hysteresis",
                 "params": {"on_above": ON_ABOVE, "off_below": OFF_BELOW}},
                {"id": "cmp", "type": "logic.compare",
                 "params": {"op": "==", "threshold": COMPARE_THRESHOLD}},
                {"id": SINK, "type": COUNTING_SINK.type},
            ],
            "wires": [
                {"from": "src:out", "to": "scale:in"},
                {"from": "scale:out", "to": "hyst:in"},
                {"from": "hyst:out", "to": "cmp:in"},
                {"from": "cmp:out", "to": f"{SINK}:in"},
            ],
        }],
    }


def registry() -> NodeRegistry:
    """The built-in node types plus the counting sink."""
    reg = NodeRegistry.with_builtins()
    reg.register(COUNTING_SINK)
    return reg


def deployed_engine(reg: NodeRegistry) -> tuple[Engine, CountingSink]:
    """A fresh engine running the reference chain, and its sink."""
    engine = Engine(reg)
    engine.deploy(project())
    return engine, engine.flows[FLOW].nodes[SINK]


def run_engine(reg: NodeRegistry, feed: list[tuple[list[float], list[float], list[int]]]
               ) -> ChainCounts:
    """Feed prepared batches through a fresh engine (untimed); what the sink counted."""
    engine, sink = deployed_engine(reg)
    _ingest(engine, sink, feed)()
    return _outcome(engine, sink)


def run_handwired(n: int) -> ChainCounts:
    """Feed N reference samples through a fresh hand-wired chain (untimed); its counts."""
    source, sink = handwired_chain.build()
    handwired_chain.feed(source, *signal(n))
    return sink.counts()


def run(ctx: Context) -> dict[str, float]:
    """Measure the engine with batches of 500 and of 1, and the hand-wired ceiling."""
    n, reg = ctx.samples, registry()
    feeds = {size: batches(n, size) for size in (BATCH, 1)}
    columns = signal(n)
    results: dict[str, float] = {}
    warm = min(n, WARM_UP_SAMPLES)
    with pinned_to_cpu(ctx.cpu):
        ctx.note(NAME, f"pinned to CPU {ctx.cpu}; warm-up")
        for size in (BATCH, 1):
            check_counts(f"engine (batch {size})", run_engine(reg, batches(warm, size)), warm)
        check_counts("hand-wired chain", run_handwired(warm), warm)
        for size, metric in ((BATCH, "engine.chain_samples_per_s"),
                             (1, "engine.chain_samples_per_s_batch1")):
            ctx.note(NAME, f"engine, batches of {size}: {n:,} samples, best of {ctx.repeats}")
            results[metric] = best_rate(
                n, ctx.repeats, lambda size=size: _ingest(*deployed_engine(reg), feeds[size]),
                lambda got, size=size: check_counts(f"engine (batch {size})", got, n))
        ctx.note(NAME, f"hand-wired chain: {n:,} samples, best of {ctx.repeats}")
        results["engine.handwired_chain_samples_per_s"] = best_rate(
            n, ctx.repeats, lambda: _push(columns),
            lambda got: check_counts("hand-wired chain", got, n))
    return results


def _ingest(engine: Engine, sink: CountingSink,
            feed: list[tuple[list[float], list[float], list[int]]]):
    """The timed part for the engine: only the ingest calls; returns the outcome."""
    ingest = engine.ingest_columns

    def timed() -> ChainCounts:
        for ts, values, quality in feed:
            ingest(TAG, ts, values, quality)
        return _outcome(engine, sink)

    return timed


def _push(columns: tuple[list[float], list[float], list[int]]):
    """The timed part for the hand-wired chain, on a fresh chain."""
    source, sink = handwired_chain.build()

    def timed() -> ChainCounts:
        handwired_chain.feed(source, *columns)
        return sink.counts()

    return timed


def _outcome(engine: Engine, sink: CountingSink) -> ChainCounts:
    """The sink's counts; raises if the engine swallowed node errors along the way."""
    errors = engine.flows[FLOW].errors
    if errors:
        raise WrongResults(f"engine flow '{FLOW}' raised {errors} node errors while measured "
                           "(see the log above)")
    return sink.counts()
