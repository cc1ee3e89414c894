"""Supervised long-lived tasks: a task that crashes (or ends, which a long-lived task must
never do) is logged, counted, shown in the runtime's status and restarted with backoff.

The runtime's reflexes live in a handful of loops (advancing the engine, the write worker,
each PLC connection, the forwarder). Without supervision an unexpected exception ends such
a loop silently and the console keeps looking healthy; here it can't.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from runtime.backoff import Backoff
from runtime.contracts.status import TaskStatus

log = logging.getLogger(__name__)

Body = Callable[[], Awaitable[None]]

RECANCEL_S = 1.0
"""How long stopping a task waits before cancelling it again."""
HEALTHY_RUN_S = 60.0
"""A task that ran this long before crashing starts its backoff from the beginning again."""


@dataclass
class _Supervised:
    task: asyncio.Task[None]
    status: TaskStatus
    last_error: str = ""


class Supervisor:
    """Runs named long-lived tasks and restarts them when they crash or end."""

    def __init__(self, clock: Callable[[], float] = time.time, backoff_initial_s: float = 0.5,
                 backoff_cap_s: float = 30.0) -> None:
        self._clock = clock
        self._backoff = (backoff_initial_s, backoff_cap_s)
        self._tasks: dict[str, _Supervised] = {}

    def start(self, name: str, body: Body) -> None:
        """Run `body()` as task `name`, restarted with backoff whenever it raises or returns.

        A name runs once: starting a name that is running raises ValueError."""
        current = self._tasks.get(name)
        if current is not None and not current.task.done():
            raise ValueError(f"task {name} is already running")
        status = TaskStatus(name=name, state="running", since=self._clock())
        task = asyncio.create_task(self._run(name, body), name=name)
        self._tasks[name] = _Supervised(task, status)

    async def stop(self, name: str) -> None:
        """Cancel task `name` and wait until it has ended (unknown names: nothing to do)."""
        entry = self._tasks.pop(name, None)
        if entry is None or entry.task.done():
            return
        task = entry.task
        task.cancel()
        while not (await asyncio.wait({task}, timeout=RECANCEL_S))[0]:
            # The cancellation was swallowed inside (Python 3.11's asyncio.wait_for racing a
            # reply does that in protocol clients): ask again until the task has ended.
            log.warning("task.cancel_repeated task=%s", name)
            task.cancel()
        if not task.cancelled():
            task.exception()  # retrieved: it ended on an error while being stopped

    async def stop_all(self) -> None:
        """Stop every task, in the reverse order they were started."""
        for name in reversed(list(self._tasks)):
            await self.stop(name)

    def status(self) -> list[TaskStatus]:
        """Every supervised task: its state, how often it crashed and the last error."""
        return [entry.status for entry in self._tasks.values()]

    def crashes(self) -> int:
        """How many times supervised tasks crashed in all."""
        return sum(entry.status.crashes for entry in self._tasks.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    async def _run(self, name: str, body: Body) -> None:
        backoff = Backoff(*self._backoff)
        while True:
            started = time.monotonic()
            self._running(name)
            failure: BaseException | None = None
            try:
                await body()
                error = "ended although it should run until stopped"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = exc
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if time.monotonic() - started > HEALTHY_RUN_S:
                backoff.reset()
            delay = backoff.next()
            entry = self._tasks[name]
            new_error = error != entry.last_error
            entry.last_error = error
            crashes = self._crashed(name, error)
            log.error("task.crashed task=%s error=%r crashes=%d restart_in_s=%.2f", name,
                      error, crashes, delay, exc_info=failure if new_error else None)
            await asyncio.sleep(delay)

    def _running(self, name: str) -> None:
        entry = self._tasks[name]
        if entry.status.state != "running":
            entry.status = replace(entry.status, state="running", since=self._clock())

    def _crashed(self, name: str, error: str) -> int:
        """Record a crash; the task's crash count so far."""
        entry = self._tasks[name]
        now = self._clock()
        entry.status = replace(entry.status, state="restarting", since=now,
                               crashes=entry.status.crashes + 1, last_error=error,
                               last_crash_ts=now)
        return entry.status.crashes
