"""The expression benchmark checks what it measures and reports every metric (a few hundred
expressions here; its speed is not tested)."""

from __future__ import annotations

import pytest

from bench import expression
from bench.__main__ import BENCHMARKS
from bench.harness import Context, WrongResults


def test_the_expression_benchmark_reports_every_metric():
    results = expression.measure(Context.default(repeats=1), 200)
    assert set(results) == {m.name for m in expression.METRICS}
    assert results["expression.evaluated"] >= 0.25 * (200 + len(expression.ADVERSARIAL))
    assert 0 < results["expression.eval_p50_us"] <= results["expression.eval_worst_ms"] * 1e3


def test_it_is_registered():
    assert expression in BENCHMARKS


def test_an_untyped_failure_voids_the_run():
    def broken():
        raise ZeroDivisionError("division by zero")
    with pytest.raises(WrongResults, match=r"ZeroDivisionError.*escaped the typed errors"):
        expression.best_time(1, broken)
