"""System operations: the models a project may use, and the state of the sync."""

from __future__ import annotations

from typing import Any

from runtime.ai.model_file import info_to_dict
from runtime.api.handlers import as_json
from runtime.api.operation import Context


async def models_list(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The registered models: id@version, features in order, units, outputs; which are open."""
    inference = ctx.runtime.engine.inference
    if inference is None:
        return {"models": []}
    catalogue = inference.catalogue()
    opened = set(getattr(inference, "opened", lambda: [])())
    return {"models": [{"key": key, **info_to_dict(info), "open": key in opened}
                       for key, info in sorted(catalogue.items())]}


async def sync_status(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox and the broker: depth, oldest record, drain rate, last ack, drops."""
    forwarder = ctx.runtime.forwarder
    if forwarder is None:
        stats = ctx.runtime.store.outbox_stats()
        return {"broker_state": "disabled", "queue_records": stats.records,
                "queue_bytes": stats.bytes, "dropped_records": stats.dropped_records}
    return as_json(forwarder.status())
