"""Engineering operations: node types, the project and its versions, deploy and rollback."""

from __future__ import annotations

from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.contracts.api import ApiError, ErrorCode
from runtime.contracts.diff import diff_projects
from runtime.contracts.validation import validate_project
from runtime.engine import DeployResult


async def registry_list(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Every node type the runtime can run (plug-ins included), with ports and parameters."""
    return {"node_types": [spec.to_dict() for spec in ctx.runtime.registry.specs()]}


async def project_get(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """A saved version's document (the latest when none is asked for)."""
    store = ctx.runtime.store
    number = data.get("version")
    if number is None:
        number = await latest_version(ctx)
    versions = {v.number: v for v in await store.read(store.versions)}
    if number not in versions:
        raise ApiError(ErrorCode.NOT_FOUND, f"there is no version {number}")
    document = await store.read(store.version, number)
    deployed = ctx.runtime.project
    return {**as_json(versions[number]), "document": document,
            "running": deployed is not None and deployed.hash == versions[number].hash}


async def latest_version(ctx: Context) -> int:
    """The number of the latest saved version (NOT_FOUND before the first deploy)."""
    store = ctx.runtime.store
    latest = await store.read(store.latest_version)
    if latest is None:
        raise ApiError(ErrorCode.NOT_FOUND, "nothing has been deployed yet")
    return latest.number


async def deployed_result(ctx: Context, result: DeployResult) -> dict[str, Any]:
    """What a deploy answers: the new version, its hash, and which flows started, were
    kept and stopped."""
    store = ctx.runtime.store
    latest = await store.read(store.latest_version)
    return {"version": latest.number if latest else None, "hash": result.project_hash,
            "started": list(result.started), "kept": list(result.kept),
            "stopped": list(result.stopped)}


async def project_validate(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Every problem of a document, with its path (nothing is deployed)."""
    runtime = ctx.runtime
    models = runtime.engine.inference.catalogue() if runtime.engine.inference else {}
    problems = validate_project(data["document"], runtime.registry.catalogue(), models)
    return {"problems": [{"path": p.path, "message": p.message} for p in problems]}


async def project_deploy(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Deploy a document (refused with every problem, or when another version was deployed
    since `base_version`)."""
    result = await ctx.runtime.deploy(
        data["document"], ctx.principal.user, data.get("comment", ""),
        base_version=data.get("base_version"), role=ctx.principal.role)
    return await deployed_result(ctx, result)


async def project_rollback(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Deploy an earlier version again."""
    result = await ctx.runtime.rollback(data["version"], ctx.principal.user,
                                        ctx.principal.role)
    return await deployed_result(ctx, result)


async def project_versions(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Every saved version, newest first (no documents)."""
    store = ctx.runtime.store
    versions = await store.read(store.versions)
    return {"versions": [as_json(v) for v in reversed(versions)]}


async def project_diff(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """What changed from one version to another, per connection, tag, flow, node,
    parameter and wire."""
    store = ctx.runtime.store
    known = {v.number for v in await store.read(store.versions)}
    for key in ("from", "to"):
        if data[key] not in known:
            raise ApiError(ErrorCode.NOT_FOUND, f"there is no version {data[key]}")
    old = await store.read(store.version, data["from"])
    new = await store.read(store.version, data["to"])
    return {"changes": [c.to_dict() for c in diff_projects(old, new)]}
