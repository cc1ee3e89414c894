"""Backtests off the event loop, so a day's replay never delays a reflex.

Each backtest runs in a process of its own, forked from a server process that has the
engine, the nodes and numpy loaded already (multiprocessing's forkserver), with its own
read-only connection to the store and its own model sessions, at a lower CPU priority. It
reports its progress through a pipe the event loop watches; cancelling it ends the process,
which holds nothing that could be left half-written. At most `limit` run at once; the
others wait their turn.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from runtime.ai.model_file import ModelInfo
from runtime.ai.sessions import ModelSessions
from runtime.contracts import LineMode, LinesideError, Problem, ValidationFailed
from runtime.engine.replay import BacktestResult, backtest
from runtime.registry import NodeRegistry
from runtime.store import historian

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.2
"""How often a running backtest reports how far it got."""
WORKER_NICENESS = 10
"""Backtests are background work: on a busy panel PC the runtime's reflexes go first."""

_PROCESSES = multiprocessing.get_context("forkserver")
_PROCESSES.set_forkserver_preload([__name__])


class BacktestFailed(LinesideError):
    """A backtest ended without a result (its process failed or died)."""


class BacktestCancelled(LinesideError):
    """A backtest was cancelled (by `Backtests.cancel`) before it finished."""


@dataclass(frozen=True)
class BacktestJob:
    """Everything a backtest process needs: the store file, the models, the document, the
    flow, its parameter changes, the window and the plot width of the traces."""

    database: Path
    models: dict[str, tuple[ModelInfo, Path]]
    document: dict[str, Any]
    flow: str
    start: float
    end: float
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    trace_width: int = 0
    line_mode: str = LineMode.AUTOMATIC


class Backtests:
    """Runs backtests in worker processes, at most `limit` at once, each cancellable."""

    def __init__(self, limit: int = 1) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._running: dict[str, asyncio.Task[BacktestResult]] = {}

    async def run(self, run_id: str, job: BacktestJob,
                  progress: Callable[[float], None]) -> BacktestResult:
        """Run a backtest; `progress` gets the fraction done now and then. Raises
        ValidationFailed (the changed flow's problems), BacktestFailed, or BacktestCancelled
        when `cancel(run_id)` ended it. A run id in use is a ValueError. Cancelling the
        caller ends the backtest too."""
        if run_id in self._running:
            raise ValueError(f"backtest '{run_id}' is running already")
        task = asyncio.ensure_future(self._run(job, progress))
        self._running[run_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise
            raise BacktestCancelled(f"backtest '{run_id}' was cancelled") from None
        finally:
            del self._running[run_id]

    def cancel(self, run_id: str) -> bool:
        """End a running (or waiting) backtest; False when there is none by that id."""
        task = self._running.get(run_id)
        if task is None:
            return False
        task.cancel()
        return True

    def running(self) -> list[str]:
        """The ids of the backtests running or waiting."""
        return list(self._running)

    async def _run(self, job: BacktestJob, progress: Callable[[float], None]) -> BacktestResult:
        async with self._slots:
            receiver, sender = _PROCESSES.Pipe(duplex=False)
            process = _PROCESSES.Process(target=_work, args=(job, sender), daemon=True,
                                         name=f"backtest:{job.flow}")
            process.start()
            sender.close()
            try:
                return await _receive(receiver, progress)
            finally:
                receiver.close()
                if process.is_alive():
                    process.kill()
                await asyncio.to_thread(process.join)


async def _receive(receiver: Connection, progress: Callable[[float], None]) -> BacktestResult:
    """Read the worker's messages as they come, without blocking the loop, to its result."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(receiver.fileno(), readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            while receiver.poll():
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    raise BacktestFailed("the backtest process ended without a result") from None
                if kind == "progress":
                    progress(payload)
                elif kind == "done":
                    return payload
                elif kind == "invalid":
                    raise ValidationFailed([Problem(path, message) for path, message in payload])
                else:
                    raise BacktestFailed(payload)
    finally:
        loop.remove_reader(receiver.fileno())


# -- in the worker process ------------------------------------------------------------------


class _ReadOnlyHistory:
    """The historian read through a read-only connection of the worker's own."""

    def __init__(self, database: Path) -> None:
        self._conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)

    def history_columns(self, tag: str, start: float, end: float) -> historian.Columns:
        return historian.history_columns(self._conn, tag, start, end)


def _work(job: BacktestJob, sender: Connection) -> None:
    """The worker process: replay, report progress, send the result or the failure."""
    os.nice(WORKER_NICENESS)
    reported = 0.0

    def report(fraction: float) -> None:
        nonlocal reported
        now = time.monotonic()
        if now - reported >= PROGRESS_INTERVAL_S:
            reported = now
            sender.send(("progress", fraction))

    try:
        sessions = ModelSessions()
        for info, path in job.models.values():
            sessions.register(info, path)
        result = backtest(job.document, job.flow, _ReadOnlyHistory(job.database), job.start,
                          job.end, job.overrides, registry=NodeRegistry.with_builtins(),
                          inference=sessions, line_mode=job.line_mode,
                          trace_width=job.trace_width, progress=report)
        sender.send(("done", result))
    except ValidationFailed as exc:
        sender.send(("invalid", [(p.path, p.message) for p in exc.problems]))
    except Exception as exc:  # every failure goes back to the caller, in words
        log.exception("backtest.failed flow=%s", job.flow)
        sender.send(("failed", f"the backtest failed: {type(exc).__name__}: {exc}"))
    finally:
        sender.close()
