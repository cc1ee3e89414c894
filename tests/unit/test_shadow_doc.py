"""Shadow copies as document edits: start, promote and stop, and the checks on `shadow_of`."""

from __future__ import annotations

import copy

import pytest

from runtime.contracts import ValidationFailed
from runtime.contracts.validation import validate_project
from runtime.engine import shadow
from runtime.registry import NodeRegistry
from tests.projects import pump_project

SPECS = NodeRegistry.with_builtins().catalogue()


def problems(doc):
    return [(p.path, p.message) for p in validate_project(doc, SPECS)]


def test_a_shadow_is_a_valid_changed_copy_beside_its_flow_and_promotion_moves_its_changes():
    doc = pump_project()
    started, shadow_id = shadow.with_shadow(doc, "temp_high", {"hyst": {"on_above": 68}})
    assert shadow_id == "temp_high.shadow" and problems(started) == []
    copy_ = started["flows"][1]
    assert (copy_["id"], copy_["mode"], copy_["shadow_of"]) == (shadow_id, "shadow", "temp_high")
    assert copy_["nodes"][1]["params"] == {"on_above": 68, "off_below": 65}
    assert doc == pump_project()  # the original is left alone
    with pytest.raises(ValidationFailed, match="already has shadow"):
        shadow.with_shadow(started, "temp_high", {})
    with pytest.raises(ValidationFailed, match="not a live flow"):
        shadow.with_shadow(started, shadow_id, {})

    promoted, changes = shadow.promoted(started, "temp_high")
    assert changes == {"hyst": {"on_above": 68}}
    expected = copy.deepcopy(doc)
    expected["flows"][0]["nodes"][1]["params"]["on_above"] = 68
    assert promoted == expected
    assert shadow.without_shadow(started, "temp_high") == doc
    with pytest.raises(ValidationFailed, match="has no shadow"):
        shadow.without_shadow(doc, "temp_high")
    with pytest.raises(ValidationFailed, match="no flow 'nope'"):
        shadow.promoted(doc, "nope")


def test_shadow_of_is_for_shadow_flows_and_names_a_live_flow():
    doc = pump_project()
    doc["flows"][0]["shadow_of"] = "vib_rms"
    stray = copy.deepcopy(doc["flows"][1])
    stray.update(id="stray", mode="shadow", shadow_of="gone")
    doc["flows"].append(stray)
    assert problems(doc) == [
        ("$.flows[0].shadow_of", 'only a flow whose mode is "shadow" can be the shadow of '
                                 "another"),
        ("$.flows[2].shadow_of", "no live flow 'gone' in the project to be the shadow of")]
