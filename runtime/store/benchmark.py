"""Ingest measurement for the bench: durable samples per second and bytes per sample on disk.

    python -m runtime.store.benchmark [--samples N] [--tags N] [--columns]

measure_ingest times append -> committed (flush acknowledged) with the historian and the
outbox written in the same transactions, synchronous=FULL, default StoreConfig.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from runtime.contracts.messages import Sample
from runtime.store.config import StoreConfig
from runtime.store.store import Store

T0 = 1_700_000_000.0


def measure_ingest(path: str | Path, n_samples: int, *, tags: int = 1000, batch: int = 1000,
                   columns: bool = False, config: StoreConfig | None = None) -> float:
    """Durable ingest rate in samples/s: `n_samples` over `tags` tags (10 Hz each), queued in
    batches of `batch` (Sample objects, or per-tag columns with columns=True) until the last
    flush is acknowledged. The samples are built before the clock starts."""
    rng = random.Random(1)
    names = [f"line1/unit{i // 50:02d}/tag{i:04d}.value" for i in range(tags)]
    per_tag = max(1, n_samples // tags)
    if columns:
        work = [(name, [T0 + k * 0.1 for k in range(start, min(per_tag, start + batch))],
                 [rng.gauss(50.0, 10.0) for _ in range(start, min(per_tag, start + batch))])
                for start in range(0, per_tag, batch) for name in names]
    else:
        flat = [Sample(names[i % tags], T0 + (i // tags) * 0.1, rng.gauss(50.0, 10.0))
                for i in range(per_tag * tags)]
        work = [flat[i:i + batch] for i in range(0, len(flat), batch)]
    total = per_tag * tags
    config = replace(config or StoreConfig(), retention_interval_s=3600.0,
                     outbox_max_age_s=10 * 365 * 86400.0)
    with Store(path, config) as store:
        started = time.perf_counter()
        for item in work:
            if columns:
                name, ts, values = item
                accepted = store.append_columns(name, ts, values)
            else:
                accepted = store.append_samples(item)
            while not accepted:  # backlog full: the bench waits instead of dropping
                store.flush_future().result()
                accepted = (store.append_columns(name, ts, values) if columns
                            else store.append_samples(item))
        store.flush_future().result()
        elapsed = time.perf_counter() - started
    return total / elapsed


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
        print(f"ingest {'columns' if args.columns else 'samples'}: {rate:,.0f} samples/s; "
              f"{bytes_per_sample(path):.1f} bytes/sample; "
              f"file {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
