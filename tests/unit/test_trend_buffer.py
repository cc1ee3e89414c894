"""The trend's ring buffer and its min/max downsampling onto pixel columns (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.contracts.messages import Quality
from ui.trend.buffer import RingBuffer
from ui.trend.downsample import Grid, bucket_columns, peak_columns
from ui.trend.series import Series

GOOD, STALE, BAD = int(Quality.GOOD), int(Quality.STALE), int(Quality.BAD)


def test_ring_buffer_keeps_the_newest_samples_in_order_without_copying():
    ring = RingBuffer(4)
    assert len(ring) == 0 and ring.last_ts is None
    for i in range(10):
        assert ring.append(float(i), i * 10.0, GOOD)
    ts, values, quality = ring.arrays()
    assert list(ts) == [6.0, 7.0, 8.0, 9.0]
    assert list(values) == [60.0, 70.0, 80.0, 90.0]
    assert list(quality) == [GOOD] * 4
    assert ts.base is not None  # a view of the preallocated array, not a copy
    assert len(ring) == 4 and ring.last_ts == 9.0


def test_ring_buffer_drops_older_samples_and_stores_bad_ones_as_nan():
    ring = RingBuffer(8)
    ring.append(10.0, 1.0, GOOD)
    assert not ring.append(9.0, 2.0, GOOD)
    assert ring.append(11.0, 5.0, BAD)
    assert ring.append(12.0, None, GOOD)
    _ts, values, quality = ring.arrays()
    assert values[0] == 1.0 and np.isnan(values[1]) and np.isnan(values[2])
    assert list(quality) == [GOOD, BAD, GOOD]


def test_ring_buffer_window_and_value_at():
    ring = RingBuffer(100)
    for i in range(50):
        ring.append(100.0 + i, float(i), GOOD)
    ts, _values, _q = ring.window(110.0, 120.0)
    assert list(ts) == [110.0 + i for i in range(10)]
    assert ring.value_at(115.5) == (115.0, 15.0, GOOD)
    assert ring.value_at(99.0) is None
    ring.clear()
    assert len(ring) == 0 and ring.arrays()[0].size == 0


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_peak_columns_keep_every_extreme_with_two_points_per_column():
    grid = Grid(0.0, 10.0, 10)
    ts = np.arange(0.0, 10.0, 0.01)  # 100 samples per column
    values = np.sin(ts)
    values[555] = 50.0  # a one-sample spike must survive
    values[222] = -50.0
    columns = peak_columns(grid, ts, values, np.zeros(len(ts), dtype=np.int8))
    assert list(columns.count) == [100] * 10
    assert columns.high[5] == 50.0 and columns.low[2] == -50.0
    for c in range(10):
        inside = values[c * 100:(c + 1) * 100]
        assert columns.low[c] == inside.min() and columns.high[c] == inside.max()
        assert columns.last[c] == inside[-1]
    x, y = columns.points()
    assert len(x) == len(y) == 20
    assert list(x[:2]) == [0.5, 0.5] and list(y[10:12]) == [columns.low[5], 50.0]


def test_peak_columns_clip_to_the_view_skip_empty_columns_and_break_at_bad_ones():
    grid = Grid(100.0, 110.0, 10)
    ts = np.array([95.0, 101.2, 101.8, 104.5, 106.1, 112.0])
    values = np.array([1e6, 1.0, 3.0, np.nan, 7.0, -1e6])
    quality = np.array([GOOD, GOOD, GOOD, BAD, GOOD, GOOD], dtype=np.int8)
    columns = peak_columns(grid, ts, values, quality)
    assert list(np.flatnonzero(columns.count)) == [1, 4, 6]
    assert columns.low[1] == 1.0 and columns.high[1] == 3.0
    assert columns.bad[4] and not columns.bad[1]
    x, y = columns.points()
    assert list(x) == [101.5, 101.5, 104.5, 104.5, 106.5, 106.5]
    assert np.isnan(y[2]) and np.isnan(y[3])  # a gap, never a plausible line
    assert np.nanmax(y) == 7.0 and np.nanmin(y) == 1.0  # nothing from outside the view


def test_history_buckets_land_on_the_same_columns_and_merge_with_live():
    grid = Grid(0.0, 100.0, 10)
    buckets = {"first_ts": [1.0, 31.0, 55.0], "last_ts": [9.0, 39.0, 59.0],
               "min": [1.0, 2.0, 0.0], "max": [4.0, 8.0, 9.0], "last": [3.0, 5.0, 9.0],
               "quality": [GOOD, GOOD, STALE], "count": [10, 10, 5]}
    history = bucket_columns(grid, buckets)
    assert list(np.flatnonzero(history.count)) == [0, 3, 5]
    assert history.high[3] == 8.0 and history.bad[5]
    live = peak_columns(grid, np.array([35.0, 92.0]), np.array([20.0, 1.0]),
                        np.zeros(2, dtype=np.int8))
    both = history.merge(live)
    assert both.high[3] == 20.0 and both.low[3] == 2.0 and both.last[3] == 20.0
    assert both.count[9] == 1 and both.value_at(95.0) == 1.0
    assert both.value_at(57.0) is None  # the bad bucket has no value to read


def test_series_carries_the_holding_value_across_the_view():
    series = Series("a", "bar")
    series.add(50.0, 2.5, GOOD)  # before the view: holds until something else arrives
    grid = Grid(100.0, 200.0, 100)
    columns = series.columns(grid, until=150.0)
    assert list(np.flatnonzero(columns.count)) == [0, 50]
    assert columns.value_at(120.0) == 2.5
    series.add(160.0, "text", GOOD)  # not a number: bad
    assert np.isnan(series.live.arrays()[1][-1])
