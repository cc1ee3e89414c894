"""Durable ingest into the store: historian and outbox in the same group-committed
transactions, synchronous=FULL, acknowledged once committed; and bytes per sample on disk.

`store.ingest_samples_per_s` feeds Sample objects, as the drivers deliver them;
`store.ingest_columns_per_s` feeds per-tag columns (the path a bulk import would take).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.harness import Context, Metric
from runtime.store.benchmark import bytes_per_sample, measure_ingest

NAME = "store"
SAMPLES = 1_000_000
METRICS = (
    Metric("store.ingest_samples_per_s", "samples/s", at_least=250_000),
    Metric("store.ingest_columns_per_s", "samples/s"),
    Metric("store.bytes_per_sample", "bytes"),
)
RATIOS = ()


def run(ctx: Context) -> dict[str, float]:
    """Best of `ctx.repeats` runs of a million samples over 1,000 tags, each in a new file."""
    rates, column_rates = [], []
    size = 0.0
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        for i in range(ctx.repeats):
            path = Path(tmp) / f"objects{i}.db"
            rates.append(measure_ingest(path, SAMPLES))
            size = bytes_per_sample(path)
            column_rates.append(measure_ingest(Path(tmp) / f"columns{i}.db", SAMPLES,
                                               columns=True))
            ctx.note(NAME, f"run {i + 1}/{ctx.repeats}: {rates[-1]:,.0f} samples/s "
                           f"(columns {column_rates[-1]:,.0f})")
    return {
        "store.ingest_samples_per_s": round(max(rates)),
        "store.ingest_columns_per_s": round(max(column_rates)),
        "store.bytes_per_sample": round(size, 1),
    }
