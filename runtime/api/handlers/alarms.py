"""Alarm operations: the list, acknowledge, shelve and unshelve (with notes, audited)."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.api.handlers import as_json
from runtime.api.handlers.history import committed
from runtime.api.operation import Context


async def alarms_list(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Every alarm not normal, most important and newest first, shelved ones included."""
    await committed(ctx)
    store = ctx.runtime.store
    alarms = await store.read(store.active_alarms, True)
    return {"alarms": [as_json(a) for a in alarms]}


async def alarms_ack(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge an alarm, with a note."""
    principal = ctx.principal
    record = await asyncio.wrap_future(ctx.runtime.store.ack(
        data["alarm"], principal.user, data.get("note", ""), principal.role))
    ctx.hooks.alarms_changed()
    return as_json(record)


async def alarms_shelve(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Shelve an alarm for a while (it returns by itself), with a note."""
    principal = ctx.principal
    record = await asyncio.wrap_future(ctx.runtime.store.shelve(
        data["alarm"], principal.user, data["duration_s"], data.get("note", ""),
        principal.role))
    ctx.hooks.alarms_changed()
    return as_json(record)


async def alarms_unshelve(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Return a shelved alarm now."""
    principal = ctx.principal
    record = await asyncio.wrap_future(ctx.runtime.store.unshelve(
        data["alarm"], principal.user, principal.role))
    ctx.hooks.alarms_changed()
    return as_json(record)
