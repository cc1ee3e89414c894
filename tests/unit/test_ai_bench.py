"""The AI benchmark checks its scores against the numpy reference and reports every metric."""

from __future__ import annotations

import numpy as np
import pytest

from bench import ai
from bench.harness import Context, WrongResults


def test_the_ai_benchmark_reports_every_metric():
    results = ai.run(Context.default(repeats=1))
    assert set(results) == {m.name for m in ai.METRICS}
    assert 0 < results["ai.infer_p50_ms"] <= results["ai.infer_p99_ms"]
    assert results["ai.infer_batched_rows_per_s"] > 0


def test_scores_that_differ_from_the_reference_void_the_run():
    rows = ai.feature_rows()
    expected = ai.reference(rows)
    ai.check("ok", expected.astype(np.float32), expected)
    with pytest.raises(WrongResults, match="batches: scores differ"):
        ai.check("batches", expected * 1.01, expected)
