"""Store-and-forward to a local Mosquitto: outbox drain rate and a million-sample backlog.

The bench starts its own Mosquitto on a free loopback port (the same runner the tests use)
and drains a real store's outbox through the Forwarder at QoS 1: a record counts once the
broker acknowledged it and its delete committed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.harness import Context, Metric
from runtime.store import Store
from runtime.sync.benchmark import measure_drain
from tests.fixtures.broker import Mosquitto, find_mosquitto

NAME = "sync"
DRAIN_RECORDS = 500_000
BACKLOG_RECORDS = 1_000_000
METRICS = (
    Metric("sync.drain_samples_per_s", "samples/s", at_least=200_000),
    Metric("sync.backlog_1m_drain_s", "s", at_most=10),
)
RATIOS = ()


async def _drain(path: Path, port: int, records: int) -> float:
    async with Store(path) as store:
        return await measure_drain(store, "127.0.0.1", port, records)


def run(ctx: Context) -> dict[str, float]:
    """Best drain rate of `ctx.repeats` runs, then the time to drain a 1M backlog."""
    executables = find_mosquitto()
    if executables is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        broker = Mosquitto(Path(tmp) / "broker", executables)
        broker.start()
        try:
            rates = []
            for i in range(ctx.repeats):
                rates.append(asyncio.run(_drain(Path(tmp) / f"drain{i}.db", broker.port,
                                                DRAIN_RECORDS)))
                ctx.note(NAME, f"drain run {i + 1}/{ctx.repeats}: {rates[-1]:,.0f} samples/s")
            started = time.perf_counter()
            rate = asyncio.run(_drain(Path(tmp) / "backlog.db", broker.port, BACKLOG_RECORDS))
            backlog_s = BACKLOG_RECORDS / rate
            ctx.note(NAME, f"1M backlog drained in {backlog_s:.2f} s "
                           f"(fill and drain {time.perf_counter() - started:.1f} s)")
        finally:
            broker.stop()
    return {"sync.drain_samples_per_s": round(max(rates)),
            "sync.backlog_1m_drain_s": round(backlog_s, 2)}
