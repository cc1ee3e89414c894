"""Durable ingest into the store: historian and outbox in the same group-committed
transactions, synchronous=FULL, acknowledged once committed; and bytes per sample on disk.

`store.ingest_samples_per_s` feeds Sample objects, as the drivers deliver them;
`store.ingest_columns_per_s` feeds per-tag columns (the path a bulk import would take).
`store.raw_sqlite_samples_per_s` is the ceiling measured in the same run: the rows the store
writes for those samples (historian rows, outbox chunks with their JSON payloads) through
plain sqlite3 executemany, the same transactions and pragmas, prepared before the clock.
Absolute rates differ twofold between machines; `store.ingest_vs_raw` does not: it is the
median, over the runs, of each ingest run's rate over the raw run made right after it (pairs
see the same machine; a best-of-runs ratio would lean on the raw run's luckiest fsyncs).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.harness import Context, Metric
from runtime.store.benchmark import bytes_per_sample, measure_ingest, measure_raw_sqlite

NAME = "store"
SAMPLES = 1_000_000
METRICS = (
    Metric("store.ingest_samples_per_s", "samples/s", at_least=250_000),
    Metric("store.ingest_columns_per_s", "samples/s"),
    Metric("store.raw_sqlite_samples_per_s", "samples/s"),
    Metric("store.bytes_per_sample", "bytes"),
    Metric("store.ingest_vs_raw", "x", at_least=0.7),
)
RATIOS = ()


def run(ctx: Context) -> dict[str, float]:
    """Best of `ctx.repeats` runs of a million samples over 1,000 tags, each in a new file."""
    return measure(ctx, SAMPLES)


def measure(ctx: Context, samples: int) -> dict[str, float]:
    """Best of `ctx.repeats` runs of `samples` samples each way, interleaved so that the
    ingest and its raw ceiling see the same machine."""
    rates, raw_rates, column_rates = [], [], []
    size = 0.0
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        for i in range(ctx.repeats):
            path = Path(tmp) / f"objects{i}.db"
            rates.append(measure_ingest(path, samples))
            size = bytes_per_sample(path)
            raw_rates.append(measure_raw_sqlite(Path(tmp) / f"raw{i}.db", samples))
            column_rates.append(measure_ingest(Path(tmp) / f"columns{i}.db", samples,
                                               columns=True))
            ctx.note(NAME, f"run {i + 1}/{ctx.repeats}: {rates[-1]:,.0f} samples/s "
                           f"(raw sqlite3 {raw_rates[-1]:,.0f}, ratio "
                           f"{rates[-1] / raw_rates[-1]:.2f}; columns {column_rates[-1]:,.0f})")
    return {
        "store.ingest_samples_per_s": round(max(rates)),
        "store.ingest_columns_per_s": round(max(column_rates)),
        "store.raw_sqlite_samples_per_s": round(max(raw_rates)),
        "store.bytes_per_sample": round(size, 1),
        "store.ingest_vs_raw": round(statistics.median(
            rate / raw for rate, raw in zip(rates, raw_rates, strict=True)), 3),
    }
