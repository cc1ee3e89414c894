"""connections.test through the real client, against a real runtime process trying the
simulated plant's OPC UA and Modbus servers, closed ports, a silent server and malformed
connection objects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from runtime.client import ApiError, ErrorCode
from tests.fixtures.api import RuntimeProcess


def connections_of(runtime: RuntimeProcess) -> dict[str, dict]:
    """The test project's connection objects by id (plc: OPC UA, vfd: Modbus)."""
    doc = json.loads(runtime.project.read_text())
    return {c["id"]: c for c in doc["connections"]}


@pytest_asyncio.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never says a word."""
    done = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    done.set()
    server.close()
    await server.wait_closed()


async def test_the_plants_servers_answer(api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    plc, vfd = connections_of(api_runtime)["plc"], connections_of(api_runtime)["vfd"]

    opcua = await client.test_connection(plc)
    assert opcua["ok"] is True and opcua["error"] is None
    assert opcua["kind"] == "opcua" and opcua["endpoint"] == plc["endpoint"]
    assert opcua["server"]["product_name"] == "Lineside simulated plant"
    assert opcua["server"]["application_name"] == "Lineside simulated plant"
    assert opcua["server"]["state"] == "Running"
    assert opcua["security"] == {"policy": "None", "mode": "None"}
    assert opcua["certificate_fingerprint"] is None  # the simulator has no certificate
    assert opcua["latency_ms"] > 0

    modbus = await client.test_connection(vfd)  # it has a unit_id: hr:0 is read
    assert modbus["ok"] is True and modbus["error"] is None
    assert modbus["kind"] == "modbus"
    assert modbus["endpoint"] == f"{vfd['host']}:{vfd['port']}"
    assert modbus["server"]["unit_id"] == 1 and isinstance(modbus["server"]["value"], int)
    assert modbus["certificate_fingerprint"] is None and modbus["latency_ms"] > 0

    without_unit = {k: v for k, v in vfd.items() if k != "unit_id"}
    connected = await client.test_connection(without_unit)
    assert connected["ok"] is True and connected["server"] == {}
    assert connected["latency_ms"] is None

    # a unit the simulator does not have: the device answers with an exception, so it
    # is reachable, and the exception is reported in words
    other_unit = await client.test_connection({**vfd, "unit_id": 7})
    assert other_unit["ok"] is True
    assert "unit 7 answered a read of hr:0 with exception" in other_unit["error"]
    assert "the device is reachable" in other_unit["error"]


async def test_unreachable_servers_are_a_result_not_an_error(api_runtime: RuntimeProcess,
                                                             silent_port: int):
    client = await api_runtime.client("engineer")
    plc, vfd = connections_of(api_runtime)["plc"], connections_of(api_runtime)["vfd"]

    closed = await client.test_connection({**vfd, "port": 1})
    assert closed["ok"] is False and closed["latency_ms"] is None
    assert closed["error"] == "connection refused by 127.0.0.1:1 (nothing listens on that port)"

    wrong_port = "opc.tcp://127.0.0.1:1/lineside/sim"
    refused = await client.test_connection({**plc, "endpoint": wrong_port})
    assert refused["ok"] is False and "connection refused" in refused["error"]

    silent = f"opc.tcp://127.0.0.1:{silent_port}/lineside/sim"
    timed_out = await client.test_connection({**plc, "endpoint": silent}, timeout_s=0.5)
    assert timed_out == {
        "ok": False, "kind": "opcua", "endpoint": silent,
        "security": {"policy": "None", "mode": "None"}, "server": {},
        "certificate_fingerprint": None, "latency_ms": None,
        "error": f"no answer from {silent} within 0.5 s"}


async def test_a_malformed_connection_names_the_path_of_each_problem(
        api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    with pytest.raises(ApiError) as caught:
        await client.test_connection({"id": "plc", "kind": "opcua", "endpoint": "http://plc",
                                      "timeout_s": -1, "colour": "red"})
    assert caught.value.code == ErrorCode.INVALID
    assert [(d.path, d.message) for d in caught.value.details] == [
        ("$.connection", "unknown field(s) 'colour'"),
        ("$.connection.endpoint",
         "'http://plc' is not an OPC UA endpoint: it must start with opc.tcp://"),
        ("$.connection.timeout_s", "must be more than 0, found -1")]

    with pytest.raises(ApiError) as caught:
        await client.test_connection({"id": "plc", "kind": "opcua",
                                      "endpoint": "opc.tcp://plc:4840",
                                      "security": {"policy": "Basic256Sha256"}})
    assert [d.path for d in caught.value.details] == [
        "$.connection.security.mode", "$.connection.security.certificate",
        "$.connection.security.private_key"]

    with pytest.raises(ApiError) as caught:
        await client.test_connection(connections_of(api_runtime)["vfd"], timeout_s=31)
    assert caught.value.code == ErrorCode.BAD_REQUEST
    assert [d.path for d in caught.value.details] == ["$.timeout_s"]
