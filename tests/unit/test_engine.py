"""The engine: dispatch through compiled flows, quality, deploy keeps unchanged flows' state."""

from __future__ import annotations

import pytest

from runtime.contracts import BAD, GOOD, EventKind, LineMode
from runtime.engine import CaptureSink, Engine
from runtime.engine.graph import BuildError
from runtime.registry import NodeRegistry
from tests.projects import pump_project, with_changes

REGISTRY = NodeRegistry.with_builtins()


def feed(engine: Engine, tag: str, values, start: float = 0.0, quality: int = GOOD):
    ts = [start + i for i in range(len(values))]
    engine.ingest_columns(tag, ts, list(values), [quality] * len(values))


def alarm_events(sink: CaptureSink, alarm: str):
    return [e.kind for e in sink.events if e.data.get("alarm") == alarm]


def test_bearing_temperature_hysteresis_raises_and_clears_once():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(pump_project())
    feed(engine, "P101.bearing_temp", [60, 69, 71, 72, 68, 66, 71, 64, 60])
    assert alarm_events(sink, "P101.TEMP_HIGH") == [EventKind.ALARM_RAISED,
                                                     EventKind.ALARM_CLEARED]
    raised = sink.events[0]
    assert (raised.ts, raised.flow, raised.node, raised.data["priority"]) == (
        2.0, "temp_high", "alarm", "high")


def test_bad_quality_never_raises_or_clears():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(pump_project())
    feed(engine, "P101.bearing_temp", [99, 99, 99], quality=BAD)
    assert sink.events == []
    feed(engine, "P101.bearing_temp", [99], start=10)
    feed(engine, "P101.bearing_temp", [None, None], start=11, quality=BAD)
    assert alarm_events(sink, "P101.TEMP_HIGH") == [EventKind.ALARM_RAISED]


def test_samples_of_many_tags_dispatch_in_time_order():
    from runtime.contracts import Sample
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(pump_project())
    engine.ingest([Sample("P101.bearing_temp", 1.0, 80.0), Sample("P101.vibration", 1.0, 2.0),
                   Sample("P101.bearing_temp", 2.0, 60.0)])
    assert alarm_events(sink, "P101.TEMP_HIGH") == [EventKind.ALARM_RAISED,
                                                     EventKind.ALARM_CLEARED]
    assert engine.tag_values["P101.bearing_temp"] == (2.0, 60.0, GOOD)


def test_deploy_changing_one_flow_keeps_the_other_flows_window_state():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    first = engine.deploy(pump_project())
    assert set(first.started) == {"temp_high", "vib_rms"}
    feed(engine, "P101.vibration", [8.0] * 15)  # 15 of the 20 samples the RMS window holds
    window = engine.flows["vib_rms"].nodes["rms"]
    assert len(window.values) == 15

    changed = with_changes(pump_project(), lambda d: d["flows"][0]["nodes"][1]["params"]
                           .update(on_above=75))
    changed["flows"][1]["nodes"][0]["ui"] = {"x": 300, "y": 40}  # moved on screen only
    result = engine.deploy(changed)

    assert result.started == ("temp_high",)
    assert result.kept == ("vib_rms",)
    assert engine.flows["vib_rms"].nodes["rms"] is window
    assert len(window.values) == 15
    assert engine.flows["temp_high"].nodes["hyst"].on_level == 75


def test_deploy_restarts_a_flow_whose_tag_definition_changed():
    engine = Engine(REGISTRY, CaptureSink())
    engine.deploy(pump_project())
    changed = with_changes(pump_project(), lambda d: d["tags"][0].update(deadband=0.5))
    result = engine.deploy(changed)
    assert result.started == ("vib_rms",)
    assert result.kept == ("temp_high",)


def test_removed_and_disabled_flows_stop():
    engine = Engine(REGISTRY, CaptureSink())
    engine.deploy(pump_project())
    result = engine.deploy(with_changes(pump_project(), lambda d: d["flows"][1].update(
        enabled=False)))
    assert result.stopped == ("vib_rms",)
    feed(engine, "P101.vibration", [50.0] * 30)  # no flow reads it any more
    assert "vib_rms" not in engine.flows


def test_a_node_that_fails_to_build_leaves_the_old_project_running(tmp_path):
    from runtime.contracts import NodeSpec, PortSpec
    registry = NodeRegistry.with_builtins(plugins=False)
    registry.register(NodeSpec(type="test.broken", title="Broken", category="test",
                               implementation="no.such.module:Nothing",
                               inputs=(PortSpec("in", "any"),)))
    engine = Engine(registry, CaptureSink())
    engine.deploy(pump_project())
    before = (engine.project, dict(engine.flows))

    def add_broken(d):
        d["flows"][0]["nodes"].append({"id": "x", "type": "test.broken"})
        d["flows"][0]["wires"].append({"from": "hyst:out", "to": "x:in"})
    with pytest.raises(BuildError, match="flow 'temp_high' node 'x'"):
        engine.deploy(with_changes(pump_project(), add_broken))
    assert (engine.project, engine.flows) == before


def test_a_node_error_is_contained_to_its_flow(caplog):
    doc = with_changes(pump_project(), lambda d: d["flows"][0]["nodes"].insert(1, {
        "id": "div", "type": "math.expression", "params": {"expression": "a // 0"}}))
    doc["flows"][0]["wires"] = [{"from": "src:out", "to": "div:a"},
                                {"from": "div:out", "to": "hyst:in"},
                                {"from": "hyst:out", "to": "alarm:in"}]
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(doc)
    feed(engine, "P101.bearing_temp", [80.0, 90.0])
    assert sink.events == []  # the NaN result is BAD quality: nothing fires


def _write_flow(doc, **write_params):
    doc["flows"].append({
        "id": "slow_down", "nodes": [
            {"id": "src", "type": "source.tag", "params": {"tag": "P101.vibration"}},
            {"id": "target", "type": "math.expression", "params": {"expression": "60 - a"}},
            {"id": "write", "type": "action.write",
             "params": {"tag": "VFD.speed_sp", **write_params}},
        ],
        "wires": [{"from": "src:out", "to": "target:a"},
                  {"from": "target:out", "to": "write:in"}],
    })


def read_back(engine, value=45.0, quality=GOOD):
    """The setpoint as read from the PLC: a max_step envelope steps from it."""
    engine.ingest_columns("VFD.speed_sp", [0.0], [value], [quality])


def test_writes_stay_inside_the_envelope():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(with_changes(pump_project(), _write_flow))
    read_back(engine)
    feed(engine, "P101.vibration", [15.0], start=1)   # wants 45 → 45
    feed(engine, "P101.vibration", [40.0], start=2)   # wants 20 → min 30, step from 45 → 35
    feed(engine, "P101.vibration", [-10.0], start=3)  # wants 70 → max 50
    assert [w.value for w in sink.writes] == [45.0, 35.0, 50.0]
    assert all(w.flow == "slow_down" and w.node == "write" for w in sink.writes)
    clamped = [e.data["clamped"] for e in sink.events if e.kind == EventKind.WRITE]
    assert clamped == [False, True, True]


def test_no_write_on_bad_input_or_in_manual_mode():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(with_changes(pump_project(), _write_flow))
    feed(engine, "P101.vibration", [15.0, 16.0], quality=BAD)
    engine.line_mode = LineMode.MANUAL
    feed(engine, "P101.vibration", [15.0], start=5)
    assert sink.writes == []
    reasons = [e.data["reason"] for e in sink.events if e.kind == EventKind.WRITE_REFUSED]
    assert reasons == ["input quality is not good", "line is in manual mode"]


def test_no_write_without_a_good_read_back_to_step_from():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(with_changes(pump_project(), _write_flow))
    feed(engine, "P101.vibration", [15.0])  # the setpoint was never read
    read_back(engine, 45.0, BAD)
    feed(engine, "P101.vibration", [16.0], start=1)
    assert sink.writes == []
    read_back(engine, 45.0)
    feed(engine, "P101.vibration", [17.0], start=2)
    assert [w.value for w in sink.writes] == [43.0]
    reasons = [e.data["reason"] for e in sink.events if e.kind == EventKind.WRITE_REFUSED]
    assert reasons == ["no good read-back of tag VFD.speed_sp to step from (max step 10)"]


def test_a_read_back_out_of_reach_is_refused_once_however_it_drifts():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    engine.deploy(with_changes(pump_project(), _write_flow))
    for i, drifting in enumerate([65.0, 66.0, 67.0]):  # max 50, max_step 10
        read_back(engine, drifting)
        feed(engine, "P101.vibration", [15.0 + i], start=i)
    assert sink.writes == []
    reasons = [e.data["reason"] for e in sink.events if e.kind == EventKind.WRITE_REFUSED]
    assert reasons == ["read-back 65 of tag VFD.speed_sp is more than the max step 10 outside "
                       "the envelope 30 to 50"]


def test_min_interval_between_writes():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)
    doc = with_changes(pump_project(), _write_flow)
    doc["tags"][3]["envelope"]["min_interval_s"] = 10
    engine.deploy(doc)
    read_back(engine)
    feed(engine, "P101.vibration", [15.0, 16.0, 17.0, 18.0])
    feed(engine, "P101.vibration", [19.0], start=10)
    assert [(w.ts, w.value) for w in sink.writes] == [(0.0, 45.0), (10.0, 41.0)]


def test_write_on_true_writes_the_set_value_only_while_true():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)

    def flow(d):
        d["flows"].append({"id": "trigger", "nodes": [
            {"id": "src", "type": "source.tag", "params": {"tag": "P101.vibration"}},
            {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": 7}},
            {"id": "write", "type": "action.write",
             "params": {"tag": "VFD.speed_sp", "on_true": 40, "min_change": 0.1}},
        ], "wires": [{"from": "src:out", "to": "high:in"},
                     {"from": "high:out", "to": "write:in"}]})
    engine.deploy(with_changes(pump_project(), flow))
    read_back(engine)
    feed(engine, "P101.vibration", [2.0, 8.0, 9.0, 3.0, 8.0])
    assert [(w.ts, w.value) for w in sink.writes] == [(1.0, 40.0)]


def test_shadow_flow_actions_are_captured_not_executed():
    live = CaptureSink()
    engine = Engine(REGISTRY, live)
    doc = with_changes(pump_project(), _write_flow)
    doc["flows"][2]["mode"] = "shadow"
    engine.deploy(doc)
    read_back(engine)
    feed(engine, "P101.vibration", [15.0])
    assert live.writes == []
    shadow = engine.shadow_captures()["slow_down"]
    assert [w.value for w in shadow.writes] == [45.0]
    assert all(e.shadow for e in shadow.events)


def test_line_mode_node_requests_manual_on_rising_edge():
    sink = CaptureSink()
    engine = Engine(REGISTRY, sink)

    def flow(d):
        d["flows"].append({"id": "safety", "nodes": [
            {"id": "src", "type": "source.tag", "params": {"tag": "P101.vibration"}},
            {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": 20}},
            {"id": "mode", "type": "action.line_mode", "params": {"mode": "manual"}},
        ], "wires": [{"from": "src:out", "to": "high:in"},
                     {"from": "high:out", "to": "mode:in"}]})
    engine.deploy(with_changes(pump_project(), flow))
    feed(engine, "P101.vibration", [2.0, 25.0, 26.0, 2.0, 30.0])
    assert sink.modes == ["manual", "manual"]
