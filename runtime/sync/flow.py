"""Flow control for the forwarder: the rate limit, in-order acknowledgement and the drain rate.

Pure bookkeeping with explicit times, so the arithmetic is tested without a broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


class RateLimiter:
    """Token bucket over records: holds the average at `rate_per_s`, with up to `burst`
    records (one second's worth by default) going out at once after a pause.

    `reserve` takes the records at once and says how long to wait until the bucket has
    paid for them, so messages of any size keep the average; the bucket may go into debt.
    """

    def __init__(self, rate_per_s: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be more than 0")
        self.rate = float(rate_per_s)
        self.burst = float(burst) if burst is not None else self.rate
        self._tokens = self.burst
        self._at = now

    def reserve(self, records: int, now: float) -> float:
        """Take `records` from the bucket; the seconds to wait before sending them."""
        self._tokens = self.tokens(now) - records
        self._at = now
        return max(0.0, -self._tokens / self.rate)

    def tokens(self, now: float) -> float:
        """Records that could go out at `now` without waiting (negative: the debt)."""
        return min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)


@dataclass(slots=True)
class _Entry:
    chunk_ids: tuple[int, ...]
    records: int
    done: bool = False


@dataclass(slots=True)
class AckBatch:
    """Chunks the broker acknowledged, oldest first, ready to be deleted from the outbox."""

    chunk_ids: list[int] = field(default_factory=list)
    records: int = 0
    messages: int = 0

    def __bool__(self) -> bool:
        return self.messages > 0


class AckOrder:
    """Publishes in flight in the order they were sent; hands out only the acknowledged prefix.

    The broker's acknowledgements may be observed out of order; the outbox is always
    trimmed from its oldest end, never a later chunk before an earlier one.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}
        self._order: deque[Hashable] = deque()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, key: Hashable, chunk_ids: Iterable[int], records: int) -> None:
        """A message was sent (after every message added before it)."""
        if key in self._entries:
            raise ValueError(f"message {key!r} is already in flight")
        self._entries[key] = _Entry(tuple(chunk_ids), records)
        self._order.append(key)

    def acked(self, key: Hashable) -> None:
        """The broker acknowledged this message."""
        self._entries[key].done = True

    def take_ready(self) -> AckBatch:
        """Remove and return the acknowledged messages at the head, in order."""
        batch = AckBatch()
        while self._order and self._entries[self._order[0]].done:
            entry = self._entries.pop(self._order.popleft())
            batch.chunk_ids.extend(entry.chunk_ids)
            batch.records += entry.records
            batch.messages += 1
        return batch

    def clear(self) -> None:
        """Forget everything in flight (the session ended; unacked chunks will be resent)."""
        self._entries.clear()
        self._order.clear()


class DrainMeter:
    """Records deleted per second over a sliding window."""

    def __init__(self, window_s: float = 10.0, now: float = 0.0) -> None:
        self.window_s = window_s
        self._events: deque[tuple[float, int]] = deque()
        self._since = now

    def add(self, records: int, now: float) -> None:
        """`records` were deleted at `now`."""
        self._events.append((now, records))
        self._trim(now)

    def rate(self, now: float) -> float:
        """Average records per second over the window (or since the meter started)."""
        self._trim(now)
        span = min(self.window_s, now - self._since)
        if span <= 0 or not self._events:
            return 0.0
        return sum(n for _, n in self._events) / max(span, 1e-3)

    def _trim(self, now: float) -> None:
        horizon = now - self.window_s
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()
