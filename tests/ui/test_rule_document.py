"""What the Rules page reads from a project document and the node specs (no Qt, no runtime):
tunables with units and ranges, shadows listed as such, thresholds on the signal they act
on, and diffs in words."""

from __future__ import annotations

import copy

from runtime.contracts.catalog import BUILTIN_SPECS
from runtime.demo import demo_project
from tests.projects import pump_project
from ui.rule_document import (
    describe_change,
    flow_entries,
    thresholds_of,
    trace_info,
    tunables_of,
)

SPECS = {spec.type: spec.to_dict() for spec in BUILTIN_SPECS}
TAGS = pump_project()["tags"]


def test_tunables_take_units_from_the_tag_upstream_and_ranges_around_the_value():
    doc = pump_project()
    tunables = {t.key: t for t in tunables_of(doc, "vib_rms", SPECS, TAGS)}
    assert set(tunables) == {("rms", "samples"), ("rms", "seconds"), ("hyst", "on_above"),
                             ("hyst", "off_below")}
    on_above = tunables[("hyst", "on_above")]
    # a hysteresis has no unit or range of its own: the vibration's unit, 0 to twice 6
    assert (on_above.unit, on_above.minimum, on_above.maximum) == ("mm/s", 0.0, 12.0)
    assert on_above.label == "On above" and on_above.where == "Hysteresis · hyst"
    assert on_above.step == 0.1 and on_above.decimals == 1 and not on_above.integer
    samples = tunables[("rms", "samples")]
    # an integer with a schema range of 1..100,000: a slider near the value, hard limits kept
    assert samples.integer and samples.step == 1.0 and samples.deployed == 20
    assert (samples.minimum, samples.maximum) == (1.0, 100.0)
    assert (samples.limit_min, samples.limit_max) == (1, 100_000)
    assert tunables[("rms", "seconds")].unit == "s"


def test_a_write_value_ranges_over_its_tags_envelope():
    doc = demo_project()
    demo_tags = doc["tags"]
    ease = next(t for t in tunables_of(doc, "p101_health", SPECS, demo_tags)
                if t.key == ("ease", "on_true"))
    envelope = next(t for t in demo_tags if t["id"] == "VFD.speed_sp")["envelope"]
    assert (ease.minimum, ease.maximum) == (envelope["min"], envelope["max"])
    assert ease.unit == "Hz"


def test_a_shadow_is_listed_after_its_live_flow_with_what_it_changes():
    doc = pump_project()
    shadow = copy.deepcopy(doc["flows"][0])
    shadow.update(id="temp_high.shadow", mode="shadow", shadow_of="temp_high",
                  label="Bearing temperature high (shadow)")
    shadow["nodes"][1]["params"] = {"on_above": 60, "off_below": 55}
    doc["flows"].insert(1, shadow)
    entries = flow_entries(doc)
    assert [(e.id, e.mode, e.shadow) for e in entries] == [
        ("temp_high", "live", "temp_high.shadow"), ("temp_high.shadow", "shadow", ""),
        ("vib_rms", "live", "")]
    assert entries[1].note == "hyst.on_above 60, hyst.off_below 55"


def test_thresholds_are_drawn_on_the_signal_wired_into_them():
    doc = pump_project()
    tunables = tunables_of(doc, "vib_rms", SPECS, TAGS)
    levels = thresholds_of(doc, "vib_rms", tunables, {"hyst": {"on_above": 7.5}})
    assert levels == {"rms:out": [("On above", 7.5, 6.0), ("Off below", 5.0, 5.0)]}
    traces = {"src:out": {}, "rms:out": {}, "hyst:out": {}, "alarm:active": {}}
    info = trace_info(doc, "vib_rms", SPECS, TAGS, traces)
    # on/off outputs inside the flow are left to the markers
    assert [(i.key, i.label, i.unit, i.state) for i in info] == [
        ("src:out", "P101.vibration", "mm/s", False),
        ("rms:out", "Rolling statistic (rms)", "mm/s", False)]


def test_a_diff_reads_as_words():
    doc = pump_project()
    change = {"path": "flows/temp_high/nodes/hyst/params/on_above", "kind": "changed",
              "old": 70, "new": 60.5}
    assert describe_change(change, doc, SPECS) == (
        "~ Bearing temperature high ▸ hyst ▸ On above: 70 → 60.5")
    added = {"path": "flows/temp_high.shadow", "kind": "added", "old": None,
             "new": {"id": "temp_high.shadow", "mode": "shadow", "shadow_of": "temp_high"}}
    assert describe_change(added, doc, SPECS) == (
        "+ flow temp_high.shadow: shadow copy of temp_high")
    tag = {"path": "tags/P101.flow/unit", "kind": "changed", "old": "m3/h", "new": "l/min"}
    assert describe_change(tag, doc, SPECS) == "~ tag P101.flow ▸ unit: m3/h → l/min"
