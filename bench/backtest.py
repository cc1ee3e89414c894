"""Backtests over a day of history, as the HMI's rules page runs them behind a slider.

A fresh Store gets 24 h of the demo plant at 1 Hz (not timed): ten tags of the demo project
simulated by the pump physics (bearing wear in the last quarter, so rules fire), every tag
a sample every second (the worst case: no report by exception), 864,000 samples.
Then, timed, best of ctx.repeats:

- `ai.backtest_864k_s`: history read + replay of the demo's health flow (p101_health, an
  ONNX model over five tags joined with P101.running; before it exists, the foundation's
  flows one after the other), goal ≤ 2 s;
- `ai.backtest_samples_per_s`: samples that backtest replayed per second;
- `ai.backtest_read_s`: the history read within it;
- `ai.backtest_cached_s`: the same backtest with the history already read (the slider's
  second move: CachedHistory);
- `ai.backtest_wide_864k_s`: a flow reading all ten tags (each its own alarm rule), so every
  one of the 864,000 samples is replayed.

Every run must give the same events as the first, and the health flow must raise its alarm.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import Context, Metric, WrongResults, pinned_to_cpu
from runtime.engine.replay import BacktestResult, CachedHistory, backtest
from runtime.registry import NodeRegistry
from runtime.sim.model import PumpLineModel
from runtime.store import Store, StoreConfig

NAME = "ai.backtest"
HEALTH_FLOW = "p101_health"
DAY_S = 86_400
METRICS = (
    Metric("ai.backtest_864k_s", "s", at_most=2.0),
    Metric("ai.backtest_samples_per_s", "samples/s"),
    Metric("ai.backtest_read_s", "s"),
    Metric("ai.backtest_cached_s", "s"),
    Metric("ai.backtest_wide_864k_s", "s", at_most=2.0),
)
RATIOS = ()

# Ten tags of the demo project at 1 Hz and the simulator signals behind them; the VFD
# setpoint, which the flows write, gets its one value at the start.
SIGNALS = {
    "P101.vibration": "P101.Vibration", "P101.bearing_temp": "P101.BearingTemp",
    "P101.motor_current": "P101.MotorCurrent", "P101.flow": "P101.Flow",
    "P101.discharge_pressure": "P101.DischargePressure", "P101.running": "P101.Running",
    "VFD.speed": "VFD.Speed", "VFD.current": "VFD.MotorCurrent", "VFD.energy": "VFD.Energy",
    "VFD.drive_temp": "VFD.DriveTemp",
}
WEAR_FROM = 0.75  # of the recording
WEAR_AT_END = 0.3  # severity, well past what the health model flags


def demo_project(repo: Path) -> dict[str, Any]:
    """The demo project document."""
    return json.loads((repo / "resources" / "demo" / "project.json").read_text())


def flows_to_run(doc: dict[str, Any]) -> list[str]:
    """The health flow when the demo has it, else every flow of the foundation."""
    ids = [f["id"] for f in doc["flows"]]
    return [HEALTH_FLOW] if HEALTH_FLOW in ids else ids


def wide_project(doc: dict[str, Any]) -> dict[str, Any]:
    """The demo project with one more flow: an alarm rule on each of the ten tags."""
    doc = copy.deepcopy(doc)
    nodes, wires = [], []
    for i, tag in enumerate(SIGNALS):
        nodes += [{"id": f"src{i}", "type": "source.tag", "params": {"tag": tag}},
                  {"id": f"high{i}", "type": "logic.compare",
                   "params": {"op": ">", "threshold": 1e9}},
                  {"id": f"alarm{i}", "type": "alarm", "params": {"message": f"{tag} high"}}]
        wires += [{"from": f"src{i}:out", "to": f"high{i}:in"},
                  {"from": f"high{i}:out", "to": f"alarm{i}:in"}]
    doc["flows"].append({"id": "wide", "nodes": nodes, "wires": wires})
    return doc


def simulated(end: float, seconds: int) -> dict[str, tuple[np.ndarray, list[Any]]]:
    """The pump physics at 1 Hz for `seconds` up to `end`: per tag, timestamps and values."""
    model = PumpLineModel(seed=7)
    ts = end - seconds + np.arange(seconds, dtype=np.float64)
    values: dict[str, list[Any]] = {tag: [] for tag in SIGNALS}
    wear_from = int(seconds * WEAR_FROM)
    for i in range(seconds):
        if i == wear_from:
            model.inject("bearing_wear", rate=WEAR_AT_END / (seconds - wear_from))
        model.step(1.0)
        readings = model.readings()
        for tag, signal in SIGNALS.items():
            reading = readings[signal]
            values[tag].append(getattr(reading, "value", reading))
    return {tag: (ts, vals) for tag, vals in values.items()}


def fill(store: Store, day: dict[str, tuple[np.ndarray, list[Any]]], chunk: int = 20_000
         ) -> int:
    """Write the day into the store (waiting whenever its backlog is full), committed; the
    count."""
    count = 0
    for tag, (ts, values) in day.items():
        for a in range(0, len(ts), chunk):
            while not store.append_columns(tag, ts[a:a + chunk], values[a:a + chunk]):
                store.flush_future().result()
            count += len(ts[a:a + chunk])
    store.flush_future().result()
    return count


def model_runner(doc: dict[str, Any], flow_ids: list[str]):
    """ModelSessions with the shipped models loaded, when a flow uses a model; else None."""
    flows = [f for f in doc["flows"] if f["id"] in flow_ids]
    if not any(n["type"] == "ai.onnx" for f in flows for n in f["nodes"]):
        return None
    from runtime.ai import ModelSessions, builtin_models

    sessions = ModelSessions(intra_op_threads=1)
    for model in builtin_models():
        sessions.load(model.info, model.path)
    return sessions


def events_of(results: list[BacktestResult]) -> list[tuple[Any, ...]]:
    """What the results must agree on from run to run."""
    return [(r.flow_id, e.kind, e.ts, json.dumps(e.data, sort_keys=True, default=str))
            for r in results for e in r.events]


def run(ctx: Context) -> dict[str, float]:
    """A day in a store, then the backtests timed."""
    return measure(ctx, DAY_S)


def measure(ctx: Context, seconds: int) -> dict[str, float]:
    """Fill a store with `seconds` of the plant, then time the backtests."""
    doc = wide_project(demo_project(ctx.repo))
    flow_ids = flows_to_run(demo_project(ctx.repo))
    registry = NodeRegistry.with_builtins()
    inference = model_runner(doc, flow_ids)
    end = float(int(time.time()))
    start = end - seconds
    config = StoreConfig(forward_samples=False, forward_events=False)
    day = simulated(end, seconds)
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp, \
            Store(Path(tmp) / "day.db", config) as store, pinned_to_cpu(ctx.cpu):
        total = fill(store, day)
        store.append_columns("VFD.speed_sp", [start], [50.0])
        store.flush_future().result()
        ctx.note(NAME, f"{total:,} samples of {len(SIGNALS)} tags stored; flows: "
                       f"{', '.join(flow_ids)}")

        def backtests(history) -> tuple[float, list[BacktestResult]]:
            began = time.perf_counter()
            results = [backtest(doc, f, history, start, end, registry=registry,
                                inference=inference) for f in flow_ids]
            return time.perf_counter() - began, results

        best: tuple[float, list[BacktestResult]] | None = None
        first_events: list[tuple[Any, ...]] | None = None
        cached_best = wide_best = float("inf")
        for i in range(ctx.repeats):
            elapsed, results = backtests(store)
            events = events_of(results)
            if first_events is None:
                first_events = events
                check_first(flow_ids, results)
            elif events != first_events:
                raise WrongResults("backtest: a repeated run gave other events")
            if best is None or elapsed < best[0]:
                best = (elapsed, results)
            cache = CachedHistory(store)
            backtests(cache)
            cached_s, cached = backtests(cache)
            if events_of(cached) != first_events:
                raise WrongResults("backtest: the cached history gave other events")
            cached_best = min(cached_best, cached_s)
            wide = backtest(doc, "wide", store, start, end, registry=registry)
            if wide.samples != total or wide.events:
                raise WrongResults(f"wide backtest: {wide.samples} samples, "
                                   f"{len(wide.events)} events")
            wide_best = min(wide_best, wide.elapsed_s)
            ctx.note(NAME, f"run {i + 1}/{ctx.repeats}: {elapsed:.3f} s "
                           f"(read {sum(r.read_s for r in results):.3f} s, "
                           f"{sum(r.samples for r in results):,} samples, "
                           f"{sum(len(r.events) for r in results)} events); cached "
                           f"{cached_s:.3f} s; wide {wide.elapsed_s:.3f} s")
    assert best is not None
    elapsed, results = best
    samples = sum(r.samples for r in results)
    return {
        "ai.backtest_864k_s": round(elapsed, 3),
        "ai.backtest_samples_per_s": round(samples / elapsed),
        "ai.backtest_read_s": round(sum(r.read_s for r in results), 3),
        "ai.backtest_cached_s": round(cached_best, 3),
        "ai.backtest_wide_864k_s": round(wide_best, 3),
    }


def check_first(flow_ids: list[str], results: list[BacktestResult]) -> None:
    """The health flow raises its alarm during the wear; no flow fails."""
    for result in results:
        if result.errors:
            raise WrongResults(f"backtest of {result.flow_id}: {result.errors} node errors")
    if flow_ids == [HEALTH_FLOW] and not results[0].alarm_events:
        raise WrongResults("backtest of the health flow raised no alarm during the wear")
