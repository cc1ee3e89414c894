"""A backtest over what the runtime recorded gives exactly the events and writes of the
live run: the same node code, the same samples, in the same order, with the same stamps.

Why the two could differ, and why they don't here:
- report by exception: the drivers drop unchanged values (each tag's deadband) and the
  runtime hands the store exactly the samples the engine saw, so the historian holds them;
- time stamps: the historian keeps whole microseconds. OPC UA source stamps are whole
  microseconds already; Modbus samples are stamped by the runtime's clock, so the runtime's
  default clock (`runtime.service.wall_clock`) keeps whole microseconds;
- order: live, each tag's samples arrive in time order; the replay merges tags that meet in
  a node (and a write node's target) by time, ties in the project's tag order;
- BAD samples at connection loss are recorded like any other (and the simulated PLC serves
  fresh stamps when it comes back; see test_a_lost_plc_connection_replays_exactly);
- state: the backtest starts with the recording, where the live nodes started, and alarms
  start normal as they did in the fresh store.
"""

from __future__ import annotations

import time

import pytest

from runtime.contracts import BAD, GOOD, EventKind
from runtime.engine.replay import backtest
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store, StoreConfig
from tests.integration.test_runtime import add_slowdown_flow, project_for, until

ACTIONS = (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED, EventKind.WRITE)


def add_speed_low_flow(doc):
    """VFD speed (Modbus, stamped by the runtime's clock) below 45 Hz → alarm."""
    doc["flows"].append({"id": "speed_low", "nodes": [
        {"id": "speed", "type": "source.tag", "params": {"tag": "VFD.speed"}},
        {"id": "low", "type": "logic.hysteresis", "params": {"on_above": -45, "off_below": -46}},
        {"id": "neg", "type": "math.scale", "params": {"in_min": 0, "in_max": 1, "out_min": 0,
                                                       "out_max": -1}},
        {"id": "alarm", "type": "alarm", "params": {"alarm_id": "VFD.SPEED_LOW",
                                                    "message": "VFD speed below 45 Hz"}},
    ], "wires": [{"from": "speed:out", "to": "neg:in"}, {"from": "neg:out", "to": "low:in"},
                 {"from": "low:out", "to": "alarm:in"}]})
    return doc


def add_chatter_flow(doc):
    """Raw vibration above its normal level for 50 ms (message time) → alarm: it chatters."""
    doc["flows"].append({"id": "chatter", "nodes": [
        {"id": "vib", "type": "source.tag", "params": {"tag": "P101.vibration"}},
        {"id": "above", "type": "logic.compare", "params": {"op": ">", "threshold": 2.0}},
        {"id": "held", "type": "logic.debounce", "params": {"on_delay_s": 0.05,
                                                            "off_delay_s": 0.0}},
        {"id": "alarm", "type": "alarm", "params": {"alarm_id": "P101.VIB_CHATTER",
                                                    "message": "vibration above normal"}},
    ], "wires": [{"from": "vib:out", "to": "above:in"}, {"from": "above:out", "to": "held:in"},
                 {"from": "held:out", "to": "alarm:in"}]})
    return doc


def state(store: Store, alarm_id: str) -> str:
    record = store.alarm(alarm_id)
    return "normal" if record is None else record.state


def recorded_actions(store: Store, flow_id: str):
    return [(e.kind, e.data.get("alarm") or e.data.get("tag"), e.data.get("value"), e.ts)
            for e in store.events(0, float("inf"), ACTIONS, limit=100_000) if e.flow == flow_id]


def replayed_actions(result):
    return [(e.kind, e.data.get("alarm") or e.data.get("tag"), e.data.get("value"), e.ts)
            for e in result.events if e.kind in ACTIONS]


async def test_a_backtest_of_the_recorded_run_matches_it_exactly(sim_plant, tmp_path):
    doc = add_chatter_flow(add_speed_low_flow(add_slowdown_flow(project_for(sim_plant),
                                                                threshold=5.0)))
    async with Store(tmp_path / "db", StoreConfig(commit_interval_s=0.05)) as store:
        runtime = Runtime(NodeRegistry.with_builtins(), store)
        await runtime.start(doc)
        try:
            await until(lambda: len(runtime.engine.tag_values) == 6, 10, "every tag")
            await sim_plant.wait_ticks(60)  # normal running: the chatter alarm chatters
            for _ in range(2):
                await sim_plant.override("P101.BearingTemp", 80.0)
                await until(lambda: state(store, "P101.TEMP_HIGH") == "active-unacked", 10,
                            "the temperature alarm")
                await sim_plant.release("P101.BearingTemp")
                await until(lambda: state(store, "P101.TEMP_HIGH") == "returned-unacked", 10,
                            "the temperature alarm to clear")
            sim_plant.inject("bearing_wear", rate=4.0)
            await until(lambda: store.alarm("P101.VIB_HIGH") is not None, 20, "vib alarm")
            await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=10)
            await until(lambda: store.alarm("VFD.SPEED_LOW") is not None, 20, "speed low")
        finally:
            await runtime.stop()
        end = time.time() + 1
        registry = NodeRegistry.with_builtins()
        for flow_id, at_least in (("temp_high", 4), ("vib_rms", 1), ("slowdown", 1),
                                  ("speed_low", 1), ("chatter", 6)):
            live = recorded_actions(store, flow_id)
            result = backtest(doc, flow_id, store, 0, end, registry=registry)
            assert replayed_actions(result) == live, flow_id
            assert len(live) >= at_least, (flow_id, live)
        audited = [(r.target, r.details["value"], r.details["ts"])
                   for r in store.audit_records(0, float("inf"), action="write")]
        replayed = backtest(doc, "slowdown", store, 0, end, registry=registry).writes
        assert [(w.tag, w.value, w.ts) for w in replayed] == audited == [
            ("VFD.speed_sp", 40.0, pytest.approx(audited[0][2]))]


async def test_a_lost_plc_connection_replays_exactly(sim_plant, tmp_path):
    doc = add_chatter_flow(project_for(sim_plant))
    doc["flows"].append({"id": "joined", "nodes": [  # the worst quality of both inputs
        {"id": "sp", "type": "source.tag", "params": {"tag": "P101.speed_sp"}},
        {"id": "vib", "type": "source.tag", "params": {"tag": "P101.vibration"}},
        {"id": "x", "type": "math.expression", "params": {"expression": "b - a * 0"}},
        {"id": "above", "type": "logic.compare", "params": {"op": ">", "threshold": 2.0}},
        {"id": "alarm", "type": "alarm", "params": {"alarm_id": "J", "message": "j"}}],
        "wires": [{"from": "sp:out", "to": "x:a"}, {"from": "vib:out", "to": "x:b"},
                  {"from": "x:out", "to": "above:in"}, {"from": "above:out", "to": "alarm:in"}]})
    async with Store(tmp_path / "db", StoreConfig(commit_interval_s=0.05)) as store:
        runtime = Runtime(NodeRegistry.with_builtins(), store)

        def quality() -> int:
            return runtime.engine.tag_values["P101.vibration"][2]

        await runtime.start(doc)
        try:
            await until(lambda: len(runtime.engine.tag_values) == 6, 10, "every tag")
            await sim_plant.wait_ticks(20)
            await sim_plant.plc_offline()
            await until(lambda: quality() == BAD, 5, "PLC tags BAD")
            await sim_plant.plc_online()
            await until(lambda: quality() == GOOD, 10, "PLC tags GOOD again")
            await sim_plant.wait_ticks(40)
        finally:
            await runtime.stop()
        end = time.time() + 1
        assert BAD in store.history_columns("P101.speed_sp", 0, end).quality.tolist()
        registry = NodeRegistry.with_builtins()
        for flow_id in ("joined", "chatter"):
            live = recorded_actions(store, flow_id)
            result = backtest(doc, flow_id, store, 0, end, registry=registry)
            assert replayed_actions(result) == live, flow_id
            assert len(live) >= 4, (flow_id, live)


async def test_a_model_flow_joined_with_a_tag_replays_as_live(sim_plant, tmp_path):
    """The demo health flow's shape with a baseline model: scores on a time grid (evaluated
    as the watermark passes) meet P101.running in an And, then persistence, alarm, write."""
    doc = project_for(sim_plant)
    doc["tags"].append({"id": "P101.running", "connection": "plc",
                        "address": "ns=2;s=P101.Running", "type": "bool"})
    doc["flows"] = [{"id": "health", "nodes": [
        {"id": "model", "type": "ai.baseline", "params": {
            "features": [{"name": "vib", "tag": "P101.vibration", "stat": "rms",
                          "window_s": 0.5},
                         {"name": "temp", "tag": "P101.bearing_temp", "stat": "last"}],
            "learn_s": 1.5, "period_s": 0.1}},
        {"id": "abnormal", "type": "logic.hysteresis", "params": {"on_above": 6,
                                                                  "off_below": 4}},
        {"id": "running", "type": "source.tag", "params": {"tag": "P101.running"}},
        {"id": "while_running", "type": "logic.and"},
        {"id": "persistent", "type": "logic.debounce", "params": {"on_delay_s": 0.3,
                                                                  "off_delay_s": 1}},
        {"id": "alarm", "type": "alarm", "params": {"alarm_id": "P101.HEALTH",
                                                    "message": "abnormal"}},
        {"id": "ease", "type": "action.write", "params": {"tag": "VFD.speed_sp",
                                                          "on_true": 45, "min_change": 0.5}}],
        "wires": [{"from": "model:score", "to": "abnormal:in"},
                  {"from": "abnormal:out", "to": "while_running:a"},
                  {"from": "running:out", "to": "while_running:b"},
                  {"from": "while_running:out", "to": "persistent:in"},
                  {"from": "persistent:out", "to": "alarm:in"},
                  {"from": "persistent:out", "to": "ease:in"}]}]
    async with Store(tmp_path / "db", StoreConfig(commit_interval_s=0.05)) as store:
        runtime = Runtime(NodeRegistry.with_builtins(), store)
        await runtime.start(doc)
        try:
            await until(lambda: len(runtime.engine.tag_values) == 7, 10, "every tag")
            await sim_plant.wait_ticks(50)  # learned
            sim_plant.inject("bearing_wear", rate=2.0)
            await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=10)
            await until(lambda: state(store, "P101.HEALTH") != "normal", 10, "the alarm")
            await sim_plant.wait_ticks(30)
        finally:
            stopped = time.time()
            await runtime.stop()
        # Live, the watermark trailed the clock: what was scored up to here, it acted on.
        end = stopped - Runtime.ADVANCE_INTERVAL_S - Runtime.WATERMARK_GRACE_S
        live = [a for a in recorded_actions(store, "health") if a[3] < end]
        result = backtest(doc, "health", store, 0, end, registry=NodeRegistry.with_builtins())
        assert replayed_actions(result) == live
        assert [a[0] for a in live][:2] == [EventKind.ALARM_RAISED, EventKind.WRITE]
