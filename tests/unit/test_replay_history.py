"""The columnar history read that replays use: same samples as history(), as columns."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.contracts.messages import BAD, GOOD, Quality, Sample
from runtime.store import Store, StoreConfig

T0 = 1_700_000_000.0
UNCERTAIN = int(Quality.UNCERTAIN)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.db", StoreConfig(commit_interval_s=0.02,
                                                 historian_max_age_s=1e10))
    yield s
    s.close()


def as_samples(tag, columns):
    ts, values, quality = columns
    return [Sample(tag, t, v, q) for t, v, q in zip(ts.tolist(), values, quality.tolist(),
                                                    strict=True)]


def test_columns_hold_what_history_holds(store):
    samples = [Sample("f", T0, 1.5), Sample("f", T0 + 1, 2.0, BAD),
               Sample("f", T0 + 2.000001, 0.1), Sample("f", T0 + 3, None, BAD),
               Sample("f", T0 + 4, 7, UNCERTAIN), Sample("b", T0, True),
               Sample("b", T0 + 1, False), Sample("s", T0, "0012")]
    assert store.append_samples(samples)
    store.flush_future().result(5)
    for tag in ("f", "b", "s"):
        columns = store.history_columns(tag, T0, T0 + 10)
        assert columns.ts.dtype == np.float64
        assert as_samples(tag, columns) == store.history(tag, T0, T0 + 10)
    assert all(type(v) is bool for v in store.history_columns("b", T0, T0 + 10).values)
    assert store.history_columns("f", T0, T0 + 10).quality.tolist() == [
        GOOD, BAD, GOOD, BAD, UNCERTAIN]


def test_range_is_half_open_and_unknown_or_empty_is_empty(store):
    store.append_columns("t", [T0 + i for i in range(10)], list(range(10)))
    store.flush_future().result(5)
    assert store.history_columns("t", T0 + 2, T0 + 5).values == [2, 3, 4]
    assert len(store.history_columns("t", float("-inf"), float("inf")).ts) == 10
    for columns in (store.history_columns("unknown", T0, T0 + 10),
                    store.history_columns("t", T0 + 20, T0 + 30)):
        assert (len(columns.ts), columns.values, len(columns.quality)) == (0, [], 0)


def test_timestamps_round_trip_exactly_at_microseconds(store):
    rng = np.random.default_rng(3)
    ts = np.sort(T0 + rng.uniform(0, 86_400, 5000))
    ts = np.unique(np.round(ts * 1e6)) / 1e6  # what the historian keeps: whole microseconds
    values = rng.normal(50, 10, len(ts))
    store.append_columns("x", ts, values)
    store.flush_future().result(5)
    columns = store.history_columns("x", 0, float("inf"))
    assert columns.ts.tolist() == ts.tolist()
    assert columns.values == values.tolist()
    assert columns.ts.tolist() == [s.ts for s in store.history("x", 0, float("inf"))]
