"""Ingest measurement for the bench: durable samples per second, the raw SQLite ceiling for
the same rows, and bytes per sample on disk.

    python -m runtime.store.benchmark [--samples N] [--tags N] [--columns]

measure_ingest times append -> committed (flush acknowledged) with the historian and the
outbox written in the same transactions, synchronous=FULL, default StoreConfig.
measure_raw_sqlite times the rows the store writes for those samples (historian rows, outbox
chunks with their JSON payloads, the sequence counter) inserted through plain sqlite3
executemany, one transaction per commit_rows samples, same pragmas, rows prepared before the
clock starts: what the store could reach if its Python cost were nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from runtime.contracts.messages import Sample
from runtime.store import historian, opening, outbox
from runtime.store.config import StoreConfig
from runtime.store.store import Store

T0 = 1_700_000_000.0


def bench_samples(n_samples: int, tags: int = 1000) -> list[Sample]:
    """`n_samples` (rounded down to whole rounds) over `tags` tags at 10 Hz, random floats."""
    rng = random.Random(1)
    names = [f"line1/unit{i // 50:02d}/tag{i:04d}.value" for i in range(tags)]
    per_tag = max(1, n_samples // tags)
    return [Sample(names[i % tags], T0 + (i // tags) * 0.1, rng.gauss(50.0, 10.0))
            for i in range(per_tag * tags)]


def _bench_config(config: StoreConfig | None) -> StoreConfig:
    return replace(config or StoreConfig(), retention_interval_s=3600.0,
                   outbox_max_age_s=10 * 365 * 86400.0)


def measure_ingest(path: str | Path, n_samples: int, *, tags: int = 1000, batch: int = 1000,
                   columns: bool = False, config: StoreConfig | None = None) -> float:
    """Durable ingest rate in samples/s: `n_samples` over `tags` tags (10 Hz each), queued in
    batches of `batch` (Sample objects, or per-tag columns with columns=True) until the last
    flush is acknowledged. The samples are built before the clock starts."""
    rng = random.Random(1)
    names = [f"line1/unit{i // 50:02d}/tag{i:04d}.value" for i in range(tags)]
    per_tag = max(1, n_samples // tags)
    work: list[tuple[str, list[float], list[float]]] | list[list[Sample]]
    if columns:
        work = [(name, [T0 + k * 0.1 for k in range(start, min(per_tag, start + batch))],
                 [rng.gauss(50.0, 10.0) for _ in range(start, min(per_tag, start + batch))])
                for start in range(0, per_tag, batch) for name in names]
    else:
        flat = bench_samples(n_samples, tags)
        work = [flat[i:i + batch] for i in range(0, len(flat), batch)]
    total = per_tag * tags
    with _frozen(), Store(path, _bench_config(config)) as store:
        started = time.perf_counter()
        for item in work:
            if isinstance(item, tuple):
                name, ts, values = item
                accepted = store.append_columns(name, ts, values)
            else:
                accepted = store.append_samples(item)
            while not accepted:  # backlog full: the bench waits instead of dropping
                store.flush_future().result()
                accepted = (store.append_columns(name, ts, values) if isinstance(item, tuple)
                            else store.append_samples(item))
        store.flush_future().result()
        elapsed = time.perf_counter() - started
    return total / elapsed


def measure_raw_sqlite(path: str | Path, n_samples: int, *, tags: int = 1000,
                       config: StoreConfig | None = None) -> float:
    """The ceiling for measure_ingest, in samples/s: the same samples' rows as the store
    writes them (see the module docstring) through plain sqlite3, prepared before the clock.

    The file ends up holding what the store would have written for those samples.
    """
    config = _bench_config(config)
    path = Path(path)
    opening.prepare(path)
    samples = bench_samples(n_samples, tags)
    registry = historian.TagRegistry([])
    transactions = []
    seq = 0
    for start in range(0, len(samples), config.commit_rows):
        buf = historian.SampleBuffer(registry)
        buf.add_samples(samples[start:start + config.commit_rows], {}, {})
        new_tags = list(registry.unsaved)
        registry.saved()
        chunk_rows = outbox.sample_rows(buf, seq, config.outbox_chunk_records, T0)
        seq += len(buf)
        transactions.append((new_tags, list(buf.rows()), chunk_rows, seq))
    del samples
    with contextlib.closing(opening.connect_writer(path, config.cache_mb)) as conn, _frozen():
        started = time.perf_counter()
        for new_tags, rows, chunk_rows, next_seq in transactions:
            conn.execute("BEGIN IMMEDIATE")
            if new_tags:
                conn.executemany("INSERT INTO tags (key, tag, kind) VALUES (?, ?, ?)", new_tags)
            conn.executemany(historian.INSERT_SQL, rows)
            conn.executemany(outbox.INSERT_SQL, chunk_rows)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (next_seq,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
    return seq / elapsed


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """Keep the collector off what the bench prepared before the clock (a million samples or
    their rows), as the runtime freezes what its start-up built (runtime.cli)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def bytes_per_sample(path: str | Path) -> float:
    """Bytes on disk per stored sample in the historian (the samples table's pages)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        try:
            size = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'samples'"
                                ).fetchone()[0]
        except sqlite3.OperationalError:  # no dbstat: the whole file, an upper bound
            size = Path(path).stat().st_size
        return (size or 0) / rows if rows else 0.0
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> None:
    """Print the ingest rate and bytes per sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--columns", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        rate = measure_ingest(path, args.samples, tags=args.tags, columns=args.columns)
        raw = measure_raw_sqlite(Path(tmp) / "raw.db", args.samples, tags=args.tags)
        print(f"ingest {'columns' if args.columns else 'samples'}: {rate:,.0f} samples/s; "
              f"raw sqlite3 {raw:,.0f} samples/s (ratio {rate / raw:.2f}); "
              f"{bytes_per_sample(path):.1f} bytes/sample; "
              f"file {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
