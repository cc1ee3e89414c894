"""System operations: the state of the sync."""

from __future__ import annotations

from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context


async def sync_status(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox and the broker: depth, oldest record, drain rate, last ack, drops."""
    forwarder = ctx.runtime.forwarder
    if forwarder is None:
        stats = ctx.runtime.store.outbox_stats()
        return {"broker_state": "disabled", "queue_records": stats.records,
                "queue_bytes": stats.bytes, "dropped_records": stats.dropped_records}
    return as_json(forwarder.status())
