"""What an API operation is (name, role, data schema, handler) and what its handler gets.

The table of every operation is runtime.api.operations.OPERATIONS; the server checks each
request against it and docs/api.md is generated from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from runtime.api.session import Principal, Session
from runtime.api.topics import TopicHub

if TYPE_CHECKING:
    from runtime.ai.registry import ModelRegistry
    from runtime.api.config import ApiConfig
    from runtime.api.token import LocalToken
    from runtime.api.users import Users
    from runtime.backtests import Backtests
    from runtime.service import Runtime


class ServerHooks(Protocol):
    """What handlers may ask of the server beyond the runtime."""

    def alarms_changed(self) -> None:
        """The alarm list changed: publish it again soon."""

    def role_changed(self, session: Session) -> None:
        """A session logged in or out: fit its frame limit to its role."""

    def backlog(self, start: float) -> dict[str, Any]:
        """The outbox's depth over time from `start` (epoch seconds), as columns."""


@dataclass
class Context:
    """A request's world: the runtime, the caller's session, the topics, the accounts, the
    model registry and the API's settings."""

    runtime: Runtime
    session: Session
    hub: TopicHub
    users: Users
    token: LocalToken | None
    hooks: ServerHooks
    backtests: Backtests
    models: ModelRegistry
    config: ApiConfig

    @property
    def principal(self) -> Principal:
        """Who is calling (operations that need a role are only called when logged in)."""
        assert self.session.principal is not None
        return self.session.principal

    def audit(self, action: str, target: str, result: str,
              details: dict[str, Any] | None = None) -> None:
        """Audit an action of the caller's."""
        self.runtime.audit(action, target, result, user=self.principal.user,
                           role=self.principal.role, details=details)


Handler = Callable[[Context, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    """One operation: who may call it, what its data looks like, what it returns."""

    name: str
    role: str | None
    """The least role that may call it; None: anyone, logged in or not."""
    summary: str
    data: dict[str, Any]
    """JSON Schema of the request's data."""
    result: str
    handler: Handler = field(compare=False, repr=False)


# -- JSON Schema, briefly --------------------------------------------------------------------


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object with these properties (no others)."""
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


def text(max_length: int = 256, **extra: Any) -> dict[str, Any]:
    """A non-empty string."""
    return {"type": "string", "minLength": 1, "maxLength": max_length, **extra}


def number(**extra: Any) -> dict[str, Any]:
    """A number."""
    return {"type": "number", **extra}


def integer(**extra: Any) -> dict[str, Any]:
    """An integer."""
    return {"type": "integer", **extra}


def one_of(*values: str) -> dict[str, Any]:
    """One of these strings."""
    return {"enum": list(values)}


def array(items: dict[str, Any], max_items: int = 1000, **extra: Any) -> dict[str, Any]:
    """A list."""
    return {"type": "array", "items": items, "maxItems": max_items, **extra}


NOTHING = obj()
"""No data (an empty object)."""
