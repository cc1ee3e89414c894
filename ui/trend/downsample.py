"""Peak (min/max) downsampling onto the pixel columns of a view (numpy only, no Qt).

A view of [start, end) that is `width` pixels wide has `width` equal columns, the same
buckets the runtime's history.query makes for that range and width. Live samples and
history buckets both reduce to one `Columns` per pen: per column the minimum, maximum and
last value, the sample count and whether a stale or bad sample fell in it. A line is then
drawn through two points per column that holds samples (its min and its max), so any number
of samples costs at most 2 x width points and no peak is lost. Empty columns are skipped
(report by exception leaves them empty); bad columns break the line (NaN), never bridge it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ui.trend.buffer import BAD_FROM


@dataclass(frozen=True)
class Grid:
    """`width` equal columns over [start, end)."""

    start: float
    end: float
    width: int

    def __post_init__(self) -> None:
        if self.width <= 0 or not self.end > self.start:
            raise ValueError(f"a grid needs end > start and width > 0, got {self}")

    @property
    def step(self) -> float:
        return (self.end - self.start) / self.width

    def column_of(self, ts: np.ndarray) -> np.ndarray:
        """The column index of each timestamp (within [start, end))."""
        index = ((ts - self.start) / self.step).astype(np.int64)
        return np.clip(index, 0, self.width - 1)

    def centres(self) -> np.ndarray:
        return self.start + (np.arange(self.width) + 0.5) * self.step


@dataclass
class Columns:
    """One pen reduced to a grid's columns (NaN where a column has no number)."""

    grid: Grid
    low: np.ndarray
    high: np.ndarray
    last: np.ndarray
    count: np.ndarray
    bad: np.ndarray

    @classmethod
    def empty(cls, grid: Grid) -> Columns:
        w = grid.width
        nan = np.full(w, np.nan)
        return cls(grid, nan, nan.copy(), nan.copy(), np.zeros(w, dtype=np.int64),
                   np.zeros(w, dtype=bool))

    def merge(self, other: Columns) -> Columns:
        """Both pens' samples in one (min of the minima, max of the maxima; `other`'s last
        value where it has one: pass the newer source as `other`)."""
        with np.errstate(invalid="ignore"):
            return Columns(self.grid, np.fmin(self.low, other.low),
                           np.fmax(self.high, other.high),
                           np.where(other.count > 0, other.last, self.last),
                           self.count + other.count, self.bad | other.bad)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) to draw: min then max at each non-empty column's centre; NaN for bad ones."""
        used = np.flatnonzero(self.count > 0)
        x = np.repeat(self.grid.centres()[used], 2)
        y = np.empty(2 * len(used))
        y[0::2] = self.low[used]
        y[1::2] = self.high[used]
        bad = np.repeat(self.bad[used], 2)
        y[bad] = np.nan
        return x, y

    def value_at(self, ts: float) -> float | None:
        """The last value of the newest column at or before `ts` (None: none, or bad)."""
        if ts < self.grid.start:
            return None
        column = min(int((ts - self.grid.start) / self.grid.step), self.grid.width - 1)
        used = np.flatnonzero(self.count[:column + 1] > 0)
        if not len(used) or self.bad[used[-1]]:
            return None
        value = float(self.last[used[-1]])
        return None if np.isnan(value) else value


def peak_columns(grid: Grid, ts: np.ndarray, values: np.ndarray,
                 quality: np.ndarray) -> Columns:
    """Samples (sorted by time) reduced to the grid's columns; those outside are ignored."""
    columns = Columns.empty(grid)
    # Where each column's samples begin: one binary search per column edge, no per-sample
    # arithmetic, so the cost grows with the width more than with the samples.
    bounds = np.searchsorted(ts, grid.start + np.arange(grid.width + 1) * grid.step)
    bounds[-1] = np.searchsorted(ts, grid.end)
    counts = np.diff(bounds)
    used = np.flatnonzero(counts > 0)
    if not len(used):
        return columns
    starts = bounds[used]
    ends = starts + counts[used]
    values, quality = values[:ends[-1]], quality[:ends[-1]]
    with np.errstate(invalid="ignore"):
        columns.low[used] = np.fmin.reduceat(values, starts)
        columns.high[used] = np.fmax.reduceat(values, starts)
    columns.last[used] = values[ends - 1]
    columns.count[used] = counts[used]
    columns.bad[used] = np.maximum.reduceat(quality, starts) >= BAD_FROM
    return columns


def bucket_columns(grid: Grid, buckets: Mapping[str, Any]) -> Columns:
    """history.query's buckets of one tag (BUCKET_COLUMNS) placed on the grid by their
    first timestamp; buckets outside the grid are ignored."""
    columns = Columns.empty(grid)
    first = floats(buckets.get("first_ts", ()))
    if not len(first):
        return columns
    inside = (first >= grid.start) & (first < grid.end)
    index = grid.column_of(first[inside])
    worst = np.asarray(buckets["quality"], dtype=np.int64)[inside]
    bad = worst >= BAD_FROM

    def numbers(name: str) -> np.ndarray:
        column = floats(buckets[name])[inside]  # a copy: indexed by a mask
        column[bad] = np.nan
        return column

    with np.errstate(invalid="ignore"):
        np.fmin.at(columns.low, index, numbers("min"))
        np.fmax.at(columns.high, index, numbers("max"))
    columns.last[index] = numbers("last")
    np.add.at(columns.count, index, np.asarray(buckets["count"], dtype=np.int64)[inside])
    columns.bad[index] |= bad
    return columns


def floats(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Numbers as float64, NaN for None or anything not a number (an array as it is)."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    return np.asarray([_number(v) for v in values], dtype=np.float64)


def numeric_buckets(buckets: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    """history.query's buckets of one tag as numpy columns, converted once (a view draws
    them every frame)."""
    return {name: floats(column) if name in ("min", "max", "last", "first_ts")
            else np.asarray(column) for name, column in buckets.items()}


def _number(value: Any) -> float:
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan
