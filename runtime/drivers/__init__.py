"""PLC drivers: one connection hub per endpoint (OPC UA, Modbus TCP).

`make_hub` builds the hub for a connection; see `runtime.drivers.base.Hub` for what every hub
offers (start, stop, status, wait_connected, read, write).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from runtime.contracts.errors import DriverError
from runtime.contracts.project import Connection, ModbusConnection, OpcUaConnection, Tag
from runtime.drivers.base import Clock, ConnectionStatus, Hub, OnSamples, OnStatus
from runtime.supervision import Supervisor

__all__ = ["ConnectionStatus", "Hub", "make_hub"]


def make_hub(
    connection: Connection,
    tags: Sequence[Tag],
    on_samples: OnSamples,
    on_status: OnStatus | None = None,
    clock: Clock = time.time,
    supervisor: Supervisor | None = None,
) -> Hub:
    """The hub for this connection's kind, serving `tags` (all of this connection's tags);
    its reconnect loop runs under `supervisor` (one of its own when None)."""
    if isinstance(connection, OpcUaConnection):
        from runtime.drivers.opcua import OpcUaHub

        return OpcUaHub(connection, tags, on_samples, on_status, clock, supervisor)
    if isinstance(connection, ModbusConnection):
        from runtime.drivers.modbus import ModbusHub

        return ModbusHub(connection, tags, on_samples, on_status, clock, supervisor)
    kind = getattr(connection, "kind", "?")
    raise DriverError(f"connection {getattr(connection, 'id', '?')}: unknown kind {kind!r}")
