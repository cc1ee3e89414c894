"""The store benchmark reports every metric, and its raw SQLite ceiling writes exactly what the
store writes for the same samples (its speed is not tested here)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bench import store as store_bench
from bench.harness import Context
from runtime.store.benchmark import measure_ingest, measure_raw_sqlite

N = 5_000


def test_the_store_benchmark_reports_every_metric_and_its_ratio(tmp_path):
    ctx = dataclasses.replace(Context.default(repeats=1), cache=tmp_path / "cache")
    results = store_bench.measure(ctx, N)
    assert set(results) == {m.name for m in store_bench.METRICS}
    assert all(value > 0 for value in results.values())
    [ratio] = [m for m in store_bench.METRICS if m.name == "store.ingest_vs_raw"]
    assert ratio.at_least == 0.7
    # one run: the median of one pair is that pair's ratio
    assert results["store.ingest_vs_raw"] == pytest.approx(
        results["store.ingest_samples_per_s"] / results["store.raw_sqlite_samples_per_s"],
        abs=0.001)


def _written(path: Path) -> tuple[list, list, list, int]:
    conn = sqlite3.connect(path)
    try:
        tags = conn.execute("SELECT key, tag, kind FROM tags ORDER BY key").fetchall()
        samples = conn.execute("SELECT * FROM samples ORDER BY tag_key, ts").fetchall()
        payloads = [p for (p,) in conn.execute("SELECT payload FROM outbox ORDER BY id")]
        next_seq = conn.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0]
    finally:
        conn.close()
    records = [r for p in payloads for r in p[1:-1].split(b"],[")]
    return tags, samples, records, next_seq


def test_the_raw_ceiling_writes_the_rows_the_store_writes(tmp_path):
    measure_ingest(tmp_path / "store.db", N, tags=50)
    measure_raw_sqlite(tmp_path / "raw.db", N, tags=50)
    store, raw = _written(tmp_path / "store.db"), _written(tmp_path / "raw.db")
    assert store[3] == raw[3] == N
    assert store[0] == raw[0] and store[1] == raw[1]
    assert store[2] == raw[2], "the outbox records, byte for byte"
