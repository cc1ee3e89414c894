"""The simulated plant's real servers, read and written with real asyncua and pymodbus clients."""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from runtime.sim.model import Signal
from runtime.sim.plant import SimPlant

ROOT = Path(__file__).resolve().parents[2]
NS_URI = "urn:lineside:sim"
DT = AsyncModbusTcpClient.DATATYPE


@asynccontextmanager
async def opcua(plant: SimPlant) -> AsyncIterator[Client]:
    """An asyncua client connected to the plant's PLC."""
    async with Client(plant.opcua_url, timeout=2) as client:
        yield client


@asynccontextmanager
async def modbus(plant: SimPlant, reply_s: float = 1.0) -> AsyncIterator[AsyncModbusTcpClient]:
    """A pymodbus client connected to the plant's VFD (no retries, no reconnects)."""
    client = AsyncModbusTcpClient(
        plant.modbus_host, port=plant.modbus_port, timeout=reply_s, retries=0, reconnect_delay=0
    )
    assert await client.connect()
    try:
        yield client
    finally:
        client.close()


async def read_node(client: Client, name: str) -> object:
    return await client.get_node(f"ns=2;s={name}").read_value()


async def read_ir(client: AsyncModbusTcpClient, address: int, count: int) -> list[int]:
    response = await client.read_input_registers(address, count=count, device_id=1)
    assert not response.isError(), response
    return response.registers


async def eventually(
    plant: SimPlant, check: Callable[[], bool], what: str, ticks: int = 40
) -> None:
    """Wait tick by tick until `check()` holds; fail after `ticks` ticks."""
    for _ in range(ticks):
        if check():
            return
        await plant.wait_ticks(1)
    pytest.fail(f"not within {ticks} ticks: {what}")


async def test_opcua_serves_the_p101_tags_in_namespace_2(sim_plant: SimPlant) -> None:
    async with opcua(sim_plant) as client:
        assert await client.get_namespace_index(NS_URI) == 2
        p101 = await client.nodes.objects.get_child(["2:PumpLine", "2:P101"])
        children = {n.nodeid.Identifier for n in await p101.get_children()}
        assert children == {
            "P101.Vibration", "P101.BearingTemp", "P101.MotorCurrent", "P101.Flow",
            "P101.DischargePressure", "P101.Running", "P101.SpeedSetpoint", "P101.Trip",
        }  # fmt: skip
        vibration = client.get_node("ns=2;s=P101.Vibration")
        assert await vibration.read_data_type_as_variant_type() == ua.VariantType.Double
        values = {name: await read_node(client, name) for name in children}
        assert 1.0 < values["P101.Vibration"] < 3.5
        assert 50.0 < values["P101.BearingTemp"] < 60.0
        assert 38.0 < values["P101.MotorCurrent"] < 46.0
        assert 110.0 < values["P101.Flow"] < 130.0
        assert 5.5 < values["P101.DischargePressure"] < 6.5
        assert values["P101.Running"] is True
        assert values["P101.SpeedSetpoint"] == 50.0
        assert values["P101.Trip"] is False

        before = await vibration.read_data_value()
        await sim_plant.wait_ticks(2)
        after = await vibration.read_data_value()
        assert after.SourceTimestamp > before.SourceTimestamp
        assert after.Value.Value != before.Value.Value, "the tick publishes noisy values"


async def test_modbus_serves_the_vfd_registers_big_endian(sim_plant: SimPlant) -> None:
    async with modbus(sim_plant) as client:
        regs = await read_ir(client, 0, 14)
        await sim_plant.wait_ticks(1)  # nothing below depends on the tick the read saw
        model = sim_plant.model
        assert client.convert_from_registers(regs[0:2], DT.FLOAT32) == 50.0
        current = client.convert_from_registers(regs[2:4], DT.FLOAT32)
        assert current == pytest.approx(model.reading(Signal.VFD_CURRENT).value, abs=1.0)
        energy = client.convert_from_registers(regs[4:8], DT.FLOAT64)
        assert 15_230.5 <= energy < 15_231.0
        assert 525 <= client.convert_from_registers(regs[8:9], DT.UINT16) <= 550
        assert 470 <= client.convert_from_registers(regs[9:10], DT.INT16) <= 490  # 0.1 °C
        assert client.convert_from_registers(regs[10:12], DT.UINT32) >= 3_600_000  # both words
        assert 950 <= client.convert_from_registers(regs[12:14], DT.INT32) <= 1050  # 0.1 %

        hr = await client.read_holding_registers(0, count=2, device_id=1)
        assert client.convert_from_registers(hr.registers, DT.FLOAT32) == 50.0
        coils = await client.read_coils(0, count=1, device_id=1)
        assert coils.bits[0] is True
        inputs = await client.read_discrete_inputs(0, count=2, device_id=1)
        assert inputs.bits[:2] == [True, False]

        later = await read_ir(client, 4, 4)
        assert client.convert_from_registers(later, DT.FLOAT64) > energy, "energy accumulates"


async def test_opcua_setpoint_and_trip_writes_are_observed_and_act(sim_plant: SimPlant) -> None:
    async with opcua(sim_plant) as client, modbus(sim_plant) as vfd:
        sent = time.monotonic()
        await client.get_node("ns=2;s=P101.SpeedSetpoint").write_value(30.0)
        write = await sim_plant.wait_for_write(lambda w: w.server == "opcua", timeout=2)
        assert (write.address, write.value) == ("ns=2;s=P101.SpeedSetpoint", 30.0)
        assert sent <= write.monotonic_ts <= time.monotonic()
        assert sim_plant.model.speed_setpoint == 30.0

        async def vfd_setpoint() -> float:
            hr = await vfd.read_holding_registers(0, count=2, device_id=1)
            return float(vfd.convert_from_registers(hr.registers, DT.FLOAT32))

        await sim_plant.wait_ticks(1)
        assert await vfd_setpoint() == 30.0, "the PLC reference is the VFD's setpoint too"
        assert sim_plant.model.speed < 50.0, "the motor ramps down"

        await client.get_node("ns=2;s=P101.Trip").write_value(True)
        trip = await sim_plant.wait_for_write(lambda w: w.address.endswith("Trip"), timeout=2)
        assert trip.value is True and sim_plant.model.tripped
        await sim_plant.wait_ticks(1)
        assert await read_node(client, "P101.Running") is False
        inputs = await vfd.read_discrete_inputs(0, count=2, device_id=1)
        assert inputs.bits[:2] == [False, True]  # not running, fault latched

        await client.get_node("ns=2;s=P101.Trip").write_value(False)
        reset = await sim_plant.wait_for_write(lambda w: w.value is False, timeout=2)
        assert reset.address == "ns=2;s=P101.Trip" and not sim_plant.model.tripped

        with pytest.raises(ua.UaStatusCodeError):  # measurements are read-only
            await client.get_node("ns=2;s=P101.Flow").write_value(1.0)
        assert [w.address for w in sim_plant.writes] == [
            "ns=2;s=P101.SpeedSetpoint",
            "ns=2;s=P101.Trip",
            "ns=2;s=P101.Trip",
        ]


async def test_modbus_setpoint_and_run_writes_are_observed_and_act(sim_plant: SimPlant) -> None:
    async with modbus(sim_plant) as client, opcua(sim_plant) as plc:
        regs = client.convert_to_registers(42.5, DT.FLOAT32)
        assert not (await client.write_registers(0, regs, device_id=1)).isError()
        write = await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=2)
        assert (write.address, write.value) == ("hr:0", 42.5)
        assert sim_plant.model.speed_setpoint == 42.5
        await sim_plant.wait_ticks(1)
        assert await read_node(plc, "P101.SpeedSetpoint") == 42.5

        refused = await client.write_registers(0, client.convert_to_registers(99.0, DT.FLOAT32))
        assert refused.isError(), "a setpoint above 60 Hz is an illegal value"
        assert sim_plant.model.speed_setpoint == 42.5

        assert not (await client.write_coil(0, False, device_id=1)).isError()
        run = await sim_plant.wait_for_write(lambda w: w.address == "coil:0", timeout=2)
        assert run.value is False and sim_plant.model.run_command is False
        await eventually(sim_plant, lambda: not sim_plant.model.running, "the drive stops")
        assert [w.address for w in sim_plant.writes] == ["hr:0", "coil:0"]


async def test_override_is_served_at_once_on_both_protocols(sim_factory) -> None:
    plant = await sim_factory(tick_s=30.0)  # no tick during the test: only override publishes
    async with opcua(plant) as plc, modbus(plant) as vfd:
        ticks = plant.ticks
        t0 = await plant.override("P101.Vibration", 9.5)
        t1 = await plant.override("VFD.Speed", 12.25)
        assert t0 <= t1 <= time.monotonic()
        assert await read_node(plc, "P101.Vibration") == 9.5
        assert vfd.convert_from_registers(await read_ir(vfd, 0, 2), DT.FLOAT32) == 12.25
        await plant.release("VFD.Speed")
        assert vfd.convert_from_registers(await read_ir(vfd, 0, 2), DT.FLOAT32) == 50.0
        assert plant.ticks == ticks


async def test_wait_for_write_since_ignores_earlier_writes(sim_plant: SimPlant) -> None:
    async with modbus(sim_plant) as client:
        await client.write_registers(0, client.convert_to_registers(45.0, DT.FLOAT32))
        first = await sim_plant.wait_for_write(timeout=2)
        since = time.monotonic()
        with pytest.raises(TimeoutError):
            await sim_plant.wait_for_write(timeout=0.2, since=since)
        await client.write_registers(0, client.convert_to_registers(44.0, DT.FLOAT32))
        second = await sim_plant.wait_for_write(timeout=2, since=since)
        assert (first.value, second.value) == (45.0, 44.0)


async def test_sensor_faults_show_on_the_wire(sim_plant: SimPlant) -> None:
    async with opcua(sim_plant) as plc, modbus(sim_plant) as vfd:
        sim_plant.inject("sensor_dropout", signal="P101.Flow")
        sim_plant.inject("sensor_dropout", signal="VFD.MotorCurrent")
        await sim_plant.wait_ticks(1)
        flow = await plc.get_node("ns=2;s=P101.Flow").read_data_value(raise_on_bad_status=False)
        assert flow.StatusCode.value == ua.StatusCodes.BadSensorFailure
        frozen = await read_ir(vfd, 2, 2)
        await sim_plant.wait_ticks(2)
        assert await read_ir(vfd, 2, 2) == frozen, "Modbus has no quality: the value freezes"

        sim_plant.clear("sensor_dropout")
        sim_plant.inject("sensor_stuck", signal="P101.Vibration")
        await sim_plant.wait_ticks(1)
        stuck = await read_node(plc, "P101.Vibration")
        await sim_plant.wait_ticks(2)
        assert await read_node(plc, "P101.Vibration") == stuck
        assert isinstance(await read_node(plc, "P101.Flow"), float)


async def test_plc_offline_drops_the_connection_and_online_serves_the_same_port(
    sim_plant: SimPlant,
) -> None:
    url = sim_plant.opcua_url
    client = Client(url, timeout=2)
    await client.connect()
    try:
        node = client.get_node("ns=2;s=P101.Vibration")
        assert isinstance(await node.read_value(), float)
        await sim_plant.plc_offline()
        assert not sim_plant.plc_is_online
        with pytest.raises((ConnectionError, ua.UaError, TimeoutError)):
            await node.read_value()
        with pytest.raises(OSError):
            async with Client(url, timeout=1):
                pass
    finally:
        await client.disconnect()
    ticks = sim_plant.ticks
    await sim_plant.wait_ticks(2)  # the plant keeps running while its PLC is offline
    await sim_plant.plc_online()
    assert sim_plant.opcua_url == url and sim_plant.ticks > ticks
    async with opcua(sim_plant) as again:
        assert isinstance(await read_node(again, "P101.Vibration"), float)


async def test_vfd_offline_drops_the_connection_and_online_serves_the_same_port(
    sim_plant: SimPlant,
) -> None:
    port = sim_plant.modbus_port
    async with modbus(sim_plant, reply_s=0.3) as client:
        await read_ir(client, 0, 2)
        await sim_plant.vfd_offline()
        with pytest.raises(ModbusException):
            await client.read_input_registers(0, count=2, device_id=1)
        refused = AsyncModbusTcpClient(sim_plant.modbus_host, port=port, reconnect_delay=0)
        assert not await refused.connect()
        refused.close()
    await sim_plant.vfd_online()
    assert sim_plant.modbus_port == port
    async with modbus(sim_plant) as client:
        assert client.convert_from_registers(await read_ir(client, 0, 2), DT.FLOAT32) == 50.0


async def test_extra_tags_are_served_on_both_protocols(sim_factory) -> None:
    plant = await sim_factory(extra_tags=5)
    async with opcua(plant) as plc, modbus(plant) as vfd:
        folder = await plc.nodes.objects.get_child(["2:Synth"])
        names = sorted(n.nodeid.Identifier for n in await folder.get_children())
        assert names == [f"Synth.{i:04d}" for i in range(5)]
        opc_values = [await read_node(plc, name) for name in names]
        mb_values = vfd.convert_from_registers(await read_ir(vfd, 1000, 10), DT.FLOAT32)
        assert all(35.0 < v < 65.0 for v in [*opc_values, *mb_values])
        assert len(set(opc_values)) == 5, "each has its own phase"
        response = await vfd.read_input_registers(1010, count=2, device_id=1)
        assert response.isError(), "only 5 synthetic tags"


async def test_simulation_methods_inject_and_clear_faults(sim_plant: SimPlant) -> None:
    async with opcua(sim_plant) as client:
        sim = await client.nodes.objects.get_child(["2:Simulation"])
        await sim.call_method("2:InjectFault", "cavitation", "", 0.6)
        assert sim_plant.model.cavitation_severity == 0.6
        await sim.call_method("2:InjectFault", "sensor_stuck", "P101.Flow", math.nan)
        assert "sensor_stuck" in sim_plant.model.active_faults
        await sim.call_method("2:ClearFault", "cavitation")
        assert sim_plant.model.cavitation_severity == 0.0
        with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
            await sim.call_method("2:InjectFault", "meteor_strike", "", 1.0)
        with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
            await sim.call_method("2:InjectFault", "plc_offline", "", 0.0)  # would never return


async def test_a_taken_port_fails_start_and_leaves_nothing_running(
    sim_plant: SimPlant, sim_factory
) -> None:
    taken_opcua = int(sim_plant.opcua_url.split(":")[2].split("/")[0])
    with pytest.raises(OSError):
        await sim_factory(opcua_port=taken_opcua)
    with pytest.raises(OSError, match="cannot listen"):
        await sim_factory(modbus_port=sim_plant.modbus_port)


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """One stdout line of a child process, failing after `timeout` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        pytest.fail(f"no line on stdout within {timeout} s")
    return process.stdout.readline()


def test_cli_prints_its_endpoints_serves_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "runtime.sim", "--opcua-port", "0", "--modbus-port", "0"]
    process = subprocess.Popen(
        [*command, "--tick", "0.05", "--extra-tags", "2", "--fault", "cavitation=0.3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(_read_line(process, timeout=20))
        assert set(ready) == {"opcua_url", "modbus_host", "modbus_port"}
        assert ready["opcua_url"].startswith("opc.tcp://127.0.0.1:")
        assert ready["opcua_url"].endswith("/lineside/sim")
        assert ready["modbus_host"] == "127.0.0.1" and ready["modbus_port"] > 0

        inject = ["fault", "--url", ready["opcua_url"], "bearing_wear", "--value", "0.01"]
        fault = subprocess.run(
            [sys.executable, "-m", "runtime.sim", *inject],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert fault.returncode == 0, fault.stderr

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "sim.fault.injected kind=cavitation" in stderr
    assert "sim.fault.injected kind=bearing_wear" in stderr
    assert "sim.plant.stopped" in stderr
