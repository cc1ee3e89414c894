"""OPC UA hub against real servers on loopback: the simulated plant, and a secured server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from asyncua import Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from runtime.contracts.api import fingerprint
from runtime.contracts.errors import DriverError
from runtime.contracts.messages import Quality
from runtime.contracts.project import (
    SECURITY_POLICIES,
    OpcUaConnection,
    Scaling,
    Security,
    Tag,
)
from runtime.drivers import make_hub
from runtime.drivers.opcua import OpcUaHub
from runtime.drivers.probe import probe
from tests.integration.test_driver_support import Recorder, running_hub

NS = "nsu=urn:lineside:sim;s="
P101 = {
    "vibration": ("P101.Vibration", "float64"),
    "bearing_temp": ("P101.BearingTemp", "float64"),
    "motor_current": ("P101.MotorCurrent", "float64"),
    "flow": ("P101.Flow", "float64"),
    "pressure": ("P101.DischargePressure", "float64"),
    "running": ("P101.Running", "bool"),
    "speed_sp": ("P101.SpeedSetpoint", "float64"),
    "trip": ("P101.Trip", "bool"),
}


def plc(url: str, **options) -> OpcUaConnection:
    return OpcUaConnection(
        id="plc", endpoint=url, publishing_interval_ms=50, watchdog_s=0.5, timeout_s=2.0, **options
    )


def p101_tags(**overrides: dict) -> list[Tag]:
    tags = []
    for tag_id, (node, kind) in P101.items():
        # both address forms: namespace URI and namespace index
        address = f"{NS}{node}" if kind == "float64" else f"ns=2;s={node}"
        options = {"writable": tag_id in ("speed_sp", "trip"), **overrides.get(tag_id, {})}
        tags.append(Tag(tag_id, "plc", address, kind, **options))
    return tags


async def test_subscription_delivers_batches_and_changes_and_reads_and_browses(sim_plant):
    rec = Recorder()
    async with running_hub(plc(sim_plant.opcua_url), p101_tags(), rec) as hub:
        await rec.wait_for(lambda: rec.all_have(P101, Quality.GOOD), 5, "initial values")
        first = rec.batches[0]
        assert {s.tag for s in first} == set(P101)  # one publish response, one call
        assert isinstance(rec.latest()["running"].value, bool)
        assert isinstance(rec.latest()["flow"].value, float)
        assert abs(rec.latest()["flow"].ts - time.time()) < 5  # the server's source timestamp

        await sim_plant.override("P101.Flow", 77.25)
        await rec.wait_for(lambda: rec.latest()["flow"].value == 77.25, 2, "flow change")
        await sim_plant.override("P101.Running", False)
        await rec.wait_for(lambda: rec.latest()["running"].value is False, 2, "running change")

        samples = await hub.read(["flow", "running", "speed_sp"])
        assert [s.tag for s in samples] == ["flow", "running", "speed_sp"]
        assert samples[0].value == 77.25 and samples[1].value is False
        assert all(s.quality == Quality.GOOD for s in samples)
        assert hub.status.state == "connected" and hub.status.reconnects == 0

        top = {e.browse_name: e for e in await hub.browse()}
        assert top["PumpLine"].node_class == "Object"
        line = await hub.browse(top["PumpLine"].node_id)
        (p101,) = [e for e in line if e.browse_name == "P101"]
        entries = {e.node_id: e for e in await hub.browse(p101.node_id)}
        flow = entries[f"{NS}P101.Flow"]
        assert (flow.node_class, flow.data_type, flow.tag_type) == ("Variable", "Double", "float64")
        assert entries[f"{NS}P101.Running"].tag_type == "bool"
        with pytest.raises(DriverError, match="cannot browse"):
            await hub.browse("ns=2;s=Nope")


async def test_quality_per_tag_and_deadband(sim_plant):
    rec = Recorder()
    tags = [*p101_tags(flow={"deadband": 5.0}), Tag("ghost", "plc", "ns=2;s=P101.Nope", "float64")]
    await sim_plant.override("P101.Flow", 100.0)
    async with running_hub(plc(sim_plant.opcua_url), tags, rec):
        await rec.wait_for(lambda: rec.all_have(P101, Quality.GOOD), 5, "initial values")
        assert rec.latest()["flow"].value == 100.0
        assert rec.latest()["ghost"].quality == Quality.BAD  # unknown node: BAD, others fine

        mark = len(rec.batches)
        await sim_plant.override("P101.Flow", 103.0)  # within the deadband
        await sim_plant.override("P101.DischargePressure", 9.5)  # a marker served after it
        await rec.wait_for(
            lambda: any(s.value == 9.5 for s in rec.samples("pressure", mark)), 2, "marker"
        )
        assert rec.samples("flow", mark) == []
        await sim_plant.override("P101.Flow", 106.0)
        await rec.wait_for(lambda: rec.latest()["flow"].value == 106.0, 2, "big move passes")

        await sim_plant.release("P101.Flow")
        sim_plant.inject("sensor_dropout", signal="P101.Flow")
        await rec.wait_for(lambda: rec.latest()["flow"].quality == Quality.BAD, 3, "dropout BAD")
        assert rec.latest()["vibration"].quality == Quality.GOOD


async def test_writes_land_typed_and_scaled_and_refusals_say_why(sim_plant):
    rec = Recorder()
    # engineering % of 60 Hz; the PLC holds Hz
    options = {
        "speed_sp": {"scaling": Scaling(0.0, 60.0, 0.0, 100.0)},
        "vibration": {"writable": True},
    }
    async with running_hub(plc(sim_plant.opcua_url), p101_tags(**options), rec) as hub:
        sent = time.monotonic()
        await hub.write("speed_sp", 75.0)
        returned = time.monotonic()
        write = await sim_plant.wait_for_write(
            lambda w: w.address == "ns=2;s=P101.SpeedSetpoint", timeout=2
        )
        assert write.value == pytest.approx(45.0)
        assert sent <= write.monotonic_ts <= returned
        await hub.write("trip", True)
        trip = await sim_plant.wait_for_write(lambda w: w.address == "ns=2;s=P101.Trip", timeout=2)
        assert trip.value is True
        await rec.wait_for(
            lambda: rec.latest()["speed_sp"].value == pytest.approx(75.0), 2, "setpoint read back"
        )

        with pytest.raises(DriverError, match=r"write to vibration refused by the server: Bad"):
            await hub.write("vibration", 1.0)
        with pytest.raises(DriverError, match="cannot write flow: the tag is not writable"):
            await hub.write("flow", 1.0)
        with pytest.raises(
            DriverError, match=r"cannot write trip \(bool\): 'yes' is not a boolean"
        ):
            await hub.write("trip", "yes")
        with pytest.raises(DriverError, match="tag nope is not on connection plc"):
            await hub.write("nope", 1.0)
    assert not [w for w in sim_plant.writes if "Vibration" in w.address]


async def test_plc_offline_marks_every_tag_bad_then_recovers(sim_plant):
    rec = Recorder()
    async with running_hub(plc(sim_plant.opcua_url), p101_tags(), rec) as hub:
        await rec.wait_for(lambda: rec.all_have(P101, Quality.GOOD), 5, "initial values")
        mark = len(rec.batches)
        went_off = time.monotonic()
        await sim_plant.plc_offline()
        await rec.wait_for(
            lambda: rec.all_have(P101, Quality.BAD, since=mark), 2, "all BAD after plc_offline"
        )
        to_bad = time.monotonic() - went_off
        bad_batches = [b for b in rec.batches[mark:] if b[0].quality == Quality.BAD]
        assert {s.tag for s in bad_batches[0]} == set(P101)  # at once, in one call
        assert hub.status.state != "connected"
        with pytest.raises(DriverError, match="cannot write speed_sp: connection plc"):
            await hub.write("speed_sp", 10.0)

        mark = len(rec.batches)
        came_back = time.monotonic()
        await sim_plant.plc_online()
        await rec.wait_for(
            lambda: rec.all_have(P101, Quality.GOOD, since=mark), 5, "GOOD after plc_online"
        )
        to_good = time.monotonic() - came_back
        await hub.wait_connected(1)
        assert hub.status.reconnects == 1
        print(f"\nopcua: BAD after {to_bad:.3f} s, GOOD after {to_good:.3f} s")
    states = [s.state for s in rec.statuses]
    assert states[:2] == ["connecting", "connected"] and "disconnected" in states
    assert states[-1] == "stopped"


HUNG_SERVER = """
import asyncio
from asyncua import Server, ua

async def main():
    server = Server()
    server.disable_clock()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/hung")
    idx = await server.register_namespace("urn:lineside:hung")
    await server.nodes.objects.add_variable(ua.NodeId("Value", idx), "Value", 1.0)
    await server.start()
    print(server.bserver.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_watchdog_catches_a_server_that_stops_answering():
    """A frozen server keeps its socket open (half-open): only the watchdog can tell."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HUNG_SERVER, stdout=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(10):
            port = int(await proc.stdout.readline())
        rec = Recorder()
        conn = plc(f"opc.tcp://127.0.0.1:{port}/hung")  # watchdog_s=0.5
        tags = [Tag("value", "plc", "nsu=urn:lineside:hung;s=Value", "float64")]
        async with running_hub(conn, tags, rec) as hub:
            await rec.wait_for(lambda: rec.all_have(["value"], Quality.GOOD), 5, "initial")
            os.kill(proc.pid, signal.SIGSTOP)
            await rec.wait_for(lambda: rec.all_have(["value"], Quality.BAD), 2, "BAD when frozen")
            assert "watchdog" in hub.status.last_error
            mark = len(rec.batches)
            os.kill(proc.pid, signal.SIGCONT)
            await rec.wait_for(lambda: rec.all_have(["value"], Quality.GOOD, mark), 5, "GOOD")
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        await proc.wait()


async def test_many_tags_are_subscribed_in_chunks(sim_factory):
    plant = await sim_factory(extra_tags=500)
    rec = Recorder()
    synth = [Tag(f"s{i}", "plc", f"{NS}Synth.{i:04d}", "float64") for i in range(500)]
    async with running_hub(plc(plant.opcua_url), synth, rec, connect_timeout=15):
        await rec.wait_for(
            lambda: rec.all_have([t.id for t in synth], Quality.GOOD), 10, "500 tags"
        )
        assert len(rec.batches) < 100  # batched per publish response, not one call per tag


async def test_unreachable_endpoint_reports_why():
    rec = Recorder()
    hub = make_hub(plc("opc.tcp://127.0.0.1:9/nothing"), p101_tags(), rec.on_samples, rec.on_status)
    await hub.start()
    try:
        with pytest.raises(
            DriverError, match=r"plc \(opc.tcp://127.0.0.1:9/nothing\) is not connected"
        ):
            await hub.wait_connected(0.5)
        await rec.wait_for(lambda: rec.all_have(P101, Quality.BAD), 2, "BAD while unreachable")
        assert hub.status.state in ("connecting", "disconnected") and hub.status.last_error
    finally:
        await hub.stop()
    assert hub.status.state == "stopped"


def test_bad_configuration_is_refused_up_front():
    with pytest.raises(DriverError, match=r"tag x: 'P101.Flow' is not an OPC UA node id"):
        OpcUaHub(plc("opc.tcp://h:4840"), [Tag("x", "plc", "P101.Flow")], print)
    with pytest.raises(DriverError, match="needs a client certificate and private key"):
        OpcUaHub(plc("opc.tcp://h:4840", security=Security(policy="Basic256Sha256")), [], print)
    with pytest.raises(DriverError, match="tag x belongs to connection 'other'"):
        OpcUaHub(plc("opc.tcp://h:4840"), [Tag("x", "other", "i=2258")], print)


# --------------------------------------------------------------------------- security

TYPED = {  # tag type: (variant type, initial value, written value)
    "float64": (ua.VariantType.Double, 1.5, -2.25),
    "float32": (ua.VariantType.Float, 2.5, 0.125),
    "bool": (ua.VariantType.Boolean, True, False),
    "int16": (ua.VariantType.Int16, -300, -12),
    "uint16": (ua.VariantType.UInt16, 60000, 7),
    "int32": (ua.VariantType.Int32, -70000, 123456),
    "uint32": (ua.VariantType.UInt32, 4_000_000_000, 42),
    "string": (ua.VariantType.String, "hello", "world"),
}


def _certificate(tmp: Path, name: str, uri: str, usage: x509.ObjectIdentifier) -> tuple[Path, Path]:
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        name,
        {},
        [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")],
        extended=[usage],
    )
    cert_path, key_path = tmp / f"{name}.der", tmp / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


class _Users:
    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username == "operator" and password == "s3cret":
            return User(role=UserRole.User, name=username)
        return None


async def secured_server(tmp_path) -> tuple[Server, Path, Path, Path]:
    """An OPC UA server (not started) taking only Basic256Sha256 SignAndEncrypt with a user
    name; and its certificate, and a client certificate and key it accepts."""
    server_cert, server_key = _certificate(
        tmp_path, "server", "urn:lineside:test:server", ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_cert, client_key = _certificate(
        tmp_path, "client", "urn:lineside:test:client", ExtendedKeyUsageOID.CLIENT_AUTH
    )
    server = Server(user_manager=_Users())
    server.disable_clock()
    await server.init()
    await server.set_application_uri("urn:lineside:test:server")
    server.set_server_name("Secured test server")
    server.set_endpoint("opc.tcp://127.0.0.1:0/secure")
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.load_certificate(str(server_cert))
    await server.load_private_key(str(server_key))
    return server, server_cert, client_cert, client_key


async def test_basic256sha256_sign_and_encrypt_with_user_reads_and_writes_every_type(tmp_path):
    server, server_cert, client_cert, client_key = await secured_server(tmp_path)
    idx = await server.register_namespace("urn:lineside:test")
    nodes = {}
    for kind, (vtype, initial, _) in TYPED.items():
        node = await server.nodes.objects.add_variable(ua.NodeId(kind, idx), kind, initial, vtype)
        await node.set_writable()
        nodes[kind] = node
    await server.start()
    try:
        url = f"opc.tcp://127.0.0.1:{server.bserver.port}/secure"
        security = Security(
            policy="Basic256Sha256",
            mode="SignAndEncrypt",
            certificate=str(client_cert),
            private_key=str(client_key),
            server_certificate=str(server_cert),
        )
        conn = plc(url, security=security, username="operator", password="s3cret")
        tags = [Tag(k, "plc", f"nsu=urn:lineside:test;s={k}", k, writable=True) for k in TYPED]
        rec = Recorder()
        async with running_hub(conn, tags, rec) as hub:
            await rec.wait_for(lambda: rec.all_have(TYPED, Quality.GOOD), 5, "typed values")
            assert {k: s.value for k, s in rec.latest().items()} == pytest.approx(
                {k: v[1] for k, v in TYPED.items()}
            )
            for kind, (vtype, _, written) in TYPED.items():
                await hub.write(kind, written)
                dv = await nodes[kind].read_data_value()
                assert (dv.Value.VariantType, dv.Value.Value) == (vtype, written), kind
            read = {s.tag: s.value for s in await hub.read(list(TYPED))}
            assert read == {k: v[2] for k, v in TYPED.items()}

        wrong = plc(url, security=security, username="operator", password="wrong")
        hub = make_hub(wrong, tags, rec.on_samples)
        await hub.start()
        try:
            with pytest.raises(DriverError, match="is not connected after"):
                await hub.wait_connected(1.0)
            assert "BadUserAccessDenied" in hub.status.last_error or hub.status.last_error
        finally:
            await hub.stop()
    finally:
        await server.stop()


class BrokenConsumerHub(OpcUaHub):
    """The OPC UA hub with a notification decoder that fails once (a bug, a value asyncua
    decoded into something unexpected): the consumer task dies."""

    breaks = 1

    def _sample(self, tag, dv):
        if self.breaks and tag.id == "vibration" and self.status.connected:
            self.breaks -= 1
            raise RuntimeError("decoder bug")
        return super()._sample(tag, dv)


async def test_a_consumer_that_dies_is_a_lost_connection_and_data_flows_again(sim_plant):
    rec = Recorder()
    hub = BrokenConsumerHub(plc(sim_plant.opcua_url), p101_tags(), rec.on_samples,
                            rec.on_status)
    await hub.start()
    try:
        await hub.wait_connected(10)
        await rec.wait_for(lambda: any(s.state == "disconnected" for s in rec.statuses), 5,
                           "the connection reported lost")
        lost = next(s for s in rec.statuses if s.state == "disconnected")
        assert "notification consumer failed (RuntimeError: decoder bug)" in lost.last_error
        assert rec.all_have(P101, Quality.BAD)  # no value left looking fine
        mark = len(rec.batches)
        await rec.wait_for(lambda: hub.status.connected and rec.all_have(
            P101, Quality.GOOD, since=mark), 10, "good data after reconnecting")
        await sim_plant.override("P101.Vibration", 7.5)
        await rec.wait_for(lambda: any(s.value == 7.5 for s in rec.samples("vibration", mark)),
                           5, "live changes flowing")
        assert hub.status.reconnects == 1
    finally:
        await hub.stop()


@pytest.mark.parametrize("policy", [p for p in SECURITY_POLICIES if p != "None"])
async def test_every_security_policy_a_project_may_name_connects(tmp_path, policy):
    server_cert, server_key = _certificate(
        tmp_path, "server", "urn:lineside:test:server", ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_cert, client_key = _certificate(
        tmp_path, "client", "urn:lineside:test:client", ExtendedKeyUsageOID.CLIENT_AUTH
    )
    server = Server()
    server.disable_clock()
    await server.init()
    await server.set_application_uri("urn:lineside:test:server")
    server.set_endpoint("opc.tcp://127.0.0.1:0/secure")
    server.set_security_policy([getattr(ua.SecurityPolicyType, f"{policy}_SignAndEncrypt")])
    await server.load_certificate(str(server_cert))
    await server.load_private_key(str(server_key))
    idx = await server.register_namespace("urn:lineside:test")
    await server.nodes.objects.add_variable(ua.NodeId("level", idx), "level", 4.5,
                                            ua.VariantType.Double)
    await server.start()
    try:
        security = Security(policy=policy, mode="SignAndEncrypt", certificate=str(client_cert),
                            private_key=str(client_key), server_certificate=str(server_cert))
        conn = plc(f"opc.tcp://127.0.0.1:{server.bserver.port}/secure", security=security)
        rec = Recorder()
        tags = [Tag("level", "plc", "nsu=urn:lineside:test;s=level", "float64")]
        async with running_hub(conn, tags, rec):
            await rec.wait_for(lambda: rec.all_have(["level"], Quality.GOOD), 5, "the value")
            assert rec.latest()["level"].value == 4.5
    finally:
        await server.stop()


async def test_a_probe_of_a_secured_server_reports_its_certificate_and_security(tmp_path):
    server, server_cert, client_cert, client_key = await secured_server(tmp_path)
    await server.start()
    try:
        url = f"opc.tcp://127.0.0.1:{server.bserver.port}/secure"
        security = Security(policy="Basic256Sha256", mode="SignAndEncrypt",
                            certificate=str(client_cert), private_key=str(client_key),
                            server_certificate=str(server_cert))
        found = await probe(plc(url, security=security, username="operator",
                                password="s3cret"), 5.0)
        assert found.ok is True and found.error is None
        assert found.security == {"policy": "Basic256Sha256", "mode": "SignAndEncrypt"}
        assert found.certificate_fingerprint == fingerprint(server_cert.read_bytes())
        assert found.server["application_name"] == "Secured test server"
        assert found.server["application_uri"] == "urn:lineside:test:server"

        wrong = await probe(plc(url, security=security, username="operator",
                                password="wrong"), 5.0)
        assert wrong.ok is False and "BadUserAccessDenied" in (wrong.error or "")
    finally:
        await server.stop()
