"""The reflex benchmark runs end to end (a few trials; no timing is judged here)."""

from __future__ import annotations

import pytest

from bench import reflex


@pytest.mark.parametrize("protocol", ["opcua", "modbus"])
async def test_reflex_benchmark_measures_each_change(protocol):
    latencies = await reflex.measure(protocol, trials=3)
    assert len(latencies) == 3
    assert all(latency > 0 for latency in latencies)
