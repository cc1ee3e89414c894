"""Historian: round trip of every value type, deadband at ingest, downsampling against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.contracts.messages import BAD, GOOD, Quality, Sample, moved
from runtime.store import Store, StoreConfig

T0 = 1_700_000_000.0
FAST = StoreConfig(commit_interval_s=0.02)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.db", FAST)
    yield s
    s.close()


def test_values_keep_their_type_and_quality(store):
    samples = [Sample("f", T0, 1.5), Sample("f", T0 + 1, 2.0, BAD), Sample("i", T0, 42),
               Sample("b", T0, True), Sample("b", T0 + 1, False), Sample("s", T0, "0012"),
               Sample("f", T0 + 2, np.float32(0.5)), Sample("f", T0 + 3, None, BAD)]
    assert store.append_samples(samples)
    store.flush_future().result(5)
    assert store.history("f", T0, T0 + 10) == [
        Sample("f", T0, 1.5), Sample("f", T0 + 1, 2.0, BAD), Sample("f", T0 + 2, 0.5),
        Sample("f", T0 + 3, None, BAD)]
    assert store.history("i", T0, T0 + 1)[0].value == 42
    assert [s.value for s in store.history("b", T0, T0 + 2)] == [True, False]
    assert all(type(s.value) is bool for s in store.history("b", T0, T0 + 2))
    assert store.history("s", T0, T0 + 1)[0].value == "0012"
    assert store.tags() == ["b", "f", "i", "s"]


def test_a_value_that_cannot_be_stored_is_rejected_and_counted(store):
    store.append_samples([Sample("x", T0, {"not": "a value"}), Sample("x", T0 + 1, 1.0)])
    store.flush_future().result(5)
    assert [s.value for s in store.history("x", T0, T0 + 5)] == [1.0]
    assert store.status().rejected_samples == 1


def test_a_timestamp_that_cannot_be_a_key_is_rejected_and_counted(store):
    nan, inf = float("nan"), float("inf")
    assert store.append_samples([Sample("x", nan, 1.0), Sample("x", T0, 2.0),
                                 Sample("x", inf, 3.0)])
    assert store.append_columns("y", [T0, nan] + [T0 + 1 + i for i in range(100)],
                                [0.0] * 102)
    store.flush_future().result(5)
    assert store.history("x", 0, 4e9) == [Sample("x", T0, 2.0)]
    assert len(store.history("y", 0, 4e9)) == 101
    assert store.status().rejected_samples == 3
    assert store.status().degraded == ""


def test_history_range_is_half_open_and_limited(store):
    store.append_columns("t", [T0 + i for i in range(10)], list(range(10)))
    store.flush_future().result(5)
    assert [s.value for s in store.history("t", T0 + 2, T0 + 5)] == [2, 3, 4]
    assert [s.value for s in store.history("t", T0, T0 + 10, limit=3)] == [0, 1, 2]
    assert store.history("unknown", T0, T0 + 10) == []
    assert len(store.history("t", float("-inf"), float("inf"))) == 10
    assert len(store.history_downsampled("t", 0, float("inf"), 3)) == 1


def test_columns_accept_numpy_arrays_and_per_sample_quality(store):
    ts = T0 + np.arange(200) * 0.01
    store.append_columns("np", ts, np.linspace(0, 1, 200),
                         np.array([GOOD] * 199 + [int(Quality.STALE)]))
    store.flush_future().result(5)
    got = store.history("np", T0, T0 + 10)
    assert len(got) == 200
    assert got[-1].quality == Quality.STALE
    assert got[100].ts == pytest.approx(ts[100], abs=1e-6)
    assert got[100].value == pytest.approx(100 / 199)


def test_deadband_passes_moves_beyond_it_and_every_quality_change(store):
    store.set_deadbands({"p": 0.5, "q": 0.0}).result(5)
    values = [10.0, 10.2, 10.4, 10.6, 10.7, 9.9, 9.95, 9.95]
    store.append_samples([Sample("p", T0 + i, v) for i, v in enumerate(values)])
    store.append_samples([Sample("p", T0 + 10, 9.95, BAD), Sample("p", T0 + 11, 9.95, BAD)])
    store.append_columns("q", [T0 + i for i in range(5)], [1, 1, 2, 2, 1])
    store.append_columns("r", [T0 + i for i in range(3)], [1, 1, 1])  # no deadband: all
    store.flush_future().result(5)
    assert [(s.value, s.quality) for s in store.history("p", T0, T0 + 20)] == [
        (10.0, GOOD), (10.6, GOOD), (9.9, GOOD), (9.95, BAD)]
    assert [s.value for s in store.history("q", T0, T0 + 20)] == [1, 2, 1]
    assert len(store.history("r", T0, T0 + 20)) == 3
    store.set_deadbands({"p": None}).result(5)
    store.append_samples([Sample("p", T0 + 12, 9.95, BAD)])
    store.flush_future().result(5)
    assert len(store.history("p", T0, T0 + 20)) == 5


def test_deadband_rule_matches_the_drivers_report_by_exception():
    assert moved(1.0, 1.6, 0.5) and not moved(1.0, 1.5, 0.5)
    assert moved(1.0, 1.1, 0.0) and not moved(1.0, 1.0, 0.0)
    assert moved(True, False, 5.0) and not moved("a", "a", 1.0)
    assert moved(1.0, float("nan"), 0.5) and not moved(float("nan"), float("nan"), 0.5)


def _reference(ts_us, values, quals, a, b, width):
    """Buckets computed with numpy: (first_ts, last_ts, min, max, last, worst, n)."""
    inside = (ts_us >= a) & (ts_us < b)
    ts_us, values, quals = ts_us[inside], values[inside], quals[inside]
    bucket = ((ts_us - a) * width) // (b - a)
    out = []
    for k in np.unique(bucket):
        m = bucket == k
        order = np.argsort(ts_us[m])
        out.append((ts_us[m].min(), ts_us[m].max(), values[m].min(), values[m].max(),
                    values[m][order][-1], quals[m].max(), int(m.sum())))
    return out


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), width=st.integers(1, 50), seed=st.integers(0, 2**16),
       lo=st.floats(-5, 50), span=st.floats(0.5, 80))
def test_downsampling_matches_a_numpy_reference(tmp_path_factory, n, width, seed, lo, span):
    rng = np.random.default_rng(seed)
    ts_us = np.unique(rng.integers(0, 60_000_000, n)) + int(T0 * 1e6)
    values = rng.normal(50, 20, len(ts_us))
    quals = rng.choice([0, 0, 0, 1, 3], len(ts_us))
    a, b = int((T0 + lo) * 1e6), int((T0 + lo + span) * 1e6)
    with Store(tmp_path_factory.mktemp("ds") / "s.db", FAST) as store:
        store.append_columns("t", (ts_us / 1e6).tolist(), values.tolist(), quals.tolist())
        store.flush_future().result(5)
        got = store.history_downsampled("t", a / 1e6, b / 1e6, width)
    want = _reference(ts_us, values, quals, a, b, width)
    assert len(got) == len(want) <= width
    rows = zip(got.first_ts, got.last_ts, got.min, got.max, got.last, got.quality, got.count,
               strict=True)
    for g, (first, last_ts, vmin, vmax, last, worst, count) in zip(rows, want, strict=True):
        assert round(g[0] * 1e6) == first and round(g[1] * 1e6) == last_ts
        assert g[2:] == (vmin, vmax, last, worst, count)
