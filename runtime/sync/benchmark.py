"""How fast the forwarder drains a backlog to a broker, for the bench runner.

`await measure_drain(store, host, port, n_records)` fills the outbox up to n_records samples
(through the store, as the runtime records them), starts a Forwarder and times it until the
outbox is empty: every record published at QoS 1, acknowledged by the broker and deleted
(committed). Goals: at least 200,000 samples/s to a local Mosquitto, and a backlog of
1,000,000 samples drained in at most 10 s.

`python -m runtime.sync.benchmark --port 1883 --records 1000000` runs it against a broker
with a temporary store.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime.sync.config import BrokerConfig
from runtime.sync.forwarder import Forwarder

GOAL_RECORDS_PER_S = 200_000
GOAL_BACKLOG_RECORDS = 1_000_000
GOAL_BACKLOG_S = 10.0

_TAGS = 10
_BATCH = 10_000
_POLL_S = 0.005


async def fill_outbox(store: Any, n_records: int, tags: int = _TAGS) -> None:
    """Record n_records samples (columns of `tags` tags, 1 kHz timestamps) and commit them."""
    start = time.time() - n_records / 1000.0
    done = 0
    while done < n_records:
        n = min(_BATCH, n_records - done)
        ts = [start + (done + i) / 1000.0 for i in range(n)]
        values = [float((done + i) % 1000) * 0.1 for i in range(n)]
        tag = f"BENCH.T{(done // _BATCH) % tags}"
        while not store.append_columns(tag, ts, values):
            await store.flush()  # the store's backlog is full: let it commit
        done += n
    await store.flush()


async def measure_drain(
    store: Any,
    broker_host: str,
    broker_port: int,
    n_records: int,
    **config: Any,
) -> float:
    """Records per second drained from a filled outbox to the broker (publish, PUBACK,
    delete committed). Extra keyword arguments are BrokerConfig settings."""
    have = store.outbox_stats().records
    if have < n_records:
        await fill_outbox(store, n_records - have)
    records = store.outbox_stats().records
    forwarder = Forwarder(
        store, BrokerConfig(host=broker_host, port=broker_port, **config), node_id="bench"
    )
    started = time.perf_counter()
    await forwarder.start()
    try:
        while store.outbox_stats().records > 0:
            status = forwarder.status()
            if status.broker_state == "unreachable":
                raise RuntimeError(f"broker unreachable: {status.last_error}")
            await asyncio.sleep(_POLL_S)
        elapsed = time.perf_counter() - started
    finally:
        await forwarder.stop()
    return records / elapsed


async def _run(host: str, port: int, n_records: int, repeats: int) -> None:
    from runtime.store import Store

    for run in range(1, repeats + 1):
        with tempfile.TemporaryDirectory() as directory:
            store = Store(Path(directory) / "bench.db")
            try:
                started = time.perf_counter()
                await fill_outbox(store, n_records)
                fill_s = time.perf_counter() - started
                rate = await measure_drain(store, host, port, n_records)
            finally:
                await store.aclose()
        drain_s = n_records / rate
        verdict = "ok" if rate >= GOAL_RECORDS_PER_S else "BELOW GOAL"
        if n_records >= GOAL_BACKLOG_RECORDS and drain_s > GOAL_BACKLOG_S:
            verdict = "BELOW GOAL"
        print(
            f"run={run} records={n_records} fill_s={fill_s:.2f} drain_s={drain_s:.2f} "
            f"records_per_s={rate:,.0f} goal={GOAL_RECORDS_PER_S:,}/s {verdict}"
        )


def main(argv: list[str] | None = None) -> None:
    """Command line: drain a filled temporary store to a running broker."""
    parser = argparse.ArgumentParser(prog="python -m runtime.sync.benchmark")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--records", type=int, default=GOAL_BACKLOG_RECORDS)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    asyncio.run(_run(args.host, args.port, args.records, args.repeats))


if __name__ == "__main__":
    main()
