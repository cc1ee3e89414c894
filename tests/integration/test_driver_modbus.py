"""Modbus hub against the simulated VFD's Modbus TCP server on loopback."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from runtime.contracts.errors import DriverError
from runtime.contracts.messages import Quality
from runtime.contracts.project import ModbusConnection, Scaling, Tag
from runtime.drivers import make_hub
from runtime.drivers.modbus import ModbusHub
from tests.integration.test_driver_support import Recorder, running_hub

TENTHS = Scaling(raw_min=0.0, raw_max=10.0, eng_min=0.0, eng_max=1.0)
VFD = [
    Tag("speed", "vfd", "ir:0", "float32"),
    Tag("current", "vfd", "ir:2", "float32"),
    Tag("energy", "vfd", "ir:4", "float64"),
    Tag("dc_bus", "vfd", "ir:8", "uint16"),
    Tag("drive_temp", "vfd", "ir:9", "int16", scaling=TENTHS),
    Tag("run_seconds", "vfd", "ir:10", "uint32"),
    Tag("torque", "vfd", "ir:12", "int32", scaling=TENTHS),
    Tag("setpoint", "vfd", "hr:0", "float32", writable=True),
    Tag("run", "vfd", "coil:0", "bool", writable=True),
    Tag("running", "vfd", "di:0", "bool"),
    Tag("fault", "vfd", "di:1", "bool"),
]
IDS = [t.id for t in VFD]
OVERRIDES = {  # signal, tag, value served
    "VFD.Speed": ("speed", 47.5),
    "VFD.MotorCurrent": ("current", 30.25),
    "VFD.Energy": ("energy", 12345.678901),
    "VFD.DcBusVoltage": ("dc_bus", 561),
    "VFD.DriveTemp": ("drive_temp", -5.5),
    "VFD.RunSeconds": ("run_seconds", 3_000_000_000),
    "VFD.Torque": ("torque", -12.3),
    "VFD.Running": ("running", False),
    "VFD.Fault": ("fault", True),
}


def vfd(plant, **options) -> ModbusConnection:
    return ModbusConnection(
        id="vfd",
        host=plant.modbus_host,
        port=plant.modbus_port,
        unit_id=1,
        poll_ms=100,
        timeout_ms=500,
        **options,
    )


def with_options(tag_id: str, **options) -> list[Tag]:
    return [replace(t, **options) if t.id == tag_id else t for t in VFD]


def served(rec: Recorder) -> bool:
    latest = rec.latest()
    return all(
        tag in latest and latest[tag].value == pytest.approx(value)
        for tag, value in OVERRIDES.values()
    )


async def test_reads_every_data_type_in_engineering_units(sim_plant):
    rec = Recorder()
    async with running_hub(vfd(sim_plant), VFD, rec) as hub:
        await rec.wait_for(lambda: rec.all_have(IDS, Quality.GOOD), 3, "first poll")
        assert {s.tag for s in rec.batches[0]} == set(IDS)  # one call per poll cycle
        assert [(b.area, b.start, b.count) for b in hub.blocks] == [
            ("hr", 0, 2),
            ("ir", 0, 14),
            ("coil", 0, 1),
            ("di", 0, 2),
        ]
        for signal, (_, value) in OVERRIDES.items():
            await sim_plant.override(signal, value)
        await rec.wait_for(lambda: served(rec), 3, "overrides polled")
        latest = rec.latest()
        assert isinstance(latest["run_seconds"].value, int)
        assert isinstance(latest["run"].value, bool)
        assert latest["setpoint"].value == pytest.approx(50.0)
        assert abs(latest["speed"].ts - time.time()) < 5

        samples = await hub.read(["torque", "energy", "fault"])
        assert [s.value for s in samples] == pytest.approx([-12.3, 12345.678901, True])
        assert all(s.quality == Quality.GOOD for s in samples)


async def test_writes_land_in_the_vfd_and_refusals_say_why(sim_plant):
    rec = Recorder()
    async with running_hub(vfd(sim_plant), with_options("speed", writable=True), rec) as hub:
        sent = time.monotonic()
        await hub.write("setpoint", 42.5)
        returned = time.monotonic()
        write = await sim_plant.wait_for_write(lambda w: w.address == "hr:0", timeout=2)
        assert write.value == 42.5 and sent <= write.monotonic_ts <= returned
        await hub.write("run", False)
        stop = await sim_plant.wait_for_write(lambda w: w.address == "coil:0", timeout=2)
        assert stop.value is False
        await rec.wait_for(lambda: rec.latest()["setpoint"].value == 42.5, 2, "read back")
        await rec.wait_for(lambda: rec.latest()["run"].value is False, 2, "coil read back")

        with pytest.raises(DriverError, match=r"cannot write speed: ir:0 is a read-only input reg"):
            await hub.write("speed", 10.0)
        with pytest.raises(DriverError, match="cannot write running: di:0 is a read-only discrete"):
            await hub.write("running", True)
        with pytest.raises(
            DriverError, match=r"write to setpoint refused by the device: .*3 .ille"
        ):
            await hub.write("setpoint", 99.0)  # the VFD takes 0..60 Hz
        with pytest.raises(DriverError, match=r"cannot write run \(bool\): 2 is not a boolean"):
            await hub.write("run", 2)
    assert [w.value for w in sim_plant.writes if w.address == "hr:0"] == [42.5]


async def test_vfd_offline_marks_every_tag_bad_then_recovers(sim_plant):
    rec = Recorder()
    async with running_hub(vfd(sim_plant), VFD, rec) as hub:
        await rec.wait_for(lambda: rec.all_have(IDS, Quality.GOOD), 3, "first poll")
        mark = len(rec.batches)
        went_off = time.monotonic()
        await sim_plant.vfd_offline()
        await rec.wait_for(
            lambda: rec.all_have(IDS, Quality.BAD, since=mark), 2, "all BAD after vfd_offline"
        )
        to_bad = time.monotonic() - went_off
        assert {s.tag for s in rec.batches[mark]} == set(IDS)  # at once, in one call
        with pytest.raises(DriverError, match="cannot write setpoint: connection vfd"):
            await hub.write("setpoint", 10.0)

        mark = len(rec.batches)
        came_back = time.monotonic()
        await sim_plant.vfd_online()
        await rec.wait_for(
            lambda: rec.all_have(IDS, Quality.GOOD, since=mark), 5, "GOOD after vfd_online"
        )
        to_good = time.monotonic() - came_back
        assert hub.status.state == "connected" and hub.status.reconnects == 1
        print(f"\nmodbus: BAD after {to_bad:.3f} s, GOOD after {to_good:.3f} s")


async def test_many_tags_are_polled_in_blocks(sim_factory):
    plant = await sim_factory(extra_tags=500)
    rec = Recorder()
    synth = [Tag(f"s{i}", "vfd", f"ir:{1000 + 2 * i}", "float32") for i in range(500)]
    async with running_hub(vfd(plant), synth, rec) as hub:
        await rec.wait_for(lambda: rec.all_have([t.id for t in synth], Quality.GOOD), 5, "500")
        assert len(rec.batches[0]) == 500
        assert len(hub.blocks) == 9 and all(b.count <= 125 for b in hub.blocks)


async def test_deadband_suppresses_small_moves_but_not_quality_changes(sim_plant):
    rec = Recorder()
    async with running_hub(vfd(sim_plant), with_options("current", deadband=5.0), rec):
        await sim_plant.override("VFD.MotorCurrent", 30.0)
        await rec.wait_for(lambda: rec.latest().get("current") is not None, 3, "first poll")
        await rec.wait_for(lambda: rec.latest()["current"].value == 30.0, 2, "pinned")
        mark = len(rec.batches)
        await sim_plant.override("VFD.MotorCurrent", 33.0)
        await sim_plant.override("VFD.DcBusVoltage", 599)  # a marker served after it
        await rec.wait_for(lambda: any(s.value == 599 for s in rec.samples("dc_bus", mark)), 2, "m")
        assert rec.samples("current", mark) == []
        await sim_plant.override("VFD.MotorCurrent", 36.0)
        await rec.wait_for(lambda: rec.latest()["current"].value == 36.0, 2, "big move passes")
        await sim_plant.vfd_offline()
        await rec.wait_for(lambda: rec.latest()["current"].quality == Quality.BAD, 2, "BAD passes")
        await sim_plant.vfd_online()


async def test_refused_blocks_go_bad_and_merged_blocks_split(sim_plant):
    rec = Recorder()
    tags = [
        Tag("torque", "vfd", "ir:12", "int32"),
        Tag("hole", "vfd", "ir:18", "uint16"),  # nothing there: the VFD refuses the address
        Tag("running", "vfd", "di:0", "bool"),
    ]
    planned = ModbusHub(vfd(sim_plant), tags, rec.on_samples).blocks
    assert [(b.area, b.start, b.count) for b in planned] == [("ir", 12, 7), ("di", 0, 1)]
    async with running_hub(vfd(sim_plant), tags, rec) as hub:
        await rec.wait_for(lambda: rec.all_have(["torque", "running"], Quality.GOOD), 3, "split")
        assert rec.latest()["hole"].quality == Quality.BAD
        assert [(b.area, b.start, b.count) for b in hub.blocks] == [
            ("ir", 12, 2),
            ("ir", 18, 1),
            ("di", 0, 1),
        ]
        assert hub.status.state == "connected"


async def test_unreachable_device_reports_why():
    rec = Recorder()
    conn = ModbusConnection(id="vfd", host="127.0.0.1", port=9, poll_ms=100, timeout_ms=300)
    hub = make_hub(conn, VFD, rec.on_samples, rec.on_status)
    await hub.start()
    try:
        with pytest.raises(DriverError, match=r"vfd .127.0.0.1:9. is not connected after"):
            await hub.wait_connected(0.5)
        await rec.wait_for(lambda: rec.all_have(IDS, Quality.BAD), 2, "BAD while unreachable")
        assert "cannot connect to 127.0.0.1:9" in hub.status.last_error
    finally:
        await hub.stop()


def test_bad_addresses_are_refused_up_front():
    conn = ModbusConnection(id="vfd", host="127.0.0.1")
    with pytest.raises(DriverError, match=r"tag x \(40001\): address '40001' is not a Modbus"):
        ModbusHub(conn, [Tag("x", "vfd", "40001")], print)
    with pytest.raises(DriverError, match=r"tag y \(coil:1\): coils hold bools, not float32"):
        ModbusHub(conn, [Tag("y", "vfd", "coil:1")], print)
