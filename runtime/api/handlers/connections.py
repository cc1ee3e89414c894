"""Connection operations: try a connection's settings before they are deployed."""

from __future__ import annotations

from typing import Any

from runtime.api.handlers import as_json
from runtime.api.operation import Context
from runtime.contracts.api import ApiError, Detail, ErrorCode
from runtime.contracts.project import connection_from_dict
from runtime.contracts.validation import validate_connection
from runtime.drivers.probe import probe

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0


async def connections_test(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Connect with a connection object's settings (nothing is deployed or changed), say
    who answered and how fast; unreachable is a result with ok false, not an error."""
    raw = data["connection"]
    problems = validate_connection(raw)
    if problems:
        raise ApiError(ErrorCode.INVALID, f"the connection has {len(problems)} problem(s); "
                                          "nothing was tried",
                       tuple(Detail(p.message, p.path) for p in problems))
    result = await probe(connection_from_dict(raw), data.get("timeout_s", DEFAULT_TIMEOUT_S),
                         modbus_read="unit_id" in raw)
    return as_json(result)
