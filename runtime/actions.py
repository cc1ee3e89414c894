"""The live action sink: executes approved writes through the drivers and records events.

The engine is synchronous; writes are queued here and a single worker performs them in
order, so a slow PLC never stalls dispatch. Every write is logged as an audit record
with the flow and node that caused it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.alarms import AlarmBoard
from runtime.contracts import DriverError, Event, WriteRequest

log = logging.getLogger(__name__)
audit = logging.getLogger("lineside.audit")

Writer = Callable[[str, Any], Any]  # async (tag id, value) -> None


class LiveActions:
    """ActionSink for live flows: queued writes, alarm board, line mode, recent events."""

    def __init__(self, writer: Writer, on_line_mode: Callable[[str, Event], None],
                 board: AlarmBoard, max_queue: int = 1000) -> None:
        self._writer = writer
        self._on_line_mode = on_line_mode
        self.board = board
        self.events: deque[Event] = deque(maxlen=500)
        self.writes_done = 0
        self.writes_failed = 0
        self._queue: asyncio.Queue[WriteRequest] = asyncio.Queue(max_queue)
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        """Start the write worker."""
        self._worker = asyncio.create_task(self._run(), name="lineside-writes")

    async def stop(self) -> None:
        """Stop the worker; writes still queued are dropped and logged."""
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        while not self._queue.empty():
            request = self._queue.get_nowait()
            audit.warning("write tag=%s value=%s flow=%s node=%s result=dropped_on_stop",
                          request.tag, request.value, request.flow, request.node)

    async def drain(self) -> None:
        """Wait until every queued write was attempted."""
        await self._idle.wait()

    def write(self, request: WriteRequest) -> None:
        """Queue an approved write (refused and logged when the queue is full)."""
        try:
            self._queue.put_nowait(request)
            self._idle.clear()
        except asyncio.QueueFull:
            self.writes_failed += 1
            audit.error("write tag=%s value=%s flow=%s node=%s result=refused reason=queue_full",
                        request.tag, request.value, request.flow, request.node)

    def event(self, event: Event) -> None:
        """Record an event and update the alarm board."""
        self.events.append(event)
        if self.board.apply(event) is not None:
            log.warning("alarm.%s alarm=%s priority=%s flow=%s ts=%.3f",
                        event.kind.split(".")[1], event.data["alarm"],
                        event.data.get("priority"), event.flow, event.ts)

    def line_mode(self, mode: str, event: Event) -> None:
        """Apply a rule's line-mode request."""
        self.events.append(event)
        self._on_line_mode(mode, event)

    async def _run(self) -> None:
        while True:
            request = await self._queue.get()
            try:
                await self._writer(request.tag, request.value)
            except (DriverError, KeyError) as exc:
                self.writes_failed += 1
                audit.error("write tag=%s value=%s flow=%s node=%s result=failed error=%s",
                            request.tag, request.value, request.flow, request.node, exc)
            else:
                self.writes_done += 1
                audit.info("write tag=%s value=%s flow=%s node=%s result=ok", request.tag,
                           request.value, request.flow, request.node)
            if self._queue.empty():
                self._idle.set()
