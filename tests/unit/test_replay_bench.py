"""The backtest benchmark checks what it measures and reports every metric (an hour of
data here; its speed is not tested)."""

from __future__ import annotations

from bench import backtest
from bench.harness import Context


def test_backtest_benchmark_runs_its_checks_and_reports_every_metric():
    results = backtest.measure(Context.default(repeats=1), 3600)
    assert set(results) == {m.name for m in backtest.METRICS}
    assert all(v > 0 for v in results.values())


def test_the_health_flow_is_benched_once_the_demo_has_it():
    doc = backtest.demo_project(Context.default().repo)
    ids = [f["id"] for f in doc["flows"]]
    expected = ["p101_health"] if "p101_health" in ids else ids
    assert backtest.flows_to_run(doc) == expected
    without = {**doc, "flows": [f for f in doc["flows"] if f["id"] != "p101_health"]}
    assert backtest.flows_to_run(without) == [f["id"] for f in without["flows"]]
