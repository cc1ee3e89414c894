"""Backtest traces are cut into the same buckets as the historian's downsampled history."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.contracts.api import BUCKET_COLUMNS
from runtime.engine.traces import buckets
from runtime.store import Store, StoreConfig


def test_buckets_match_the_historians_downsampling(tmp_path):
    rng = np.random.default_rng(7)
    ts = 1_700_000_000 + np.sort(rng.uniform(0, 3600, 5000)).round(6)
    values = rng.normal(50, 5, len(ts))
    quality = rng.choice([0, 0, 0, 1, 3], len(ts))
    with Store(tmp_path / "t.db", StoreConfig()) as store:
        store.append_columns("x", ts, values.tolist(), quality.tolist())
        store.flush_future().result()
        expected = store.history_downsampled("x", ts[0] - 10, ts[-1] + 10, 97)
    got = buckets(ts, values, quality, ts[0] - 10, ts[-1] + 10, 97)
    assert set(got) == set(BUCKET_COLUMNS) and len(got["count"]) == len(expected) > 50
    theirs = expected.to_dict()
    for name in ("first_ts", "last_ts", "min", "max", "last"):
        assert got[name] == pytest.approx(theirs[name])
    assert (got["quality"], got["count"]) == (theirs["quality"], theirs["count"])


def test_buckets_sort_what_came_out_of_order_and_keep_only_the_window():
    ts = np.array([5.0, 1.0, 3.0, 20.0])
    got = buckets(ts, np.array([50.0, 10.0, 30.0, 99.0]), np.zeros(4, dtype=np.int64),
                  0, 10, 2)
    assert got == {"first_ts": [1.0, 5.0], "last_ts": [3.0, 5.0], "min": [10.0, 50.0],
                   "max": [30.0, 50.0], "last": [30.0, 50.0], "quality": [0, 0],
                   "count": [2, 1]}
    assert buckets(ts, ts, np.zeros(4, dtype=np.int64), 100, 200, 5) == {
        name: [] for name in BUCKET_COLUMNS}
    with pytest.raises(ValueError, match="width"):
        buckets(ts, ts, ts, 0, 10, 0)
