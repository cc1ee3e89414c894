"""The drain benchmark runs against the real store and Mosquitto, and meets its goals."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.store import Store
from runtime.sync.benchmark import (
    GOAL_BACKLOG_RECORDS,
    GOAL_BACKLOG_S,
    GOAL_RECORDS_PER_S,
    measure_drain,
)
from tests.fixtures.broker import Mosquitto


async def test_measure_drain_fills_the_outbox_and_empties_it(mosquitto: Mosquitto, tmp_path: Path):
    store = Store(tmp_path / "bench.db")
    try:
        rate = await measure_drain(store, mosquitto.host, mosquitto.port, 20_000)
        stats = store.outbox_stats()
    finally:
        await store.aclose()
    assert rate > 0
    assert (stats.records, stats.next_seq) == (0, 20_000)


@pytest.mark.slow
async def test_a_million_sample_backlog_drains_within_the_goal(
    mosquitto: Mosquitto, tmp_path: Path
):
    store = Store(tmp_path / "bench.db")
    try:
        rate = await measure_drain(store, mosquitto.host, mosquitto.port, GOAL_BACKLOG_RECORDS)
    finally:
        await store.aclose()
    assert rate >= GOAL_RECORDS_PER_S
    assert GOAL_BACKLOG_RECORDS / rate <= GOAL_BACKLOG_S
