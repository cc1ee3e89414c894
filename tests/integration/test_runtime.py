"""The runtime against the real simulated plant: reads, rule writes, PLC loss, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from runtime.contracts import BAD, GOOD, EventKind
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store
from tests.projects import pump_project


async def until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Poll `condition` until true; returns the seconds it took, fails after `within` s."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def project_for(plant, **kw):
    return pump_project(plant.opcua_url, plant.modbus_host, plant.modbus_port, **kw)


def add_slowdown_flow(doc, threshold=7.0):
    """Vibration above `threshold` → write 40 Hz to the VFD setpoint (Modbus)."""
    doc["flows"].append({"id": "slowdown", "nodes": [
        {"id": "vib", "type": "source.tag", "params": {"tag": "P101.vibration"}},
        {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": threshold}},
        {"id": "write", "type": "action.write",
         "params": {"tag": "VFD.speed_sp", "on_true": 40, "min_change": 0.5}},
    ], "wires": [{"from": "vib:out", "to": "high:in"}, {"from": "high:out", "to": "write:in"}]})
    return doc


@pytest.fixture
async def store(tmp_path):
    store = Store(tmp_path / "lineside.db")
    yield store
    await store.aclose()


@pytest.fixture
async def runtime(store):
    rt = Runtime(NodeRegistry.with_builtins(), store)
    yield rt
    await rt.stop()


def value_of(rt: Runtime, tag: str):
    latest = rt.engine.tag_values.get(tag)
    return None if latest is None else latest


async def test_reads_both_protocols(sim_plant, runtime):
    await runtime.start(project_for(sim_plant))
    await until(lambda: all(value_of(runtime, t) and value_of(runtime, t)[2] == GOOD
                            for t in ("P101.vibration", "P101.bearing_temp", "VFD.speed",
                                      "VFD.drive_temp", "VFD.speed_sp")),
                10, "good samples of every tag")
    assert 1.0 < runtime.engine.tag_values["P101.vibration"][1] < 4.0
    assert 40.0 < runtime.engine.tag_values["P101.bearing_temp"][1] < 70.0
    assert runtime.engine.tag_values["VFD.speed"][1] == pytest.approx(50.0, abs=1.0)
    assert 10.0 < runtime.engine.tag_values["VFD.drive_temp"][1] < 80.0  # scaled from 0.1 °C


async def test_a_rules_write_lands_in_the_simulator(sim_plant, runtime):
    await runtime.start(add_slowdown_flow(project_for(sim_plant)))
    await until(lambda: value_of(runtime, "VFD.speed_sp") is not None, 10, "VFD setpoint")
    await sim_plant.override("P101.Vibration", 9.0)
    write = await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=5)
    assert write.value == pytest.approx(40.0)  # 50 Hz → 40 Hz: one step of at most 10 Hz
    assert sim_plant.model.speed_setpoint == pytest.approx(write.value)
    assert [e.data["tag"] for e in runtime.actions.recent if e.kind == EventKind.WRITE] == [
        "VFD.speed_sp"]


async def test_plc_offline_marks_tags_bad_fast_and_no_action_fires(sim_plant, runtime):
    await runtime.start(add_slowdown_flow(project_for(sim_plant)))
    await until(lambda: (value_of(runtime, "P101.vibration") or (0, 0, BAD))[2] == GOOD, 10,
                "good vibration samples")
    await sim_plant.plc_offline()
    took = await until(lambda: all(value_of(runtime, t)[2] == BAD
                                   for t in ("P101.vibration", "P101.bearing_temp")),
                       2.0, "PLC tags BAD after the PLC went offline")
    assert took < 2.0
    await asyncio.sleep(0.3)  # let any (wrong) action reach the simulator
    assert sim_plant.writes == ()
    assert not [e for e in runtime.actions.recent if e.kind == EventKind.WRITE]
    assert runtime.store.active_alarms() == []

    await sim_plant.plc_online()
    took = await until(lambda: value_of(runtime, "P101.vibration")[2] == GOOD, 5.0,
                       "good samples after the PLC came back")
    assert took < 5.0


async def test_vfd_offline_marks_modbus_tags_bad_and_recovers(sim_plant, runtime):
    await runtime.start(project_for(sim_plant))
    await until(lambda: (value_of(runtime, "VFD.speed") or (0, 0, BAD))[2] == GOOD, 10,
                "good VFD samples")
    await sim_plant.vfd_offline()
    await until(lambda: value_of(runtime, "VFD.speed")[2] == BAD, 2.0, "VFD tags BAD")
    await sim_plant.vfd_online()
    await until(lambda: value_of(runtime, "VFD.speed")[2] == GOOD, 5.0, "VFD tags GOOD again")


async def test_injected_bearing_wear_raises_the_alarms(sim_plant, runtime):
    await runtime.start(project_for(sim_plant))
    await until(lambda: value_of(runtime, "P101.bearing_temp") is not None, 10, "samples")
    assert runtime.store.active_alarms() == []
    sim_plant.inject("bearing_wear", rate=1.0)
    await until(lambda: runtime.store.alarm("P101.VIB_HIGH") is not None, 20,
                "the vibration alarm")
    await until(lambda: runtime.store.alarm("P101.TEMP_HIGH") is not None, 30,
                "the bearing temperature alarm")
    assert {a.alarm: a.state for a in runtime.store.active_alarms()} == {
        "P101.VIB_HIGH": "active-unacked", "P101.TEMP_HIGH": "active-unacked"}


async def test_manual_mode_stops_rule_writes(sim_plant, runtime):
    await runtime.start(add_slowdown_flow(project_for(sim_plant)))
    await until(lambda: value_of(runtime, "VFD.speed_sp") is not None, 10, "VFD setpoint")
    await runtime.set_line_mode("manual", user="operator")
    await sim_plant.override("P101.Vibration", 9.0)
    await until(lambda: any(e.kind == EventKind.WRITE_REFUSED for e in runtime.actions.recent),
                5, "the refusal")
    assert sim_plant.writes == ()


async def test_stopping_while_the_plc_is_offline_leaves_nothing_behind(sim_plant, runtime):
    await runtime.start(project_for(sim_plant))
    await until(lambda: (value_of(runtime, "P101.vibration") or (0, 0, BAD))[2] == GOOD, 10,
                "good vibration samples")
    await sim_plant.plc_offline()
    await until(lambda: value_of(runtime, "P101.vibration")[2] == BAD, 2.0, "PLC tags BAD")
    # the runtime and then the plant stop with the PLC still offline; the leak checks run
