"""What a project document and the node registry say about a flow's rules, for the Rules
page: its tunable parameters with units and ranges, what its traces are, the thresholds
drawn on them, events as markers and diffs in words. Pure data and functions (no Qt), so
they are tested and reused without a window."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from runtime.client import ApiError
from runtime.contracts.messages import EventKind


@dataclass(frozen=True)
class Tunable:
    """A tunable parameter of a node: where it is, how it reads, its range and its value as
    deployed. `minimum`/`maximum` span the slider; `limit_min`/`limit_max` are the schema's
    hard limits (None: open)."""

    node: str
    param: str
    label: str
    """The parameter's title ("On above")."""
    where: str
    """The node it belongs to ("Hysteresis · abnormal")."""
    unit: str
    minimum: float
    maximum: float
    step: float
    decimals: int
    integer: bool
    deployed: float
    limit_min: float | None = None
    limit_max: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(node, param)."""
        return (self.node, self.param)


@dataclass(frozen=True)
class FlowEntry:
    """A deployed flow as listed: live flows, and shadows marked as such."""

    id: str
    label: str
    mode: str = "live"
    shadow_of: str = ""
    shadow: str = ""
    """The id of this live flow's running shadow copy ("" when none)."""
    note: str = ""
    """A shadow copy's parameters that differ from its live flow's, in words."""


@dataclass(frozen=True)
class Marker:
    """Something a flow did (live) or would have done (preview): an alarm raised or
    cleared, or a write."""

    ts: float
    kind: str
    text: str


@dataclass(frozen=True)
class TraceInfo:
    """A node output in a preview: its key ("node:port"), a label, unit and whether it is
    an on/off state (drawn apart from numbers)."""

    key: str
    label: str
    unit: str
    state: bool


@dataclass
class Preview:
    """A preview's result: the edited flow's traces over [start, end) and what it would have
    fired, beside what fired live in the same window."""

    flow: str
    start: float
    end: float
    params: dict[str, dict[str, Any]]
    traces: dict[str, dict[str, list[Any]]]
    trace_info: list[TraceInfo]
    would: list[Marker]
    did: list[Marker]
    samples: int = 0
    elapsed_s: float = 0.0
    errors: int = 0
    thresholds: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    """Per trace key, the thresholds applied to it: (label, edited value, deployed value)."""

    @staticmethod
    def count(markers: list[Marker], kind: str) -> int:
        """How many markers of a kind."""
        return sum(m.kind == kind for m in markers)

    @property
    def would_alarms(self) -> int:
        return self.count(self.would, EventKind.ALARM_RAISED)

    @property
    def would_writes(self) -> int:
        return self.count(self.would, EventKind.WRITE)

    @property
    def did_alarms(self) -> int:
        return self.count(self.did, EventKind.ALARM_RAISED)

    @property
    def did_writes(self) -> int:
        return self.count(self.did, EventKind.WRITE)





def flow_entries(document: dict[str, Any]) -> list[FlowEntry]:
    """The document's flows, each live one followed by its shadow copy."""
    flows = document.get("flows", [])
    shadows = {f.get("shadow_of"): f for f in flows if f.get("mode") == "shadow"}
    entries: list[FlowEntry] = []
    for flow in flows:
        if flow.get("mode") == "shadow":
            continue
        shadow = shadows.get(flow["id"])
        entries.append(FlowEntry(flow["id"], flow.get("label") or flow["id"],
                                 shadow=shadow["id"] if shadow else ""))
        if shadow is not None:
            entries.append(FlowEntry(shadow["id"], shadow.get("label") or shadow["id"],
                                     "shadow", flow["id"], note=_differences(flow, shadow)))
    return entries


def _differences(live: dict[str, Any], shadow: dict[str, Any]) -> str:
    """"high.on_above 60, high.off_below 55": the shadow's parameters unlike the live's."""
    before = {n["id"]: n.get("params", {}) for n in live.get("nodes", [])}
    out = []
    for node in shadow.get("nodes", []):
        for name, value in node.get("params", {}).items():
            if before.get(node["id"], {}).get(name) != value:
                out.append(f"{node['id']}.{name} {_brief(value)}")
    return ", ".join(out)


def find_flow(document: dict[str, Any], flow: str) -> dict[str, Any] | None:
    """A flow of the document by id."""
    return next((f for f in document.get("flows", []) if f.get("id") == flow), None)


def tunables_of(document: dict[str, Any], flow_id: str, specs: dict[str, dict[str, Any]],
                tags: list[dict[str, Any]]) -> list[Tunable]:
    """The numeric tunable parameters of a flow's nodes, in node order, with ranges."""
    flow = find_flow(document, flow_id)
    if flow is None:
        return []
    tag_defs = {t["id"]: t for t in tags}
    out = []
    for node in flow.get("nodes", []):
        spec = specs.get(node.get("type", ""))
        if spec is None:
            continue
        for param in spec["params"]:
            if not param["tunable"] or param["type"] not in ("number", "integer"):
                continue
            value = node.get("params", {}).get(param["name"], param["default"])
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            unit = param["unit"] or _unit_of(flow, node, tag_defs)
            out.append(_tunable(node, spec, param, float(value), unit, tag_defs))
    return out


def _tunable(node: dict[str, Any], spec: dict[str, Any], param: dict[str, Any], value: float,
             unit: str, tag_defs: dict[str, dict[str, Any]]) -> Tunable:
    integer = param["type"] == "integer"
    low, high = param["min"], param["max"]
    envelope = tag_defs.get(node.get("params", {}).get("tag", ""), {}).get("envelope") or {}
    if spec["role"] == "action" and envelope:
        low = envelope.get("min", low)
        high = envelope.get("max", high)
    span = max(abs(value), 1.0)
    lo = low if low is not None else (0.0 if value >= 0 else value - span)
    hi = value + span if high is None else high
    if high is not None and hi - max(lo, 0.0) > 20 * span and value >= 0:
        hi = _nice_ceiling(max(4 * abs(value), 10.0))  # a slider over a day is no use at 3 s
    lo, hi = min(lo, value), max(hi, value)
    step = 1.0 if integer else 10.0 ** (math.floor(math.log10(max(hi - lo, 1e-9))) - 2)
    decimals = 0 if integer else max(0, -math.floor(math.log10(step)))
    title = spec["title"] if spec["title"] else spec["type"]
    return Tunable(node["id"], param["name"], str(param["title"] or param["name"]),
                   f"{title} · {node['id']}", unit, float(lo), float(hi), step,
                   decimals, integer, value, low, high)


def _nice_ceiling(x: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(x))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= x)


def _upstream(flow: dict[str, Any], node_id: str) -> str | None:
    """The node wired into `node_id`'s first input."""
    for wire in flow.get("wires", []):
        if str(wire.get("to", "")).split(":")[0] == node_id:
            return str(wire["from"]).split(":")[0]
    return None


def _unit_of(flow: dict[str, Any], node: dict[str, Any],
             tag_defs: dict[str, dict[str, Any]]) -> str:
    """The unit a node's parameter is in: its own tag's, else the tag upstream's."""
    own = node.get("params", {}).get("tag")
    if own in tag_defs:
        return str(tag_defs[own].get("unit") or "")
    seen = set()
    current: str | None = node["id"]
    while current is not None and current not in seen:
        seen.add(current)
        current = _upstream(flow, current)
        upstream = next((n for n in flow.get("nodes", []) if n["id"] == current), None)
        if upstream is None:
            return ""
        if upstream.get("type") == "source.tag":
            return str(tag_defs.get(upstream["params"].get("tag"), {}).get("unit") or "")
        if not upstream.get("type", "").startswith("math."):
            return ""  # a model's score or a logic state has no unit of its own
    return ""


def trace_info(document: dict[str, Any], flow_id: str, specs: dict[str, dict[str, Any]],
               tags: list[dict[str, Any]], traces: dict[str, Any]) -> list[TraceInfo]:
    """What each traced output is: label, unit, and whether it is an on/off state (a bool
    tag read by the flow). Intermediate on/off outputs are left out: the fired and would-fire
    markers show what they led to."""
    flow = find_flow(document, flow_id) or {}
    nodes = {n["id"]: n for n in flow.get("nodes", [])}
    tag_defs = {t["id"]: t for t in tags}
    out = []
    for key in traces:
        node_id, _, port = key.partition(":")
        node = nodes.get(node_id, {})
        spec = specs.get(node.get("type", ""), {})
        kind = next((p["kind"] for p in spec.get("outputs", []) if p["name"] == port), "number")
        tag = node.get("params", {}).get("tag") if node.get("type") == "source.tag" else None
        if tag:
            state = tag_defs.get(tag, {}).get("type") == "bool"
            label = str(tag)
        elif kind == "bool":
            continue  # an intermediate on/off state: the markers show what it led to
        else:
            state = False
            title = spec.get("title") or node.get("type", "")
            named = title if port in ("out", "") else f"{title} {port}"
            label = f"{named} ({node_id})"
        unit = _unit_of(flow, node, tag_defs) if not state and node else ""
        out.append(TraceInfo(key, label, unit, state))
    return out


def thresholds_of(document: dict[str, Any], flow_id: str, tunables: list[Tunable],
                  params: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, float, float]]]:
    """Per trace key ("node:port"), the tunable limits compared against it: a hysteresis' or
    compare's levels drawn on the signal wired into it."""
    flow = find_flow(document, flow_id) or {}
    wired = {str(w["to"]).split(":")[0]: str(w["from"]) for w in flow.get("wires", [])}
    out: dict[str, list[tuple[str, float, float]]] = {}
    for tunable in tunables:
        node: dict[str, Any] = next(
            (n for n in flow.get("nodes", []) if n["id"] == tunable.node), {})
        if node.get("type") not in ("logic.hysteresis", "logic.compare"):
            continue
        source = wired.get(tunable.node)
        if source is None:
            continue
        edited = float(params.get(tunable.node, {}).get(tunable.param, tunable.deployed))
        out.setdefault(source, []).append((tunable.label, edited,
                                           tunable.deployed))
    return out


def marker(event: dict[str, Any]) -> Marker:
    """A fired (or would-fire) event as a plot marker with its text."""
    data = event.get("data", {})
    kind = event["kind"]
    if kind == EventKind.WRITE:
        text = f"{data.get('tag', '')} ← {data.get('value')}"
    else:
        text = str(data.get("alarm") or data.get("message") or event.get("node", ""))
    return Marker(float(event["ts"]), kind, text)


def problem_text(error: ApiError) -> str:
    """An API error in words, with its first problem's message when it has one."""
    if error.details:
        return "; ".join(d.message for d in error.details[:3])
    return error.message


def describe_change(change: dict[str, Any], document: dict[str, Any],
                    specs: dict[str, dict[str, Any]]) -> str:
    """One project.diff change in words, e.g. "~ Bearing temperature high > hyst > On
    above: 70 → 60" (with angle quotes for the separators)."""
    parts = str(change["path"]).split("/")
    words = []
    flow: dict[str, Any] | None = None
    node: dict[str, Any] | None = None
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "flows" and i + 1 < len(parts):
            flow = find_flow(document, parts[i + 1])
            words.append(str((flow or {}).get("label") or f"flow {parts[i + 1]}"))
            i += 2
            continue
        if part in ("tags", "connections") and i + 1 < len(parts):
            words.append(f"{part[:-1]} {parts[i + 1]}")
            i += 2
            continue
        if part == "nodes" and i + 1 < len(parts):
            node = next((n for n in (flow or {}).get("nodes", []) if n["id"] == parts[i + 1]),
                        None)
            words.append(parts[i + 1])
            i += 2
            continue
        if part == "params" and i + 1 < len(parts):
            spec = specs.get((node or {}).get("type", ""), {})
            param: dict[str, Any] = next(
                (p for p in spec.get("params", []) if p["name"] == parts[i + 1]), {})
            words.append(str(param.get("title") or parts[i + 1]))
            i += 2
            continue
        words.append(part)
        i += 1
    where = " ▸ ".join(words)
    kind = change["kind"]
    if kind == "added":
        return f"+ {where}: {_brief(change['new'])}"
    if kind == "removed":
        return f"− {where}: {_brief(change['old'])}"  # noqa: RUF001
    return f"~ {where}: {_brief(change['old'])} → {_brief(change['new'])}"


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        if value.get("mode") == "shadow":
            return f"shadow copy of {value.get('shadow_of')}"
        return str(value.get("label") or value.get("id") or "{…}")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
