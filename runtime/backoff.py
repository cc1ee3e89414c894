"""Capped exponential backoff with jitter, for everything that reconnects (PLCs, broker)."""

from __future__ import annotations

import random


class Backoff:
    """Capped exponential backoff; each delay is shortened by up to `jitter` (a fraction)."""

    def __init__(
        self,
        initial: float = 0.2,
        cap: float = 4.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt; never more than `cap`."""
        delay = min(self.cap, self.initial * self.factor**self._attempt)
        self._attempt += 1
        return delay * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Start again from the initial delay (after a successful connection)."""
        self._attempt = 0
