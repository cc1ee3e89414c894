"""The outbox's backlog over the last hours, for the HMI's sync page: the largest depth seen
in each period, kept in memory since the runtime started (a restart begins a new history)."""

from __future__ import annotations

from collections import deque
from typing import Any

PERIOD_S = 30.0
"""One point per this many seconds: the largest depth seen in it."""
KEEP_S = 24 * 3600.0


class Backlog:
    """A ring of (period start, largest outbox depth in the period, oldest record age)."""

    def __init__(self, period_s: float = PERIOD_S, keep_s: float = KEEP_S) -> None:
        self.period_s = period_s
        self._points: deque[tuple[float, int, float]] = deque(maxlen=int(keep_s // period_s))

    def record(self, ts: float, records: int, oldest_age_s: float) -> None:
        """Note the outbox's depth and oldest record's age at `ts` (epoch seconds)."""
        start = ts - ts % self.period_s
        if self._points and self._points[-1][0] == start:
            _, most, oldest = self._points[-1]
            self._points[-1] = (start, max(most, records), max(oldest, oldest_age_s))
        else:
            self._points.append((start, records, oldest_age_s))

    def since(self, start: float) -> dict[str, Any]:
        """The points from `start` on, as columns {period_s, ts, records, oldest_age_s}."""
        points = [p for p in self._points if p[0] + self.period_s > start]
        return {"period_s": self.period_s, "ts": [p[0] for p in points],
                "records": [p[1] for p in points], "oldest_age_s": [p[2] for p in points]}
