"""Validation reports every problem with its JSON path; a bad document is never deployed."""

from __future__ import annotations

import pytest

from runtime.contracts import ValidationFailed
from runtime.contracts.validation import validate_project
from runtime.engine import CaptureSink, Engine
from runtime.registry import NodeRegistry
from tests.projects import pump_project, with_changes

REGISTRY = NodeRegistry.with_builtins()


def problems_of(doc):
    return [(p.path, p.message) for p in validate_project(doc, REGISTRY.catalogue())]


def test_the_pump_project_is_valid():
    assert problems_of(pump_project()) == []


def _set(path_fn):
    return lambda doc: path_fn(doc)


INVALID = {
    "not an object": (lambda d: None, "$", "JSON object"),
    "wrong schema": (lambda d: d.update(schema="lineside.project/9"), "$.schema",
                     "must be 'lineside.project/1'"),
    "missing field": (lambda d: d["tags"][0].pop("address"), "$.tags[0]",
                      "missing required field 'address'"),
    "unknown field": (lambda d: d["tags"][0].update(colour="red"), "$.tags[0]",
                      "unknown field(s) 'colour'"),
    "bad connection kind": (lambda d: d["connections"][1].update(kind="profibus"),
                            "$.connections[1].kind", "must be one of opcua, modbus"),
    "bad endpoint": (lambda d: d["connections"][0].update(endpoint="http://plc"),
                     "$.connections[0].endpoint", "must start with opc.tcp://"),
    "unknown connection": (lambda d: d["tags"][1].update(connection="plc2"),
                           "$.tags[1].connection", "unknown connection 'plc2'"),
    "bad modbus address": (lambda d: d["tags"][4].update(address="40001"),
                           "$.tags[4].address", "not a Modbus address"),
    "write to input register": (lambda d: d["tags"][4].update(
        writable=True, envelope={"min": 0, "max": 1}), "$.tags[4].writable", "read-only"),
    "writable without envelope": (lambda d: d["tags"][2].pop("envelope"),
                                  "$.tags[2].envelope", "needs a write envelope"),
    "envelope min above max": (lambda d: d["tags"][2]["envelope"].update(min=60),
                               "$.tags[2].envelope.min", "is above max"),
    "duplicate tag id": (lambda d: d["tags"][1].update(id="P101.vibration"), "$.tags[1].id",
                         "already used at $.tags[0]"),
    "unknown node type": (lambda d: d["flows"][0]["nodes"][1].update(type="logic.fuzzy"),
                          "$.flows[0].nodes[1].type", "unknown node type 'logic.fuzzy'"),
    "param out of range": (lambda d: d["flows"][1]["nodes"][1]["params"].update(samples=0),
                           "$.flows[1].nodes[1].params.samples", "must be at least 1"),
    "param wrong type": (lambda d: d["flows"][0]["nodes"][1]["params"].update(on_above="hot"),
                         "$.flows[0].nodes[1].params.on_above", "must be a number"),
    "unknown param": (lambda d: d["flows"][0]["nodes"][1]["params"].update(gain=2),
                      "$.flows[0].nodes[1].params.gain", "has no parameter 'gain'"),
    "hysteresis levels crossed": (
        lambda d: d["flows"][0]["nodes"][1]["params"].update(on_above=60, off_below=65),
        "$.flows[0].nodes[1].params.off_below", "must not be above"),
    "unknown tag in source": (
        lambda d: d["flows"][0]["nodes"][0]["params"].update(tag="P102.temp"),
        "$.flows[0].nodes[0].params.tag", "unknown tag 'P102.temp'"),
    "wire to unknown node": (lambda d: d["flows"][0]["wires"].append(
        {"from": "hyst:out", "to": "ghost:in"}), "$.flows[0].wires[2].to",
        "unknown node 'ghost'"),
    "wire to unknown port": (lambda d: d["flows"][0]["wires"][0].update(to="hyst:input"),
                             "$.flows[0].wires[0].to", "has no input 'input'"),
    "port type mismatch": (lambda d: d["flows"][1]["wires"].__setitem__(
        2, {"from": "rms:out", "to": "alarm:in"}), "$.flows[1].wires[2]",
        "cannot wire number output 'rms:out' to bool input 'alarm:in'"),
    "input wired twice": (lambda d: d["flows"][1]["wires"].append(
        {"from": "src:out", "to": "hyst:in"}), "$.flows[1].wires[3].to", "already wired"),
    "cycle": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "sum", "type": "math.expression", "params": {"expression": "a + b"}}) or
        d["flows"][1]["wires"].extend([{"from": "rms:out", "to": "sum:a"},
                                       {"from": "sum:out", "to": "sum:b"}]),
        "$.flows[1].wires", "wires form a loop: sum → sum"),
    "bad expression": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "x", "type": "math.expression",
         "params": {"expression": "__import__('os').system('rm -rf /')"}}),
        "$.flows[1].nodes[4].params.expression", "not allowed"),
    "write to read-only tag": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "w", "type": "action.write", "params": {"tag": "VFD.speed"}}),
        "$.flows[1].nodes[4].params.tag", "is not writable"),
    "bad flow mode": (lambda d: d["flows"][0].update(mode="test"), "$.flows[0].mode",
                      "must be one of live, shadow"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_document_is_reported_with_its_path(case):
    change, path, fragment = INVALID[case]
    doc = None if case == "not an object" else with_changes(pump_project(), change)
    problems = problems_of(doc)
    assert any(p == path and fragment in m for p, m in problems), problems


def test_every_problem_is_reported_not_just_the_first():
    def break_twice(d):
        d["tags"][1]["connection"] = "nowhere"
        d["flows"][0]["nodes"][1]["type"] = "logic.fuzzy"
    paths = [p for p, _ in problems_of(with_changes(pump_project(), break_twice))]
    assert "$.tags[1].connection" in paths
    assert "$.flows[0].nodes[1].type" in paths


def test_a_node_of_unknown_type_is_reported_once_and_wires_to_nowhere_still_are():
    def break_it(d):
        d["flows"][1]["nodes"][1]["type"] = "math.fuzzy"  # rms: wired in and out
        d["flows"][1]["wires"].append({"from": "ghost:out", "to": "rms:in"})
    assert problems_of(with_changes(pump_project(), break_it)) == [
        ("$.flows[1].nodes[1].type", "unknown node type 'math.fuzzy'"),
        ("$.flows[1].wires[3].from", "unknown node 'ghost'"),
    ]


@pytest.mark.parametrize("case", sorted(c for c in INVALID if c != "not an object"))
def test_rejected_deploy_leaves_the_running_project_unchanged(case):
    engine = Engine(REGISTRY, CaptureSink())
    good = pump_project()
    engine.deploy(good)
    before = (engine.project, dict(engine.flows))
    with pytest.raises(ValidationFailed) as failure:
        engine.deploy(with_changes(good, INVALID[case][0]))
    assert failure.value.problems
    assert (engine.project, engine.flows) == before


def test_legacy_type_id_still_validates():
    doc = with_changes(pump_project(),
                       lambda d: d["flows"][0]["nodes"][0].update(type="tag"))
    assert problems_of(doc) == []
