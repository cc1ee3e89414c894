"""Line operations: the line mode, and stopping every AI-driven write at once."""

from __future__ import annotations

from typing import Any

from runtime.api.operation import Context
from runtime.contracts import LineMode
from runtime.contracts.api import ApiError, ErrorCode


async def set_mode(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Switch the line between automatic and manual."""
    principal = ctx.principal
    cancelled = await ctx.runtime.set_line_mode(data["mode"], principal.user,
                                                data.get("cause", ""), principal.role)
    return {"mode": ctx.runtime.line_mode, "cancelled_writes": cancelled}


async def stop_ai_writes(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Put the line in manual (confirmed by the caller): no rule writes from now on, and
    those already queued are cancelled; says how many were."""
    if data.get("confirm") is not True:
        raise ApiError(ErrorCode.BAD_REQUEST, "stopping AI writes needs confirm: true")
    principal = ctx.principal
    cancelled = await ctx.runtime.set_line_mode(LineMode.MANUAL, principal.user,
                                                "stop AI writes", principal.role)
    return {"mode": LineMode.MANUAL, "cancelled_writes": cancelled}
