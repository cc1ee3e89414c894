"""Node errors stay inside their flow: a model that raises, a plug-in node that raises
downstream of a model or on the grid; the flow is marked failed, the error logged once per
distinct error, and the other flows keep scoring and writing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from runtime.ai import ModelSessions, builtin_models, read_model
from runtime.contracts import GOOD, EventKind, NodeSpec, PortSpec
from runtime.contracts.models import ModelInfo
from runtime.engine import CaptureSink, Engine, FlowError
from runtime.registry import NodeRegistry

FEATURES = [("vibration_rms", "P101.vibration", "rms", 10), ("bearing_temp",
            "P101.bearing_temp", "last", 0), ("motor_current", "P101.motor_current", "last", 0),
            ("flow", "P101.flow", "last", 0), ("discharge_pressure",
            "P101.discharge_pressure", "last", 0)]
HEALTHY = {"P101.vibration": 1.9, "P101.bearing_temp": 55.0, "P101.motor_current": 41.9,
           "P101.flow": 120.0, "P101.discharge_pressure": 6.0}
SIM_MINUTES = 10


def failing_model(directory: Path) -> Path:
    """A real ONNX model that passes registration (it scores the 2-row probe) and raises in
    onnxruntime for any other number of rows: live, where each run scores one row, at every
    run. Written with its sidecar, as `models add` takes it."""
    shape = numpy_helper.from_array(np.array([2], dtype=np.int64), "two")
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["features"], ["mean"], axes=[-1], keepdims=0),
         helper.make_node("Reshape", ["mean", "two"], ["score"])], "fails_unless_two_rows",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [2])], initializer=[shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = directory / "broken-1.onnx"
    path.write_bytes(model.SerializeToString())
    path.with_suffix(".json").write_text(json.dumps({
        "id": "broken", "version": 1, "input_name": "features",
        "features": [f[0] for f in FEATURES], "units": ["mm/s", "°C", "A", "m³/h", "bar"],
        "outputs": ["score"], "description": "raises on anything but two rows"}))
    onnx.checker.check_model(model)
    return path


def model_node(node_id: str, model: str) -> dict[str, Any]:
    return {"id": node_id, "type": "ai.onnx", "params": {
        "model": model, "period_s": 1, "features": [
            {"name": n, "tag": t, "stat": s, **({"window_s": w} if w else {})}
            for n, t, s, w in FEATURES]}}


def fault_project() -> dict[str, Any]:
    """Four flows: one on the broken model, one scoring with the demo model, one whose
    node after the demo model raises, and a rule that writes the VFD setpoint."""
    tags = [{"id": t, "connection": "plc", "address": f"ns=2;s={t}", "type": "float64"}
            for t in HEALTHY]
    tags.append({"id": "VFD.speed_sp", "connection": "plc", "address": "ns=2;s=VFD.SpeedSp",
                 "type": "float64", "writable": True,
                 "envelope": {"min": 30, "max": 50, "max_step": 10}})
    return {"schema": "lineside.project/1", "name": "faults", "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}],
        "tags": tags, "flows": [
            {"id": "broken", "nodes": [
                model_node("model", "broken@1"),
                {"id": "high", "type": "logic.compare", "params": {"threshold": 6}},
                {"id": "alarm", "type": "alarm", "params": {"message": "never"}}],
             "wires": [{"from": "model:score", "to": "high:in"},
                       {"from": "high:out", "to": "alarm:in"}]},
            {"id": "health", "nodes": [model_node("model", "pump_health@1"),
                                       {"id": "scores", "type": "test.collect"}],
             "wires": [{"from": "model:score", "to": "scores:in"}]},
            {"id": "after_model", "nodes": [
                model_node("model", "pump_health@1"),
                {"id": "explode", "type": "faulty.explode", "params": {"message": "bad node"}}],
             "wires": [{"from": "model:score", "to": "explode:in"}]},
            {"id": "slowdown", "nodes": [
                {"id": "temp", "type": "source.tag", "params": {"tag": "P101.bearing_temp"}},
                {"id": "hot", "type": "logic.compare", "params": {"threshold": 60}},
                {"id": "speed", "type": "math.expression",
                 "params": {"expression": "45 if a else 50"}},
                {"id": "ease", "type": "action.write",
                 "params": {"tag": "VFD.speed_sp", "min_change": 0.5}}],
             "wires": [{"from": "temp:out", "to": "hot:in"},
                       {"from": "hot:out", "to": "speed:a"},
                       {"from": "speed:out", "to": "ease:in"}]},
        ]}


def registry_with_plugins() -> NodeRegistry:
    """Built-ins, installed plug-ins (the faulty one among them) and the test sink."""
    registry = NodeRegistry.with_builtins()
    registry.register(NodeSpec(type="test.collect", title="Collect", category="test",
                               implementation="tests.unit.test_nodes:Collect",
                               inputs=(PortSpec("in", "any"),)))
    return registry


@pytest.fixture
def sessions(tmp_path):
    with ModelSessions() as sessions:
        demo = builtin_models()[0]
        sessions.load(demo.info, demo.path)
        broken = failing_model(tmp_path)
        sessions.load(read_model(broken), broken)
        yield sessions


def samples_at(bearing_temp: float) -> list[tuple[str, float]]:
    return [(tag, bearing_temp if tag == "P101.bearing_temp" else value)
            for tag, value in HEALTHY.items()]


def test_a_raising_model_and_a_raising_node_fail_only_their_flows(faulty_plugin, sessions,
                                                                   caplog):
    sink = CaptureSink()
    failures: list[FlowError] = []
    engine = Engine(registry_with_plugins(), sink, inference=sessions,
                    on_flow_error=failures.append)
    engine.deploy(fault_project())
    caplog.set_level(logging.ERROR, logger="runtime.engine.engine")
    engine.ingest_columns("VFD.speed_sp", [999_999.0], [50.0], [GOOD])  # the read-back
    seconds = SIM_MINUTES * 60
    for second in range(seconds):
        t = 1_000_000.0 + second
        temp = 65.0 if second % 120 >= 60 else 55.0  # hot a minute, cool a minute
        for tag, value in samples_at(temp):
            engine.ingest_columns(tag, [t], [value], [GOOD])
        engine.advance(t - 1.0)

    scores = engine.flows["health"].nodes["scores"].got
    assert len(scores) >= seconds - 3  # scored every second, all ten minutes
    assert all(q == GOOD and np.isfinite(s) for _, s, q in scores)
    # the rule wrote at every change of the temperature, all ten minutes
    assert [w.value for w in sink.writes] == [50.0, 45.0] * (SIM_MINUTES // 2)
    broken, after = engine.flows["broken"].health, engine.flows["after_model"].health
    assert broken.failed and after.failed
    assert not engine.flows["health"].health.failed and not engine.flows["slowdown"].health.failed
    assert broken.errors >= seconds - 3 and after.errors >= seconds - 3
    assert broken.last_error.startswith("ModelFailed: model broken@1: failed on 1 row(s)")
    assert after.last_error == "RuntimeError: bad node"
    assert len(broken.distinct) == len(after.distinct) == 1
    # logged once per distinct error, with its traceback; reported every time
    logged = [r for r in caplog.records if "engine.flow_failed" in r.getMessage()]
    assert sorted(r.getMessage().split()[1] for r in logged) == ["flow=after_model",
                                                                 "flow=broken"]
    assert all(r.exc_info for r in logged)
    assert [f.first for f in failures].count(True) == 2
    assert len(failures) == broken.errors + after.errors
    assert not [e for e in sink.events if e.kind == EventKind.ALARM_RAISED]


def test_a_failing_flow_in_a_shared_batch_does_not_fail_the_others():
    class RefusesNegativeRows:
        """Scores row sums; the whole batch fails when any row is negative."""

        def __init__(self) -> None:
            self.calls: list[int] = []

        def run(self, model: str, rows: Any) -> dict[str, Any]:
            self.calls.append(len(rows))
            if (np.asarray(rows) < 0).any():
                raise ValueError("negative feature")
            return {"score": np.asarray(rows).sum(axis=1)}

        def catalogue(self) -> dict[str, ModelInfo]:
            return {"sum@1": ModelInfo("sum", 1, "0" * 64, "features", ("x",), ("",),
                                       ("score",))}

        def prepare(self, models: Any) -> None:
            pass

    def flow(flow_id: str, tag: str) -> dict[str, Any]:
        return {"id": flow_id, "nodes": [
            {"id": "m", "type": "ai.onnx", "params": {
                "model": "sum@1", "period_s": 1, "features": [{"tag": tag, "stat": "last"}]}},
            {"id": "out", "type": "test.collect"}], "wires": [{"from": "m:score",
                                                               "to": "out:in"}]}

    runner = RefusesNegativeRows()
    engine = Engine(registry_with_plugins(), CaptureSink(), inference=runner)
    engine.deploy({"schema": "lineside.project/1", "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}],
        "tags": [{"id": t, "connection": "plc", "address": f"ns=2;s={t}"} for t in "ab"],
        "flows": [flow("good", "a"), flow("bad", "b")]})
    for t in range(10):
        engine.ingest_columns("a", [float(t)], [1.0], [GOOD])
        engine.ingest_columns("b", [float(t)], [-1.0], [GOOD])
        engine.advance(float(t))
    assert [v for _, v, _ in engine.flows["good"].nodes["out"].got] == [1.0] * 9
    assert engine.flows["bad"].nodes["out"].got == []
    assert engine.flows["bad"].health.errors == 9 and not engine.flows["good"].health.failed
    assert runner.calls[:3] == [2, 1, 1]  # the batch, then each flow's rows alone


def test_an_exploding_grid_node_plugin_fails_its_flow_only(faulty_plugin):
    engine = Engine(registry_with_plugins(), CaptureSink())
    doc = fault_project()
    doc["flows"] = [
        {"id": "grid", "nodes": [{"id": "g", "type": "faulty.grid",
                                  "params": {"tag": "P101.flow", "message": "grid broke"}}]},
        doc["flows"][3]]
    engine.deploy(doc)
    for t in range(5):
        engine.ingest_columns("VFD.speed_sp", [float(t)], [50.0], [GOOD])
        engine.ingest_columns("P101.bearing_temp", [float(t)], [50.0 + 5 * t], [GOOD])
        engine.advance(float(t))
    assert engine.flows["grid"].health.errors == 5
    assert engine.flows["grid"].health.last_error == "ValueError: grid broke"
    assert [w.value for w in engine.sink.writes] == [50.0, 45.0]  # the other flow wrote
