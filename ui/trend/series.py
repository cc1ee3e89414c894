"""One pen's data: live samples in a ring buffer and the history fetched for the view
(numpy only, no Qt). `columns(grid)` gives what is drawn: both sources on the view's grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ui.trend.buffer import BAD_FROM, RingBuffer
from ui.trend.downsample import Columns, Grid, bucket_columns, numeric_buckets, peak_columns

LIVE_CAPACITY = 36_000
"""An hour of live samples at 10 Hz per pen (about 1.2 MB); older ones come from history."""


@dataclass
class Series:
    """A pen's tag, unit, live buffer and history (the buckets fetched for one grid)."""

    tag: str
    unit: str = ""
    live: RingBuffer = field(default_factory=lambda: RingBuffer(LIVE_CAPACITY))
    history_grid: Grid | None = None
    history: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, ts: float, value: Any, quality: int) -> bool:
        """A live sample (a bool counts as 0/1, anything not a number as bad)."""
        if isinstance(value, bool):
            value = float(value)
        elif not isinstance(value, int | float):
            value, quality = None, max(quality, BAD_FROM)
        return self.live.append(ts, value, quality)

    def set_history(self, grid: Grid, buckets: Mapping[str, Sequence[Any]]) -> None:
        self.history_grid, self.history = grid, numeric_buckets(buckets)

    def columns(self, grid: Grid, until: float | None = None) -> Columns:
        """History and live samples on `grid`; with `until`, the last good value is carried
        to that time (report by exception: a value holds until the next one arrives)."""
        live = peak_columns(grid, *self.live.arrays())
        if self.history_grid is not None and len(self.history.get("first_ts", ())):
            # Fetched for a grid of about this resolution (the model refetches on a zoom);
            # a view that slid since places the same buckets in its own columns.
            live = bucket_columns(grid, self.history).merge(live)
        if until is not None and grid.start <= until < grid.end:
            self._carry(live, grid, grid.start)
            self._carry(live, grid, until)
        return live

    def _carry(self, columns: Columns, grid: Grid, ts: float) -> None:
        """Show the live value holding at `ts` in its column, if that column is empty and
        the value is good."""
        holding = self.live.value_at(ts)
        if holding is None or holding[2] >= BAD_FROM or np.isnan(holding[1]):
            return
        column = int(grid.column_of(np.array([ts]))[0])
        if columns.count[column] == 0:
            columns.low[column] = columns.high[column] = columns.last[column] = holding[1]
            columns.count[column] = 1
