"""Validation reports every problem with its JSON path; a bad document is never deployed."""

from __future__ import annotations

import math

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


EXPRESSION_FUNCTIONS = "abs, clamp, cos, exp, log, log10, max, min, round, sin, sqrt"

# case: (change to the pump project, every problem expected: [(path, message)])
INVALID = {
    "not an object": (lambda d: None, [("$", "the project must be a JSON object")]),
    "wrong schema": (lambda d: d.update(schema="lineside.project/9"), [
        ("$.schema", "must be 'lineside.project/1', found 'lineside.project/9'")]),
    "missing field": (lambda d: d["tags"][0].pop("address"), [
        ("$.tags[0]", "missing required field 'address'")]),
    "unknown field": (lambda d: d["tags"][0].update(colour="red"), [
        ("$.tags[0]", "unknown field(s) 'colour'")]),
    "bad connection kind": (lambda d: d["connections"][1].update(kind="profibus"), [
        ("$.connections[1].kind", "must be one of opcua, modbus; found 'profibus'")]),
    "connection without kind": (lambda d: d["connections"][0].pop("kind"), [
        ("$.connections[0]", "missing required field 'kind'")]),
    "bad endpoint": (lambda d: d["connections"][0].update(endpoint="http://plc"), [
        ("$.connections[0].endpoint",
         "'http://plc' is not an OPC UA endpoint: it must start with opc.tcp://")]),
    "security policy without its parts": (
        lambda d: d["connections"][0].update(security={"policy": "Basic256Sha256"}), [
            ("$.connections[0].security.mode",
             "a security policy needs mode Sign or SignAndEncrypt"),
            ("$.connections[0].security.certificate",
             "certificate is required with policy Basic256Sha256"),
            ("$.connections[0].security.private_key",
             "private key is required with policy Basic256Sha256")]),
    "unknown connection": (lambda d: d["tags"][1].update(connection="plc2"), [
        ("$.tags[1].connection", "unknown connection 'plc2'")]),
    "bad modbus address": (lambda d: d["tags"][4].update(address="40001"), [
        ("$.tags[4].address", "address '40001' is not a Modbus address: use hr:N, ir:N, "
                              "coil:N or di:N (N from 0 to 65535)")]),
    "type that does not fit the area": (lambda d: d["tags"][4].update(address="coil:3"), [
        ("$.tags[4].type", "coils hold bools, not float32")]),
    "write to input register": (lambda d: d["tags"][4].update(
        writable=True, envelope={"min": 0, "max": 1}), [
        ("$.tags[4].writable", "ir:0 is a read-only input register; only holding registers "
                               "(hr) and coils can be written")]),
    "writable without envelope": (lambda d: d["tags"][2].pop("envelope"), [
        ("$.tags[2].envelope", "writable tag 'P101.speed_sp' needs a write envelope "
                               "(min, max, max_step, min_interval_s)")]),
    "numbers that are not finite": (lambda d: (
        d["tags"][2]["envelope"].update(min=math.nan, max_step=math.inf),
        d["flows"][0]["nodes"][1]["params"].update(on_above=-math.inf)), [
        ("$.tags[2].envelope.min", "must be a finite number, found nan"),
        ("$.tags[2].envelope.max_step", "must be a finite number, found inf"),
        ("$.flows[0].nodes[1].params.on_above", "must be a finite number, found -inf")]),
    "envelope min above max": (lambda d: d["tags"][2]["envelope"].update(min=60), [
        ("$.tags[2].envelope.min", "envelope min 60 is above max 50")]),
    "duplicate tag id": (lambda d: d["tags"][1].update(id="P101.vibration"), [
        ("$.tags[1].id", "tag id 'P101.vibration' is already used at $.tags[0]"),
        # the renamed tag was the only P101.bearing_temp: its reader is left without one
        ("$.flows[0].nodes[0].params.tag", "unknown tag 'P101.bearing_temp'")]),
    "unknown node type": (lambda d: d["flows"][0]["nodes"][1].update(type="logic.fuzzy"), [
        ("$.flows[0].nodes[1].type", "unknown node type 'logic.fuzzy'")]),
    "param out of range": (lambda d: d["flows"][1]["nodes"][1]["params"].update(samples=0), [
        ("$.flows[1].nodes[1].params.samples", "must be at least 1, found 0")]),
    "param wrong type": (
        lambda d: d["flows"][0]["nodes"][1]["params"].update(on_above="hot"), [
            ("$.flows[0].nodes[1].params.on_above", "must be a number, found 'hot'")]),
    "unknown param": (lambda d: d["flows"][0]["nodes"][1]["params"].update(gain=2), [
        ("$.flows[0].nodes[1].params.gain",
         "node type 'logic.hysteresis' has no parameter 'gain'")]),
    "hysteresis levels crossed": (
        lambda d: d["flows"][0]["nodes"][1]["params"].update(on_above=60, off_below=65), [
            ("$.flows[0].nodes[1].params.off_below",
             "'off below' must not be above 'on above'")]),
    "unknown tag in source": (
        lambda d: d["flows"][0]["nodes"][0]["params"].update(tag="P102.temp"), [
            ("$.flows[0].nodes[0].params.tag", "unknown tag 'P102.temp'")]),
    "wire to unknown node": (lambda d: d["flows"][0]["wires"].append(
        {"from": "hyst:out", "to": "ghost:in"}), [
        ("$.flows[0].wires[2].to", "unknown node 'ghost'")]),
    "wire to unknown port": (lambda d: d["flows"][0]["wires"][0].update(to="hyst:input"), [
        ("$.flows[0].wires[0].to", "node 'hyst' (logic.hysteresis) has no input 'input'")]),
    "port type mismatch": (lambda d: d["flows"][1]["wires"].__setitem__(
        2, {"from": "rms:out", "to": "alarm:in"}), [
        ("$.flows[1].wires[2]",
         "cannot wire number output 'rms:out' to bool input 'alarm:in'")]),
    "input wired twice": (lambda d: d["flows"][1]["wires"].append(
        {"from": "src:out", "to": "hyst:in"}), [
        ("$.flows[1].wires[3].to", "input 'hyst:in' is already wired by $.flows[1].wires[1]")]),
    "cycle": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "sum", "type": "math.expression", "params": {"expression": "a + b"}}) or
        d["flows"][1]["wires"].extend([{"from": "rms:out", "to": "sum:a"},
                                       {"from": "sum:out", "to": "sum:b"}]), [
        ("$.flows[1].wires", "wires form a loop: sum → sum")]),
    "bad expression": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "x", "type": "math.expression",
         "params": {"expression": "__import__('os').system('rm -rf /')"}}), [
        ("$.flows[1].nodes[4].params.expression",
         f"function '__import__('os').system' is not allowed; use one of "
         f"{EXPRESSION_FUNCTIONS}")]),
    "expression of unbounded cost": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "x", "type": "math.expression", "params": {"expression": "a ** 9**9**9"}}), [
        ("$.flows[1].nodes[4].params.expression",
         "exponent 9**9 (= 3.8742e+08) in '9**9**9' is beyond the limit of ±1000")]),
    "write to read-only tag": (lambda d: d["flows"][1]["nodes"].append(
        {"id": "w", "type": "action.write", "params": {"tag": "VFD.speed"}}), [
        ("$.flows[1].nodes[4].params.tag", "tag 'VFD.speed' is not writable")]),
    "bad flow mode": (lambda d: d["flows"][0].update(mode="test"), [
        ("$.flows[0].mode", "must be one of live, shadow; found 'test'")]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_document_is_reported_with_exactly_its_problems(case):
    change, expected = INVALID[case]
    doc = None if case == "not an object" else with_changes(pump_project(), change)
    assert problems_of(doc) == expected


def test_every_problem_is_reported_not_just_the_first():
    def break_twice(d):
        d["tags"][1]["connection"] = "nowhere"
        d["flows"][0]["nodes"][1]["type"] = "logic.fuzzy"
    assert problems_of(with_changes(pump_project(), break_twice)) == [
        ("$.tags[1].connection", "unknown connection 'nowhere'"),
        ("$.flows[0].nodes[1].type", "unknown node type 'logic.fuzzy'"),
    ]


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
