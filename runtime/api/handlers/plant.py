"""Plant operations: the project's tags with their latest values, a person's writes, and
browsing a connection's address space."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.api.topics import tag_data
from runtime.contracts import Sample
from runtime.contracts.api import ApiError, ErrorCode

WRITE_TIMEOUT_S = 10.0


async def tags_list(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Every tag of the deployed project: its definition and latest value and quality."""
    project = ctx.runtime.project
    values = ctx.runtime.engine.tag_values
    tags = []
    for tag in project.tags if project is not None else ():
        latest = values.get(tag.id)
        tags.append({**as_json(tag), "latest": None if latest is None else tag_data(
            Sample(tag.id, *latest))})
    return {"tags": tags}


async def tags_read(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The latest value, time and quality the runtime has of each tag (as its flows saw
    them; subscribe to tags/<id> for every change)."""
    known = _tags(ctx)
    unknown = [t for t in data["tags"] if t not in known]
    if unknown:
        raise ApiError(ErrorCode.NOT_FOUND, f"no tag {', '.join(map(repr, unknown))} in the "
                                            "deployed project")
    values = ctx.runtime.engine.tag_values
    return {"values": {tag: None if tag not in values else tag_data(Sample(tag, *values[tag]))
                       for tag in data["tags"]}}


async def tags_write(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """A person's write to a writable tag: inside its envelope, in either line mode;
    audited with the user."""
    principal = ctx.principal
    written = await asyncio.wait_for(
        ctx.runtime.write_tag(data["tag"], data["value"], principal.user, principal.role),
        WRITE_TIMEOUT_S)
    return {"tag": data["tag"], "value": written}


async def tags_browse(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """A connection's address space: an OPC UA server's nodes under a node (browsed live),
    or a Modbus device's configured map."""
    runtime = ctx.runtime
    connection = data["connection"]
    hub = runtime.hubs.get(connection)
    if hub is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no connection '{connection}' in the deployed "
                                            "project")
    browse = getattr(hub, "browse", None)
    if browse is not None:
        entries = await browse(data.get("node"))
        return {"connection": connection, "kind": "opcua", "nodes": as_json(entries)}
    tags = [t for t in _tags(ctx).values() if t.connection == connection]
    return {"connection": connection, "kind": "modbus", "nodes": [
        {"node_id": t.address, "browse_name": t.id, "display_name": t.description or t.id,
         "node_class": "Variable", "data_type": t.type, "tag_type": t.type} for t in tags]}


def _tags(ctx: Context) -> dict[str, Any]:
    project = ctx.runtime.project
    return project.tags_by_id() if project is not None else {}
