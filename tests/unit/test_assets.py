"""The project document's `assets` (the overview's display hints): validated like the rest,
every problem with its JSON path; parsed into plain data the HMI draws from."""

from __future__ import annotations

import pytest

from runtime.ai.registry import builtin_models
from runtime.contracts.assets import AssetTag, Health, Limits, assets_from_dict
from runtime.contracts.diff import diff_projects
from runtime.contracts.validation import validate_project
from runtime.demo import demo_project
from runtime.registry import NodeRegistry
from tests.projects import pump_project, with_changes

REGISTRY = NodeRegistry.with_builtins()


MODELS = {model.info.key: model.info for model in builtin_models()}


def problems_of(doc):
    return [(p.path, p.message) for p in validate_project(doc, REGISTRY.catalogue(), MODELS)]


def with_assets(**health):
    """The pump project with one asset over its tags (and a health score when given)."""
    doc = pump_project()
    doc["assets"] = [{
        "id": "P-101", "name": "P-101 pump", "tags": [
            {"tag": "P101.vibration", "label": "Vibration", "range": [0, 10],
             "normal": [0, 3.5], "limits": {"hi": 4.5, "hi_hi": 6}},
            {"tag": "P101.bearing_temp", "range": [0, 100], "normal": [35, 66],
             "limits": {"hi": 70}},
            {"tag": "VFD.speed", "role": "detail"},
        ]}]
    if health:
        doc["assets"][0]["health"] = health
    return doc


def test_a_project_with_assets_is_valid_and_parses():
    doc = with_assets(tag="P101.vibration", range=[0, 10], warn=4, alarm=6)
    assert problems_of(doc) == []
    (asset,) = assets_from_dict(doc)
    assert asset.id == "P-101" and asset.name == "P-101 pump"
    assert asset.tags[0] == AssetTag("P101.vibration", "Vibration", "key", (0.0, 10.0),
                                     (0.0, 3.5), Limits(hi=4.5, hi_hi=6.0))
    assert asset.tags[2].role == "detail" and asset.tags[2].range is None
    assert asset.health == Health((0.0, 10.0), 4.0, 6.0, tag="P101.vibration")


def test_assets_are_optional():
    assert "assets" not in pump_project()
    assert assets_from_dict(pump_project()) == ()


def test_the_demo_project_has_its_pump_and_drive_as_assets():
    doc = demo_project()
    assert problems_of(doc) == []
    pump, drive = assets_from_dict(doc)
    tag_ids = {t["id"] for t in doc["tags"]}
    assert {t.tag for t in pump.tags} == {
        "P101.vibration", "P101.bearing_temp", "P101.motor_current", "P101.flow",
        "P101.discharge_pressure", "P101.running"}
    assert {t.tag for t in drive.tags} == {"VFD.speed_sp", "VFD.speed", "VFD.current",
                                           "VFD.drive_temp", "VFD.energy"}
    assert {t.tag for t in (*pump.tags, *drive.tags)} <= tag_ids
    # The health score is the anomaly model's output, with the alarm flow's thresholds.
    assert pump.health is not None
    assert (pump.health.flow, pump.health.output) == ("p101_health", "model:score")
    health_flow = next(f for f in doc["flows"] if f["id"] == "p101_health")
    abnormal = next(n for n in health_flow["nodes"] if n["id"] == "abnormal")
    assert pump.health.alarm == abnormal["params"]["on_above"]


ASSET = "$.assets[0]"

# case: (change to with_assets(), every problem expected: [(path, message)])
INVALID = {
    "unknown tag": (lambda d: d["assets"][0]["tags"][0].update(tag="P101.nope"), [
        (f"{ASSET}.tags[0].tag", "unknown tag 'P101.nope'")]),
    "tag shown twice": (lambda d: d["assets"][0]["tags"].append({"tag": "VFD.speed"}), [
        (f"{ASSET}.tags[3].tag", f"tag 'VFD.speed' is already shown at {ASSET}.tags[2]")]),
    "duplicate asset id": (lambda d: d["assets"].append({"id": "P-101", "name": "x",
                                                         "tags": []}), [
        ("$.assets[1].id", "asset id 'P-101' is already used at $.assets[0]")]),
    "missing name": (lambda d: d["assets"][0].pop("name"), [
        (ASSET, "missing required field 'name'")]),
    "unknown field": (lambda d: d["assets"][0]["tags"][0].update(colour="red"), [
        (f"{ASSET}.tags[0]", "unknown field(s) 'colour'")]),
    "unknown role": (lambda d: d["assets"][0]["tags"][0].update(role="hero"), [
        (f"{ASSET}.tags[0].role", "must be one of key, detail; found 'hero'")]),
    "range of one number": (lambda d: d["assets"][0]["tags"][0].update(range=[10]), [
        (f"{ASSET}.tags[0].range", "must be a list of 2 numbers [low, high], found [10]")]),
    "range upside down": (lambda d: d["assets"][0]["tags"][1].update(range=[100, 0]), [
        (f"{ASSET}.tags[1].range", "the range's minimum 100 must be below its maximum 0")]),
    "normal band upside down": (lambda d: d["assets"][0]["tags"][0].update(normal=[5, 1]), [
        (f"{ASSET}.tags[0].normal", "the normal band's low end 5 is above its high end 1")]),
    "normal band outside the range": (
        lambda d: d["assets"][0]["tags"][0].update(normal=[0, 12]), [
            (f"{ASSET}.tags[0].normal", "the normal band [0, 12] is outside the range [0, 10]")]),
    "limits out of order": (
        lambda d: d["assets"][0]["tags"][0].update(limits={"lo": 2, "hi": 1.5, "hi_hi": 6}), [
            (f"{ASSET}.tags[0].limits.hi",
             "limit hi 1.5 is below lo 2: limits go lo_lo ≤ lo ≤ hi ≤ hi_hi")]),
    "limit outside the range": (
        lambda d: d["assets"][0]["tags"][1]["limits"].update(hi_hi=120), [
            (f"{ASSET}.tags[1].limits.hi_hi", "limit hi_hi 120 is outside the range [0, 100]")]),
    "band on a bool": (lambda d: (
        d["tags"].append({"id": "P101.running", "connection": "plc", "type": "bool",
                          "address": "ns=2;s=P101.Running"}),
        d["assets"][0]["tags"].append({"tag": "P101.running", "range": [0, 1]})), [
            (f"{ASSET}.tags[3].range", "tag 'P101.running' is a bool: only numbers have a "
                                       "range, a normal band and limits")]),
}


@pytest.mark.parametrize("change, expected", INVALID.values(), ids=INVALID.keys())
def test_invalid_assets_report_every_problem_with_its_path(change, expected):
    assert problems_of(with_changes(with_assets(), change)) == expected


def score(**fields):
    """A health score with a range and thresholds, from `fields` (None: left out)."""
    return {k: v for k, v in {"range": [0, 10], "warn": 4, "alarm": 6, **fields}.items()
            if v is not None}


SOURCE = ("give the score's source: either a tag, or a flow and its node output "
          "(\"node:port\")")
HEALTH_INVALID = {
    "no source": (score(), [(f"{ASSET}.health", SOURCE)]),
    "both sources": (score(tag="P101.vibration", flow="vib_rms", output="rms:out"), [
        (f"{ASSET}.health", SOURCE)]),
    "unknown tag": (score(tag="P101.health"), [
        (f"{ASSET}.health.tag", "unknown tag 'P101.health'")]),
    "flow without output": (score(flow="vib_rms"), [
        (f"{ASSET}.health.output", "a score from a flow needs both flow and output; output "
                                   "is missing")]),
    "unknown flow": (score(flow="p101_health", output="model:score"), [
        (f"{ASSET}.health.flow", "unknown flow 'p101_health'")]),
    "unknown node": (score(flow="vib_rms", output="model:score"), [
        (f"{ASSET}.health.output", "flow 'vib_rms' has no node 'model'")]),
    "unknown port": (score(flow="vib_rms", output="rms:score"), [
        (f"{ASSET}.health.output", "node 'rms' (math.window) has no output 'score'")]),
    "a bool output": (score(flow="vib_rms", output="hyst:out"), [
        (f"{ASSET}.health.output", "output 'hyst:out' carries a bool, not a number")]),
    "output not node:port": (score(flow="vib_rms", output="rms"), [
        (f"{ASSET}.health.output", "'rms' must name a node and a port as 'node:port'")]),
    "equal thresholds": (score(tag="P101.vibration", warn=6), [
        (f"{ASSET}.health.alarm", "warn and alarm must differ (warn below alarm when higher "
                                  "is worse, above when lower is)")]),
    "no range": (score(tag="P101.vibration", range=None), [
        (f"{ASSET}.health", "missing required field 'range'")]),
    "threshold outside the range": (score(tag="P101.vibration", alarm=12), [
        (f"{ASSET}.health.alarm", "alarm 12 is outside the range [0, 10]")]),
}


@pytest.mark.parametrize("health, expected", HEALTH_INVALID.values(), ids=HEALTH_INVALID.keys())
def test_invalid_health_scores_report_every_problem_with_its_path(health, expected):
    assert problems_of(with_assets(**health)) == expected


def test_a_flow_output_is_a_valid_health_score():
    assert problems_of(with_assets(flow="vib_rms", output="rms:out", range=[0, 10], warn=4,
                                   alarm=6)) == []


@pytest.mark.parametrize("value, state", [
    (0.0, "normal"), (3.5, "normal"), (3.6, "above"), (4.5, "hi"), (5.9, "hi"),
    (6.0, "hi_hi"), (9.0, "hi_hi")])
def test_where_a_value_stands(value, state):
    hint = AssetTag("P101.vibration", range=(0, 10), normal=(0, 3.5),
                    limits=Limits(hi=4.5, hi_hi=6))
    assert hint.state(value) == state
    low = AssetTag("x", normal=(20, 40), limits=Limits(lo_lo=5, lo=10))
    assert [low.state(v) for v in (30, 15, 10, 5, 0)] == [
        "normal", "below", "lo", "lo_lo", "lo_lo"]


def test_a_health_score_as_a_bar_either_way_round():
    anomaly = Health((0, 10), warn=4, alarm=6, flow="f", output="model:score")
    assert anomaly.higher_is_worse and anomaly.source == "f/model:score"
    bar = anomaly.as_tag("Health")
    assert (bar.label, bar.range, bar.normal) == ("Health", (0, 10), (0, 4))
    assert [bar.state(v) for v in (1, 4.5, 7)] == ["normal", "hi", "hi_hi"]
    index = Health((0, 100), warn=70, alarm=40, tag="P101.health_index", label="Index")
    bar = index.as_tag("Health")
    assert not index.higher_is_worse and bar.label == "Index" and bar.normal == (70, 100)
    assert [bar.state(v) for v in (90, 60, 30)] == ["normal", "lo", "lo_lo"]


def test_asset_changes_show_in_the_diff_by_asset():
    old = with_assets()
    new = with_changes(old, lambda d: d["assets"][0].update(name="P-101 main pump"))
    assert [c.to_dict() for c in diff_projects(old, new)] == [
        {"path": "assets/P-101/name", "kind": "changed", "old": "P-101 pump",
         "new": "P-101 main pump"}]
