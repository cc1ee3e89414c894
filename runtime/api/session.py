"""One client connection: who is logged in, its request budget, and its outbound queue.

Responses and events leave through one sender task per connection. Responses are never
dropped; events wait in a bounded queue, and when a client reads too slowly its oldest
events go first and it is told how many with a "dropped" event: the runtime and the other
clients never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from runtime.contracts.api import DROPPED, event
from runtime.contracts.roles import role_at_least

log = logging.getLogger(__name__)

MAX_BATCH = 200
"""Events packed into one frame at most."""


class Socket(Protocol):
    """What a session sends through (a websockets connection)."""

    async def send(self, message: str) -> None: ...


@dataclass(frozen=True)
class Principal:
    """Who is logged in on a connection, and with which role."""

    user: str
    role: str
    via: str
    """How they logged in: "token" or "password"."""


class TokenBucket:
    """Requests allowed per second with a burst: `take()` is False when over budget."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._at = burst, clock()

    def take(self) -> bool:
        """Spend one request; False (nothing spent) when none is left."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Session:
    """A connection's login, budget and outbound queues; `run_sender()` drains them."""

    def __init__(self, socket: Socket, peer: str, *, max_events: int, rate: float,
                 burst: float, idle_s: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.socket = socket
        self.peer = peer
        self.principal: Principal | None = None
        self.budget = TokenBucket(rate, burst, clock)
        self.refused = 0
        self._clock = clock
        self._idle_s = idle_s
        self._last_active = clock()
        self._max_events = max_events
        self._responses: deque[dict[str, Any]] = deque()
        self._events: deque[dict[str, Any]] = deque()
        self.dropped = 0
        self._dropped_unreported = 0
        self._wakeup = asyncio.Event()

    # -- who ------------------------------------------------------------------------------

    def login(self, principal: Principal) -> None:
        """Log a principal in on this connection."""
        self.principal = principal
        self._last_active = self._clock()

    def logout(self) -> None:
        """Forget who was logged in."""
        self.principal = None

    def active(self) -> Principal | None:
        """The principal, unless the session has been idle longer than its expiry (then it
        is logged out)."""
        now = self._clock()
        if self.principal is not None and now - self._last_active > self._idle_s:
            log.info("api.session_expired user=%s peer=%s", self.principal.user, self.peer)
            self.principal = None
        if self.principal is not None:
            self._last_active = now
        return self.principal

    def may(self, needed: str | None) -> bool:
        """Whether the logged-in role may do what `needed` may (None: anyone may)."""
        if needed is None:
            return True
        return self.principal is not None and role_at_least(self.principal.role, needed)

    # -- what goes out --------------------------------------------------------------------

    def reply(self, envelope: dict[str, Any]) -> None:
        """Queue a response (never dropped)."""
        self._responses.append(envelope)
        self._wakeup.set()

    def push(self, envelope: dict[str, Any]) -> None:
        """Queue an event; the oldest one goes when the queue is full."""
        if len(self._events) >= self._max_events:
            self._events.popleft()
            self.dropped += 1
            self._dropped_unreported += 1
        self._events.append(envelope)
        self._wakeup.set()

    @property
    def queued_events(self) -> int:
        """Events waiting to be sent."""
        return len(self._events)

    async def run_sender(self) -> None:
        """Send what is queued, responses first, events packed into frames; until the
        connection closes (the caller cancels this task)."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._responses or self._events:
                if self._responses:
                    await self.socket.send(_text(self._responses.popleft()))
                    continue
                batch: list[dict[str, Any]] = []
                if self._dropped_unreported:
                    batch.append(event(DROPPED, {"count": self._dropped_unreported,
                                                 "total": self.dropped}))
                    self._dropped_unreported = 0
                while self._events and len(batch) < MAX_BATCH:
                    batch.append(self._events.popleft())
                await self.socket.send(_text(batch[0] if len(batch) == 1 else batch))


def _text(payload: Any) -> str:
    return orjson.dumps(payload, default=str).decode()
