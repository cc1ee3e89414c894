"""Session operations: log in and out, who am I, the runtime's status, subscriptions."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.api.session import Principal
from runtime.api.token import token_matches
from runtime.api.users import AccountLocked, LoginRefused
from runtime.contracts.api import ApiError, ErrorCode

LOCAL_USER = "local"
TOPIC_PATTERNS = ("tags/*", "alarms", "connections", "line", "sync", "runtime", "backtests/*",
                  "flows/*/debug")
"""What can be subscribed to (a pattern must match at least one topic of these forms)."""


async def login(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Log in with the local token file's token, or a user name and password."""
    peer = ctx.session.peer
    if "token" in data:
        token = ctx.token
        if token is None or not token_matches(token.token, data["token"]):
            ctx.runtime.audit("auth.login", LOCAL_USER, "refused: bad token", user=LOCAL_USER,
                              details={"client": peer, "via": "token"})
            raise ApiError(ErrorCode.UNAUTHENTICATED, "the token is not this runtime's")
        principal = Principal(LOCAL_USER, token.role, "token")
        ctx.runtime.audit("auth.login", LOCAL_USER, "ok", user=LOCAL_USER, role=token.role,
                          details={"client": peer, "via": "token"})
    elif "user" in data and "password" in data:
        try:
            user = await asyncio.to_thread(ctx.users.verify, data["user"], data["password"],
                                           peer)
        except AccountLocked as exc:
            raise ApiError(ErrorCode.UNAUTHENTICATED, str(exc)) from None
        except LoginRefused as exc:
            raise ApiError(ErrorCode.UNAUTHENTICATED, str(exc)) from None
        principal = Principal(user.name, user.role, "password")
    else:
        raise ApiError(ErrorCode.BAD_REQUEST, "log in with {token} or {user, password}")
    ctx.session.login(principal)
    ctx.hooks.role_changed(ctx.session)
    return whoami_of(ctx)


async def logout(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Log out (the connection stays open; its subscriptions end)."""
    ctx.audit("auth.logout", ctx.principal.user, "ok", {"client": ctx.session.peer})
    for pattern in ctx.hub.patterns(ctx.session):
        ctx.hub.unsubscribe(ctx.session, pattern)
    ctx.session.logout()
    ctx.hooks.role_changed(ctx.session)
    return {}


async def whoami(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Who is logged in on this connection."""
    return whoami_of(ctx)


def whoami_of(ctx: Context) -> dict[str, Any]:
    principal = ctx.principal
    return {"user": principal.user, "role": principal.role, "via": principal.via,
            "subscriptions": ctx.hub.patterns(ctx.session),
            "idle_logout_s": ctx.config.panel_idle_logout_s}


async def status(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The runtime's status: version, uptime, connections, flows, tasks, store and sync."""
    return as_json(ctx.runtime.status())


async def subscribe(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Receive the topics matching a pattern; retained ones arrive at once."""
    pattern = data["pattern"]
    if not any(fnmatch.fnmatchcase(topic, pattern) or fnmatch.fnmatchcase(pattern, topic)
               for topic in TOPIC_PATTERNS):
        raise ApiError(ErrorCode.NOT_FOUND, f"no topic matches {pattern!r}; topics: "
                                            f"{', '.join(TOPIC_PATTERNS)}")
    sent = ctx.hub.subscribe(ctx.session, pattern)
    return {"pattern": pattern, "retained": sent}


async def unsubscribe(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Stop receiving a pattern's topics."""
    if not ctx.hub.unsubscribe(ctx.session, data["pattern"]):
        raise ApiError(ErrorCode.NOT_FOUND, f"not subscribed to {data['pattern']!r}")
    return {"pattern": data["pattern"]}
