"""System operations: the state of the sync."""

from __future__ import annotations

import time
from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.service import Runtime


def sync_state(runtime: Runtime) -> dict[str, Any]:
    """The outbox and the broker: depth, oldest record, drain rate, last ack, drops (the
    outbox alone when no broker is configured)."""
    forwarder = runtime.forwarder
    if forwarder is None:
        stats = runtime.store.outbox_stats()
        oldest = stats.oldest_ts
        return {"broker_state": "disabled", "queue_records": stats.records,
                "queue_bytes": stats.bytes, "dropped_records": stats.dropped_records,
                "oldest_age_s": max(0.0, time.time() - oldest) if oldest is not None else 0.0}
    return dict(as_json(forwarder.status()))


async def sync_status(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox and the broker: depth, oldest record, drain rate, last ack, drops."""
    return sync_state(ctx.runtime)


async def sync_backlog(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox's depth over the last `hours` (default 8)."""
    return ctx.hooks.backlog(time.time() - float(data.get("hours", 8.0)) * 3600.0)
