"""The live action sink: executes approved writes through the drivers and records events.

The engine is synchronous; writes are queued here and a single worker performs them in
order, so a slow PLC never stalls dispatch. Every write is audited with the flow and node
that caused it; every event is handed to the recorder (the store). The worker runs under
the runtime's Supervisor and survives any error of a single write: that write is audited
as failed, the next one goes ahead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.contracts import DriverError, Event, WriteRequest
from runtime.supervision import Supervisor

log = logging.getLogger(__name__)
WORKER = "write-worker"

Writer = Callable[[str, Any], Any]  # async (tag id, value) -> None
Audit = Callable[..., None]  # (action, target, result, *, user, cause, details)


class LiveActions:
    """ActionSink for live flows: queued writes, line-mode requests, recorded events."""

    def __init__(self, writer: Writer, on_line_mode: Callable[[str, Event], None],
                 record_event: Callable[[Event], None], audit: Audit,
                 max_queue: int = 1000, supervisor: Supervisor | None = None) -> None:
        self._writer = writer
        self._on_line_mode = on_line_mode
        self._record_event = record_event
        self._audit = audit
        self.recent: deque[Event] = deque(maxlen=200)
        self.writes_done = 0
        self.writes_failed = 0
        self._queue: asyncio.Queue[WriteRequest] = asyncio.Queue(max_queue)
        self._supervisor = supervisor or Supervisor()
        self._idle = asyncio.Event()
        self._idle.set()
        self._unexpected: set[str] = set()

    def start(self) -> None:
        """Start the write worker (supervised)."""
        self._supervisor.start(WORKER, self._run)

    async def stop(self) -> None:
        """Stop the worker; writes still queued are not performed, and audited as dropped."""
        await self._supervisor.stop(WORKER)
        self.cancel_queued("dropped", "runtime stopping")

    def cancel_queued(self, result: str, reason: str) -> int:
        """Drop the rule writes approved but not yet performed (each audited with `result`
        and `reason`); returns how many."""
        count = 0
        while not self._queue.empty():
            self._audit_write(self._queue.get_nowait(), result, reason)
            count += 1
        return count

    async def drain(self) -> None:
        """Wait until every queued write was attempted."""
        await self._idle.wait()

    def write(self, request: WriteRequest) -> None:
        """Queue an approved write (refused and audited when the queue is full)."""
        try:
            self._queue.put_nowait(request)
            self._idle.clear()
        except asyncio.QueueFull:
            self.writes_failed += 1
            self._audit_write(request, "refused", "write queue full")

    def event(self, event: Event) -> None:
        """Record an event."""
        self.recent.append(event)
        self._record_event(event)

    def line_mode(self, mode: str, event: Event) -> None:
        """Apply a rule's line-mode request."""
        self.event(event)
        self._on_line_mode(mode, event)

    async def _run(self) -> None:
        while True:
            request = await self._queue.get()
            try:
                await self._writer(request.tag, request.value)
            except (DriverError, KeyError) as exc:
                self.writes_failed += 1
                self._audit_write(request, "failed", str(exc))
            except Exception as exc:
                self.writes_failed += 1
                error = f"{type(exc).__name__}: {exc}"
                self._audit_write(request, "failed", error)
                if error not in self._unexpected:  # the traceback once per distinct error
                    self._unexpected.add(error)
                    log.error("actions.write_failed tag=%s error=%r", request.tag, error,
                              exc_info=exc)
            else:
                self.writes_done += 1
                self._audit_write(request, "ok")
            finally:
                if self._queue.empty():
                    self._idle.set()

    def _audit_write(self, request: WriteRequest, result: str, error: str = "") -> None:
        self._audit("write", request.tag, result, user="rule",
                    cause=f"flow={request.flow} node={request.node}",
                    details={"value": request.value, "ts": request.ts, "error": error})


class ShadowActions:
    """ActionSink for a shadow flow: nothing reaches the plant or the line. What it would
    have done (alarms, writes, line-mode changes, as events marked shadow) is recorded in
    the store, so a comparison survives a restart and memory stays flat however long the
    shadow runs; the store's retention bounds how long it is kept."""

    def __init__(self, record_event: Callable[[Event], object]) -> None:
        self._record_event = record_event

    def write(self, request: WriteRequest) -> None:
        """Nothing is written; the node's "write" event records what would have been."""

    def event(self, event: Event) -> None:
        """Record the event (marked shadow by the node's context)."""
        self._record_event(event)

    def line_mode(self, mode: str, event: Event) -> None:
        """Record the request; the line mode is not changed."""
        self._record_event(event)
