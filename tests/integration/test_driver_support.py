"""Helpers shared by the driver tests (no tests here): a sample recorder that waits on events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager

from runtime.contracts.messages import Quality, Sample
from runtime.drivers import make_hub
from runtime.drivers.base import ConnectionStatus


class Recorder:
    """Collects on_samples batches and status changes; tests wait on it with a deadline."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []
        self.statuses: list[ConnectionStatus] = []
        self.arrivals: list[float] = []
        self._changed = asyncio.Event()

    def on_samples(self, batch: list[Sample]) -> None:
        self.batches.append(batch)
        self.arrivals.append(time.monotonic())
        self._changed.set()

    def on_status(self, status: ConnectionStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    def samples(self, tag: str | None = None, since: int = 0) -> list[Sample]:
        """Every sample recorded (from batch `since` on), optionally of one tag."""
        return [s for b in self.batches[since:] for s in b if tag is None or s.tag == tag]

    def latest(self) -> dict[str, Sample]:
        """The last sample of each tag."""
        return {s.tag: s for s in self.samples()}

    def all_have(self, tags: Iterable[str], quality: Quality, since: int = 0) -> bool:
        """True when every tag's last sample (from batch `since` on) has this quality."""
        last = {s.tag: s for s in self.samples(since=since)}
        return all(t in last and last[t].quality == quality for t in tags)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> float:
        """Wait until `predicate()` holds; returns the seconds it took."""
        start = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._changed.clear()
                    if predicate():
                        return time.monotonic() - start
                    await self._changed.wait()
        except TimeoutError:
            last = self.statuses[-1] if self.statuses else None
            raise AssertionError(
                f"{what}: not within {timeout} s; status={last}; last samples="
                f"{list(self.latest().values())[:6]}"
            ) from None


@asynccontextmanager
async def running_hub(connection, tags, recorder: Recorder, connect_timeout: float = 10.0):
    """A started hub, connected, stopped on exit."""
    hub = make_hub(connection, tags, recorder.on_samples, recorder.on_status)
    await hub.start()
    try:
        await hub.wait_connected(connect_timeout)
        yield hub
    finally:
        await hub.stop()
