"""The log of client writes the simulated plant received, and waiting for one without polling."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ServerKind = Literal["opcua", "modbus"]
WritePredicate = Callable[["SimWrite"], bool]

_MAX_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class SimWrite:
    """A client write the plant accepted, stamped with time.monotonic() inside the server's handler.

    address is the OPC UA node id ("ns=2;s=P101.SpeedSetpoint") or the Modbus area and
    address ("hr:0", "coil:0"); value is the value after decoding (float Hz, bool).
    """

    server: ServerKind
    address: str
    value: float | bool
    monotonic_ts: float


@dataclass(slots=True)
class _Waiter:
    predicate: WritePredicate
    since: float | None
    future: asyncio.Future[SimWrite]

    def offer(self, write: SimWrite) -> None:
        if self.future.done() or (self.since is not None and write.monotonic_ts < self.since):
            return
        try:
            matched = self.predicate(write)
        except Exception as exc:  # a broken predicate fails its own wait, not the server
            self.future.set_exception(exc)
            return
        if matched:
            self.future.set_result(write)


class WriteLog:
    """Writes in arrival order (the last 10 000), and waiters woken by the write that matches."""

    def __init__(self) -> None:
        self._writes: deque[SimWrite] = deque(maxlen=_MAX_KEPT)
        self._waiters: list[_Waiter] = []

    @property
    def writes(self) -> tuple[SimWrite, ...]:
        """A snapshot of the writes kept, oldest first."""
        return tuple(self._writes)

    def record(self, write: SimWrite) -> None:
        """Keep a write and wake every waiter it matches."""
        self._writes.append(write)
        for waiter in tuple(self._waiters):
            waiter.offer(write)

    async def wait_for(
        self,
        predicate: WritePredicate | None,
        timeout: float,  # noqa: ASYNC109 - a deadline per wait is the point of this API
        since: float | None,
    ) -> SimWrite:
        """The oldest kept write at or after `since` matching `predicate`, waiting for it if needed.

        Raises TimeoutError when no such write arrives within `timeout` seconds.
        """
        waiter = _Waiter(predicate or _any, since, asyncio.get_running_loop().create_future())
        for write in self._writes:
            waiter.offer(write)
            if waiter.future.done():
                return waiter.future.result()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter.future
        finally:
            self._waiters.remove(waiter)


def _any(_write: SimWrite) -> bool:
    return True
