"""Rule tuning: backtests of a flow with changed parameters (in a worker process, with
progress and cancel), and shadow copies started, compared, promoted and stopped."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

from runtime.ai.sessions import ModelSessions
from runtime.api.handlers import as_json
from runtime.api.handlers.history import committed
from runtime.api.handlers.project import deployed_result, latest_version
from runtime.api.operation import Context
from runtime.backtests import BacktestCancelled, BacktestFailed, BacktestJob
from runtime.contracts import ValidationFailed
from runtime.contracts.api import ApiError, ErrorCode
from runtime.engine import shadow

MAX_EVENTS = 5000
"""The most events a backtest answers with (the count says how many there were)."""
MAX_VERSIONS_BACK = 200
"""How far back shadow.compare looks for the version that started a shadow."""
SHADOW_LOOKBACK_S = 60.0
"""shadow.compare starts this long before the shadow's version was saved: a shadow's first
samples carry their source's timestamps, which may be a little older than the deploy."""


def backtest_topic(run: str) -> str:
    """The topic of a backtest's progress."""
    return f"backtests/{run}"


async def backtest_run(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Replay a deployed flow, with changed parameters, over a window of history: what it
    would have done, and its node outputs as plot traces. Progress on backtests/<run>."""
    start, end = data["start"], data["end"]
    if not end > start:
        raise ApiError(ErrorCode.BAD_REQUEST, f"end ({end}) must be after start ({start})")
    number = data.get("version") or await latest_version(ctx)
    store = ctx.runtime.store
    document = await store.read(store.version, number)
    await committed(ctx)
    inference = ctx.runtime.engine.inference
    models = inference.registered() if isinstance(inference, ModelSessions) else {}
    job = BacktestJob(database=store.path, models=models,
                      document=document, flow=data["flow"], start=start, end=end,
                      overrides=data.get("params", {}), trace_width=data.get("width", 600),
                      line_mode=data.get("line_mode", "automatic"))
    run = data.get("run") or uuid.uuid4().hex
    topic = backtest_topic(run)

    def progress(fraction: float) -> None:
        ctx.hub.publish(topic, {"run": run, "state": "running", "fraction": fraction})

    try:
        result = await ctx.backtests.run(run, job, progress)
    except BacktestCancelled as exc:
        ctx.hub.publish(topic, {"run": run, "state": "cancelled"})
        raise ApiError(ErrorCode.CANCELLED, str(exc)) from None
    except BacktestFailed as exc:
        ctx.hub.publish(topic, {"run": run, "state": "failed"})
        raise ApiError(ErrorCode.REFUSED, str(exc)) from None
    ctx.hub.publish(topic, {"run": run, "state": "done", "fraction": 1.0})
    events = result.events
    return {"run": run, "flow": result.flow_id, "version": number, "start": start, "end": end,
            "samples": result.samples, "elapsed_s": result.elapsed_s, "errors": result.errors,
            "events_total": len(events), "events": as_json(events[:MAX_EVENTS]),
            "alarms_raised": sum(e.kind == "alarm.raised" for e in events),
            "writes": as_json(result.writes[:MAX_EVENTS]), "line_modes": result.line_modes,
            "traces": result.traces}


async def backtest_cancel(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """End a running backtest (its request answers `cancelled`)."""
    if not ctx.backtests.cancel(data["run"]):
        raise ApiError(ErrorCode.NOT_FOUND, f"no backtest '{data['run']}' is running")
    return {"run": data["run"]}


async def shadow_start(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Deploy a shadow copy of a live flow with changed parameters, as a new version."""
    number, document = await _latest(ctx)
    with _audited_refusal(ctx, "shadow.start"):
        edited, shadow_id = shadow.with_shadow(document, data["flow"], data.get("params", {}))
    result = await _deploy(ctx, edited, number, "shadow.start",
                           data.get("comment") or f"shadow of {data['flow']} started")
    return {"shadow": shadow_id, **result}


async def shadow_compare(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The shadow's alarms and writes against the live flow's, since the shadow started
    (or over [start, end))."""
    flow = data["flow"]
    number, document = await _latest(ctx)
    copy = shadow.find_shadow(document, flow)
    if copy is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"flow '{flow}' has no shadow running")
    start = data.get("start") or await _shadow_started(ctx, flow, number) - SHADOW_LOOKBACK_S
    end = data.get("end") or time.time()
    comparison = await ctx.runtime.shadow_comparison(copy["id"], flow, start, end)
    return {"flow": flow, "shadow": copy["id"], "start": start, "end": end,
            "params": {n["id"]: n.get("params", {}) for n in copy["nodes"]},
            "comparison": as_json(comparison), "summary": comparison.lines()}


async def shadow_promote(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The shadow's parameters become the live flow's, as a new version; the shadow ends."""
    number, document = await _latest(ctx)
    with _audited_refusal(ctx, "shadow.promote"):
        edited, changes = shadow.promoted(document, data["flow"])
    result = await _deploy(ctx, edited, number, "shadow.promote",
                           data.get("comment") or f"shadow of {data['flow']} promoted")
    return {"changes": changes, **result}


async def shadow_stop(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Remove a live flow's shadow, as a new version."""
    number, document = await _latest(ctx)
    with _audited_refusal(ctx, "shadow.stop"):
        edited = shadow.without_shadow(document, data["flow"])
    return await _deploy(ctx, edited, number, "shadow.stop",
                         data.get("comment") or f"shadow of {data['flow']} stopped")


@contextlib.contextmanager
def _audited_refusal(ctx: Context, action: str) -> Iterator[None]:
    """Audit a document edit that was refused (the deploy audits the rest)."""
    try:
        yield
    except ValidationFailed as exc:
        ctx.audit(action, "project", "refused",
                  {"problems": [{"path": p.path, "message": p.message} for p in exc.problems]})
        raise


async def _latest(ctx: Context) -> tuple[int, dict[str, Any]]:
    number = await latest_version(ctx)
    store = ctx.runtime.store
    return number, await store.read(store.version, number)


async def _deploy(ctx: Context, document: dict[str, Any], base: int, action: str,
                  comment: str) -> dict[str, Any]:
    """Deploy an edited document against the version it was edited from, audited as
    `action`."""
    result = await ctx.runtime.deploy(document, ctx.principal.user, comment, action=action,
                                      base_version=base, role=ctx.principal.role)
    return await deployed_result(ctx, result)


async def _shadow_started(ctx: Context, flow: str, latest: int) -> float:
    """When the version that started the running shadow of `flow` was saved."""
    store = ctx.runtime.store
    saved = {v.number: v.ts for v in await store.read(store.versions)}
    first = latest
    for number in range(latest - 1, max(0, latest - MAX_VERSIONS_BACK), -1):
        if number not in saved:
            break
        if shadow.find_shadow(await store.read(store.version, number), flow) is None:
            break
        first = number
    return saved[first]
