"""History operations: tags over a window for a plot, events, the audit log (all read in
worker threads, never on the runtime's loop)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.contracts.api import ApiError, ErrorCode
from runtime.contracts.errors import LinesideError
from runtime.store import Store

FLUSH_WAIT_S = 2.0


async def committed(ctx: Context) -> None:
    """Commit what the store holds first, so a query sees everything up to the request
    (waiting at most FLUSH_WAIT_S: a degraded store answers with what it has)."""
    with contextlib.suppress(TimeoutError, LinesideError):
        await asyncio.wait_for(ctx.runtime.store.flush(), FLUSH_WAIT_S)


async def history_query(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """One or more tags over [start, end): min, max and last per bucket, `width` buckets
    (one per pixel of the plot)."""
    start, end, width = data["start"], data["end"], data["width"]
    if not end > start:
        raise ApiError(ErrorCode.BAD_REQUEST, f"end ({end}) must be after start ({start})")
    await committed(ctx)
    store = ctx.runtime.store
    series = {}
    for tag in data["tags"]:
        series[tag] = await store.read(_buckets, store, tag, start, end, width)
    return {"start": start, "end": end, "width": width, "series": series}


def _buckets(store: Store, tag: str, start: float, end: float, width: int
             ) -> dict[str, list[Any]]:
    """In a worker thread: a tag's buckets as columns, read off the event loop."""
    return store.history_downsampled(tag, start, end, width).to_dict()


async def events_query(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Events in [start, end), optionally of some kinds, oldest or newest first."""
    await committed(ctx)
    store = ctx.runtime.store
    events = await store.read(store.events, data["start"], data["end"], data.get("kinds"),
                              data.get("limit", 1000), data.get("newest_first", False))
    return {"events": [as_json(e) for e in events]}


async def audit_query(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Audit records in [start, end), optionally of one action."""
    await committed(ctx)
    store = ctx.runtime.store
    records = await store.read(store.audit_records, data["start"], data["end"],
                               data.get("action"), data.get("limit", 1000),
                               data.get("newest_first", False))
    return {"records": [as_json(r) for r in records]}
