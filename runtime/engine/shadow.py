"""Shadow copies of flows, as edits of the project document.

A shadow is a copy of a live flow with changed parameters, in the same document, whose
mode is "shadow" and whose `shadow_of` names the live flow: it runs beside it on the same
data with its alarms and writes recorded, not executed. Starting, promoting and stopping a
shadow are each a new version of the document; these functions make it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from runtime.contracts import Problem, ValidationFailed
from runtime.engine.replay import changed_flow

SUFFIX = ".shadow"
_MAX_ID = 64


def shadow_id(flow_id: str) -> str:
    """The id of a live flow's shadow copy."""
    return flow_id[:_MAX_ID - len(SUFFIX)] + SUFFIX


def find_shadow(doc: dict[str, Any], flow_id: str) -> dict[str, Any] | None:
    """The shadow of live flow `flow_id` in a document, if it has one."""
    return next((f for f in doc["flows"] if f.get("shadow_of") == flow_id), None)


def with_shadow(doc: dict[str, Any], flow_id: str,
                overrides: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], str]:
    """The document with a shadow copy of live flow `flow_id`, its parameters changed by
    `overrides` (node id to parameters); and the copy's id. ValidationFailed when the flow
    is unknown, not live, already shadowed, or the changes name nodes it lacks."""
    index, flow = _live_flow(doc, flow_id)
    existing = find_shadow(doc, flow_id)
    if existing is not None:
        raise ValidationFailed([Problem(f"$.flows[{index}]", f"flow '{flow_id}' already has "
                                        f"shadow '{existing['id']}'; stop or promote it first")])
    shadow = changed_flow(flow, overrides, f"$.flows[{index}]")
    shadow.update(id=shadow_id(flow_id), mode="shadow", shadow_of=flow_id, enabled=True,
                  label=f"{flow.get('label') or flow_id} (shadow)")
    edited = copy.deepcopy(doc)
    edited["flows"].insert(index + 1, shadow)
    return edited, shadow["id"]


def promoted(doc: dict[str, Any], flow_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document with the shadow's parameters in live flow `flow_id` and the shadow
    gone; and what changed ({node id: {param: new value}})."""
    shadow = _shadow_of(doc, flow_id)
    edited = without_shadow(doc, flow_id)
    index, flow = _live_flow(edited, flow_id)
    shadow_params = {n["id"]: n.get("params", {}) for n in shadow["nodes"]}
    changes = {}
    for node in flow["nodes"]:
        params = shadow_params.get(node["id"], node.get("params", {}))
        changed = {k: v for k, v in params.items() if node.get("params", {}).get(k) != v}
        if changed:
            changes[node["id"]] = changed
    edited["flows"][index] = changed_flow(flow, changes, f"$.flows[{index}]")
    return edited, changes


def without_shadow(doc: dict[str, Any], flow_id: str) -> dict[str, Any]:
    """The document without live flow `flow_id`'s shadow (ValidationFailed if it has none)."""
    shadow = _shadow_of(doc, flow_id)
    edited = copy.deepcopy(doc)
    edited["flows"] = [f for f in edited["flows"] if f.get("id") != shadow["id"]]
    return edited


def _live_flow(doc: dict[str, Any], flow_id: str) -> tuple[int, dict[str, Any]]:
    for index, flow in enumerate(doc["flows"]):
        if flow.get("id") == flow_id:
            if flow.get("mode", "live") != "live":
                raise ValidationFailed([Problem(f"$.flows[{index}].mode",
                                                f"flow '{flow_id}' is not a live flow")])
            return index, flow
    known = ", ".join(f.get("id", "?") for f in doc["flows"]) or "none"
    raise ValidationFailed([Problem("$.flows", f"no flow '{flow_id}' in the project; its "
                                               f"flows: {known}")])


def _shadow_of(doc: dict[str, Any], flow_id: str) -> dict[str, Any]:
    _live_flow(doc, flow_id)
    shadow = find_shadow(doc, flow_id)
    if shadow is None:
        raise ValidationFailed([Problem("$.flows", f"flow '{flow_id}' has no shadow")])
    return shadow
