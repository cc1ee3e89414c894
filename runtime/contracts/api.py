"""The control API's wire format, shared by the server (runtime.api) and the client
(runtime.client): envelopes, error codes and the API error.

A client sends requests `{"id", "op", "data"}`; the runtime answers each with a response
`{"id", "ok": true, "data"}` or `{"id", "ok": false, "error": {"code", "message",
"details"}}` and pushes events `{"topic", "data"}`. The first message on a connection is the
event "hello". One WebSocket text frame carries one envelope, or a JSON array of envelopes
(the runtime packs events that way when many are due at once).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from runtime.contracts.errors import LinesideError

PROTOCOL = "lineside.api/1"
HELLO = "hello"
DROPPED = "dropped"
"""The event telling a slow client how many of its updates were dropped (oldest first)."""


BUCKET_COLUMNS = ("first_ts", "last_ts", "min", "max", "last", "quality", "count")
"""The columns of downsampled history and backtest traces (Buckets): one entry per bucket."""


class ErrorCode:
    """What went wrong with a request (stable strings on the wire)."""

    BAD_REQUEST = "bad_request"
    """Not JSON, not a request envelope, or data that does not match the operation's schema."""
    UNKNOWN_OP = "unknown_op"
    UNAUTHENTICATED = "unauthenticated"
    """Not logged in, the session expired, or the login was refused."""
    FORBIDDEN = "forbidden"
    """Logged in, but the role may not do this."""
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    """A document or value with problems; `details` lists each with its path."""
    REFUSED = "refused"
    """The runtime would not do it (a store that cannot save, a write outside its envelope)."""
    CONFLICT = "conflict"
    """Someone else changed it first (a deploy against a stale base version)."""
    CANCELLED = "cancelled"
    """Cancelled on request before it finished (a backtest)."""
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    """A fault in the runtime; logged there with its traceback."""

    ALL = (BAD_REQUEST, UNKNOWN_OP, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID, REFUSED,
           CONFLICT, CANCELLED, TOO_LARGE, RATE_LIMITED, INTERNAL)


@dataclass(frozen=True)
class Detail:
    """One problem of an error: where (a JSON path, when there is one) and what."""

    message: str
    path: str = ""

    def to_dict(self) -> dict[str, str]:
        """The wire form."""
        return {"path": self.path, "message": self.message} if self.path else {
            "message": self.message}


class ApiError(LinesideError):
    """An error response: its code, a message for a person, and the problems in detail."""

    def __init__(self, code: str, message: str, details: tuple[Detail, ...] = ()) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{code}: {message}")

    def to_dict(self) -> dict[str, Any]:
        """The `error` object of a response."""
        return {"code": self.code, "message": self.message,
                "details": [d.to_dict() for d in self.details]}

    @classmethod
    def from_dict(cls, error: Any) -> ApiError:
        """The error of a response as received (anything malformed is an internal error)."""
        if not isinstance(error, dict):
            return cls(ErrorCode.INTERNAL, f"malformed error from the runtime: {error!r}")
        details = tuple(Detail(str(d.get("message", "")), str(d.get("path", "")))
                        for d in error.get("details") or () if isinstance(d, dict))
        return cls(str(error.get("code", ErrorCode.INTERNAL)), str(error.get("message", "")),
                   details)


@dataclass(frozen=True)
class Hello:
    """What the runtime says first: protocol, its version and node, and how to log in."""

    protocol: str
    runtime_version: str
    node_id: str
    auth: tuple[str, ...] = field(default=("token", "password"))

    def to_dict(self) -> dict[str, Any]:
        """The data of the hello event."""
        return {"protocol": self.protocol, "runtime_version": self.runtime_version,
                "node_id": self.node_id, "auth": list(self.auth)}


def request(request_id: int | str, op: str, data: Any = None) -> dict[str, Any]:
    """A request envelope."""
    return {"id": request_id, "op": op, "data": {} if data is None else data}


def response(request_id: Any, data: Any) -> dict[str, Any]:
    """A successful response envelope."""
    return {"id": request_id, "ok": True, "data": data}


def error_response(request_id: Any, error: ApiError) -> dict[str, Any]:
    """A failed response envelope."""
    return {"id": request_id, "ok": False, "error": error.to_dict()}


def event(topic: str, data: Any) -> dict[str, Any]:
    """An event envelope."""
    return {"topic": topic, "data": data}


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a TLS certificate (DER bytes), as AA:BB:... hex."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def same_fingerprint(a: str, b: str) -> bool:
    """Whether two fingerprints name the same certificate (case and separators ignored)."""
    def plain(text: str) -> str:
        return text.replace(":", "").replace(" ", "").lower()
    return plain(a) == plain(b)
