"""A preallocated ring buffer of one pen's live samples (numpy only, no Qt).

Each sample is written twice, at `i` and `i + capacity`, so the newest `len` samples are
always one contiguous slice: reading them for a redraw never copies or concatenates.
Timestamps only move forward: a sample older than the newest one is dropped, so the
buffer stays sorted and a time window is two binary searches.
"""

from __future__ import annotations

import numpy as np

from runtime.contracts.messages import Quality

BAD_FROM = int(Quality.STALE)
"""Samples of this quality or worse are not values: stored as NaN, drawn as gaps."""


class RingBuffer:
    """The last `capacity` samples of one tag: timestamps, values (NaN when not a number or
    of bad quality) and qualities."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be > 0, got {capacity}")
        self.capacity = capacity
        self._ts = np.zeros(2 * capacity, dtype=np.float64)
        self._values = np.zeros(2 * capacity, dtype=np.float64)
        self._quality = np.zeros(2 * capacity, dtype=np.int8)
        self._head = 0  # where the next sample goes, in [0, capacity)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def last_ts(self) -> float | None:
        """The newest sample's timestamp (None when empty)."""
        return float(self._ts[self._head + self.capacity - 1]) if self._count else None

    def append(self, ts: float, value: float | None, quality: int) -> bool:
        """Store one sample; False (and nothing stored) when it is older than the newest."""
        if self._count and ts < self._ts[self._head + self.capacity - 1]:
            return False
        number = np.nan if value is None or quality >= BAD_FROM else float(value)
        h, c = self._head, self.capacity
        self._ts[h] = self._ts[h + c] = ts
        self._values[h] = self._values[h + c] = number
        self._quality[h] = self._quality[h + c] = quality
        self._head = (h + 1) % c
        self._count = min(self._count + 1, c)
        return True

    def clear(self) -> None:
        """Forget every sample (the memory stays allocated)."""
        self._head = self._count = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(timestamps, values, qualities), oldest first: views, valid until the next append."""
        end = self._head + self.capacity
        start = end - self._count
        return self._ts[start:end], self._values[start:end], self._quality[start:end]

    def window(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The samples with start <= ts < end, as views (see `arrays`)."""
        ts, values, quality = self.arrays()
        a, b = np.searchsorted(ts, (start, end), side="left")
        return ts[a:b], values[a:b], quality[a:b]

    def value_at(self, ts: float) -> tuple[float, float, int] | None:
        """The newest sample at or before `ts` as (ts, value, quality); None if there is none."""
        times, values, quality = self.arrays()
        i = int(np.searchsorted(times, ts, side="right")) - 1
        if i < 0:
            return None
        return float(times[i]), float(values[i]), int(quality[i])
