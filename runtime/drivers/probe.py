"""Try a connection's settings once, without deploying: connect, ask the server who it is,
time one request, disconnect.

The clients and their security are made by the drivers' own factories (`opcua.new_client`,
`opcua.configure_security`, `modbus.new_client`), so a probe connects exactly as a hub
would. A server that cannot be reached is a result (ok false, the first error in words),
never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

from asyncua import ua

from runtime.contracts.api import fingerprint
from runtime.contracts.project import Connection, ModbusConnection, OpcUaConnection
from runtime.drivers import modbus, opcua
from runtime.drivers.base import describe

log = logging.getLogger(__name__)

_BUILD_INFO = {
    "product_name": ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductName,
    "manufacturer_name": ua.ObjectIds.Server_ServerStatus_BuildInfo_ManufacturerName,
    "software_version": ua.ObjectIds.Server_ServerStatus_BuildInfo_SoftwareVersion,
    "build_number": ua.ObjectIds.Server_ServerStatus_BuildInfo_BuildNumber,
    "product_uri": ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductUri,
    "state": ua.ObjectIds.Server_ServerStatus_State,
}
_MODES = {ua.MessageSecurityMode.None_: "None", ua.MessageSecurityMode.Sign: "Sign",
          ua.MessageSecurityMode.SignAndEncrypt: "SignAndEncrypt"}


@dataclass(frozen=True)
class ProbeResult:
    """What trying a connection found: reachable or not, who answered, how fast."""

    ok: bool
    kind: str
    endpoint: str
    """The OPC UA endpoint URL, or host:port of a Modbus device."""
    security: dict[str, str]
    server: dict[str, Any] = field(default_factory=dict)
    certificate_fingerprint: str | None = None
    """SHA-256 of the OPC UA server's certificate (AA:BB:...), None without one."""
    latency_ms: float | None = None
    """The round trip of one request once connected."""
    error: str | None = None
    """The first error, in words (with ok true: the device answered, but with an error)."""


async def probe(connection: Connection, timeout_s: float, *,
                modbus_read: bool = True) -> ProbeResult:
    """Connect to the connection's server within `timeout_s`, read who it is, disconnect;
    for Modbus, read holding register 0 of its unit unless `modbus_read` is False."""
    started = time.monotonic()
    if isinstance(connection, OpcUaConnection):
        result = await _probe_opcua(connection, timeout_s)
    else:
        result = await _probe_modbus(connection, timeout_s, modbus_read)
    log.info("connection.probe kind=%s endpoint=%s ok=%s latency_ms=%s took_ms=%.0f error=%r",
             result.kind, result.endpoint, str(result.ok).lower(), result.latency_ms,
             (time.monotonic() - started) * 1000, result.error or "")
    return result


# -- OPC UA ------------------------------------------------------------------------------


async def _probe_opcua(conn: OpcUaConnection, timeout_s: float) -> ProbeResult:
    conn = replace(conn, timeout_s=min(conn.timeout_s, timeout_s))
    security = {"policy": conn.security.policy or "None", "mode": conn.security.mode or "None"}
    found: dict[str, Any] = {"security": security}
    client = opcua.new_client(conn)
    connected = False
    try:
        async with asyncio.timeout(timeout_s):
            await opcua.configure_security(client, conn.security)
            await client.connect()
            connected = True
            await _describe_opcua(client, found)
    except TimeoutError:
        return _opcua_result(conn, found, f"no answer from {conn.endpoint} within {timeout_s:g} s")
    except Exception as exc:
        return _opcua_result(conn, found, _in_words(exc, conn.endpoint))
    finally:
        await opcua.close_client(client, connected, conn.timeout_s, f"probe:{conn.id}")
    return _opcua_result(conn, found, None)


async def _describe_opcua(client: Any, found: dict[str, Any]) -> None:
    """The server's build info (timing the read), then its endpoint description: the
    application and the certificate of the endpoint this client is connected to."""
    params = ua.ReadParameters()
    for node in _BUILD_INFO.values():
        params.NodesToRead.append(ua.ReadValueId(NodeId=ua.NodeId(node),  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
                                                 AttributeId=ua.AttributeIds.Value))
    sent = time.monotonic()
    values = await client.uaclient.read(params)
    found["latency_ms"] = round((time.monotonic() - sent) * 1000, 2)
    server: dict[str, Any] = {}
    for name, dv in zip(_BUILD_INFO, values, strict=True):
        good = dv.Value is not None and (dv.StatusCode is None or dv.StatusCode.is_good())
        value = dv.Value.Value if good else None
        if name == "state" and isinstance(value, int):
            value = ua.ServerState(value).name
        server[name] = value
    endpoints = await client.get_endpoints()
    policy_uri = client.security_policy.URI
    mode = client.security_policy.Mode
    chosen = next((e for e in endpoints if e.SecurityPolicyUri == policy_uri
                   and e.SecurityMode == mode), endpoints[0] if endpoints else None)
    if chosen is not None:
        application = chosen.Server
        server.update(application_name=application.ApplicationName.Text,
                      application_uri=application.ApplicationUri,
                      application_product_uri=application.ProductUri)
        if chosen.ServerCertificate:
            found["certificate_fingerprint"] = fingerprint(
                _first_certificate(chosen.ServerCertificate))
    found["security"] = {"policy": policy_uri.rpartition("#")[2] or "None",
                         "mode": _MODES.get(mode, str(mode))}
    found["server"] = server


def _first_certificate(der: bytes) -> bytes:
    """The server's own certificate of a DER blob that may hold its chain after it (the
    outer SEQUENCE's long-form length says where the first one ends)."""
    if len(der) > 4 and der[1] == 0x82:
        return der[:int.from_bytes(der[2:4], "big") + 4]
    return der


def _opcua_result(conn: OpcUaConnection, found: dict[str, Any],
                  error: str | None) -> ProbeResult:
    return ProbeResult(ok=error is None, kind="opcua", endpoint=conn.endpoint,
                       security=found["security"], server=found.get("server", {}),
                       certificate_fingerprint=found.get("certificate_fingerprint"),
                       latency_ms=found.get("latency_ms"), error=error)


# -- Modbus TCP --------------------------------------------------------------------------


async def _probe_modbus(conn: ModbusConnection, timeout_s: float,
                        read_register: bool) -> ProbeResult:
    endpoint = f"{conn.host}:{conn.port}"
    conn = replace(conn, timeout_ms=min(conn.timeout_ms, int(timeout_s * 1000)))
    security = {"policy": "None", "mode": "None"}
    try:
        # A plain connect first: pymodbus reports a failed connect as False, without why.
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(conn.host, conn.port)
        writer.close()
    except TimeoutError:
        return ProbeResult(False, "modbus", endpoint, security,
                           error=f"no answer from {endpoint} within {timeout_s:g} s")
    except OSError as exc:
        return ProbeResult(False, "modbus", endpoint, security,
                           error=_in_words(exc, endpoint))
    if not read_register:
        return ProbeResult(True, "modbus", endpoint, security)
    return await _read_register_0(conn, endpoint, timeout_s)


async def _read_register_0(conn: ModbusConnection, endpoint: str,
                           timeout_s: float) -> ProbeResult:
    """Read holding register 0 of the unit: a device that answers, even with a Modbus
    exception, is reachable; a gateway exception says the device behind it is not."""
    security = {"policy": "None", "mode": "None"}
    server: dict[str, Any] = {"unit_id": conn.unit_id, "read": "hr:0"}
    client = modbus.new_client(conn)
    try:
        async with asyncio.timeout(timeout_s):
            if not await client.connect():
                return ProbeResult(False, "modbus", endpoint, security, server,
                                   error=f"cannot connect to {endpoint}")
            sent = time.monotonic()
            response = await client.read_holding_registers(0, count=1, device_id=conn.unit_id)
            latency_ms = round((time.monotonic() - sent) * 1000, 2)
    except TimeoutError:
        return ProbeResult(False, "modbus", endpoint, security, server,
                           error=f"unit {conn.unit_id} at {endpoint} did not answer a read of "
                                 f"hr:0 within {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, "modbus", endpoint, security, server,
                           error=_in_words(exc, endpoint))
    finally:
        client.close()
    if not response.isError():
        server["value"] = response.registers[0]
        return ProbeResult(True, "modbus", endpoint, security, server, latency_ms=latency_ms)
    code = getattr(response, "exception_code", 0)
    reachable = code not in modbus.GATEWAY_EXCEPTIONS
    what = "the device is reachable" if reachable else "the device behind the gateway is not"
    return ProbeResult(reachable, "modbus", endpoint, security, server, latency_ms=latency_ms,
                       error=f"unit {conn.unit_id} answered a read of hr:0 with "
                             f"{modbus.exception_text(response)}; {what}")


def _in_words(exc: BaseException, where: str) -> str:
    """An error connecting to `where`, as a plant engineer would say it."""
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (nothing listens on that port)"
    if isinstance(exc, socket.gaierror):
        return f"host of {where} not found ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect to {where}: {exc.strerror.lower()}"
    return f"{where}: {describe(exc)}"
