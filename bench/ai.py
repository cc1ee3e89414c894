"""AI inference with the demo model pump_health@1 in the runtime's ModelSessions (one
onnxruntime session, one intra-op thread, pinned to one CPU).

`ai.infer_p99_ms`: one `ModelSessions.run` call scoring one row, as a model node does live at
each grid time, timed call by call after a warm-up. `ai.infer_batched_rows_per_s`: rows per
second in batches of 1,000 rows, as a backtest replays history. Scores are checked against
the training script's numpy math (float64) first, so a wrong model gives no number.
"""

from __future__ import annotations

import gc
import time

import numpy as np

from bench.harness import Context, Metric, WrongResults, best_rate, pinned_to_cpu
from runtime.ai import ModelSessions, builtin_models

NAME = "ai"
KEY = "pump_health@1"
WARMUP = 2_000
CALLS = 20_000
BATCH = 1_000
BATCHES = 300
METRICS = (
    Metric("ai.infer_p50_ms", "ms"),
    Metric("ai.infer_p99_ms", "ms", at_most=0.5),
    Metric("ai.infer_batched_rows_per_s", "rows/s", at_least=200_000),
)
RATIOS = ()


def feature_rows() -> np.ndarray:
    """Healthy rows from 10 simulated minutes, then the same with bearing wear (float32)."""
    from resources.models import train_pump_health as train

    healthy = train.simulate(1, 600.0, train.speed_schedule(2, 600.0))
    worn = train.simulate(1, 1200.0, wear_rate=1e-3, wear_start_s=300.0)
    rows = np.concatenate([train.features_of(healthy)[1], train.features_of(worn)[1]])
    return rows.astype(np.float32)


def reference(rows: np.ndarray) -> np.ndarray:
    """The shipped graph's parameters run through the training script's numpy math."""
    import onnx
    from onnx import numpy_helper

    from resources.models import train_pump_health as train

    path = train.HERE / "pump_health-1.onnx"
    params = {t.name: numpy_helper.to_array(t).astype(np.float64)
              for t in onnx.load(str(path)).graph.initializer}
    model = train.PcaModel(params["mean"], params["inv_std"], params["components"],
                           float(params["inv_scale"]), ())
    return train.reference_score(model, rows.astype(np.float64))


def check(what: str, got: np.ndarray, expected: np.ndarray) -> None:
    """WrongResults unless the scores match the reference (float32 graph, float64 numpy)."""
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-6):
        raise WrongResults(f"{what}: scores differ from the numpy reference")


def latencies_ms(sessions: ModelSessions, rows: np.ndarray) -> np.ndarray:
    """Milliseconds of CALLS one-row calls, cycling through the rows."""
    singles = [rows[i:i + 1] for i in range(len(rows))]
    for i in range(WARMUP):
        sessions.run(KEY, singles[i % len(singles)])
    out = np.empty(CALLS)
    clock = time.perf_counter_ns
    gc.collect()
    for i in range(CALLS):
        row = singles[i % len(singles)]
        start = clock()
        sessions.run(KEY, row)
        out[i] = clock() - start
    return out / 1e6


def run(ctx: Context) -> dict[str, float]:
    """Best of ctx.repeats runs of each measurement."""
    rows = feature_rows()
    expected = reference(rows)
    batch = np.resize(rows, (BATCH, rows.shape[1]))
    batch_expected = np.resize(expected, BATCH)
    [demo] = builtin_models()
    with pinned_to_cpu(ctx.cpu), ModelSessions(intra_op_threads=1) as sessions:
        sessions.load(demo.info, demo.path)
        check("single rows", np.concatenate([sessions.run(KEY, rows[i:i + 1])["score"]
                                             for i in range(len(rows))]), expected)
        p50 = p99 = float("inf")
        for i in range(ctx.repeats):
            ms = latencies_ms(sessions, rows)
            p50, p99 = min(p50, float(np.percentile(ms, 50))), min(p99, float(np.percentile(ms,
                                                                                        99)))
            ctx.note(NAME, f"run {i + 1}/{ctx.repeats}: one row p50 {np.percentile(ms, 50):.4f} "
                           f"ms, p99 {np.percentile(ms, 99):.4f} ms")

        def prepare():
            def timed() -> np.ndarray:
                scores = None
                for _ in range(BATCHES):
                    scores = sessions.run(KEY, batch)["score"]
                return scores
            return timed

        rate = best_rate(BATCH * BATCHES, ctx.repeats, prepare,
                         lambda scores: check("batches", scores, batch_expected))
        ctx.note(NAME, f"batches of {BATCH:,} rows: {rate:,.0f} rows/s")
    return {
        "ai.infer_p50_ms": round(p50, 4),
        "ai.infer_p99_ms": round(p99, 4),
        "ai.infer_batched_rows_per_s": round(rate),
    }
