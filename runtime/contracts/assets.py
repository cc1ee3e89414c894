"""The project document's `assets`: display hints for the HMI's overview, as plain data.

An asset (a pump, a drive) lists its key tags with how to show them: a label, a range for
the bar, the normal band and the alarm limits; units come from the tag definitions. Its
health score is a tag or a flow's node output. The runtime does not act on assets; the
overview is built from them, so a plant gets its own overview without code. `asset_problems`
checks their meaning (the structure is the JSON Schema's), `assets_from_dict` parses them,
and `AssetTag.state` / `Health.state` say where a value stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from runtime.contracts.errors import Problem
from runtime.contracts.nodespec import NodeSpec

ROLES = ("key", "detail")
"""How prominently a tag is shown: "key" as a bar (or an on/off lamp), "detail" as a value."""
LIMIT_ORDER = ("lo_lo", "lo", "hi", "hi_hi")
NUMERIC_TYPES = ("int16", "uint16", "int32", "uint32", "float32", "float64")

NORMAL, ABOVE, BELOW = "normal", "above", "below"
"""Where a value stands: inside the normal band, or outside it but within the limits."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Alarm limits of a value (any of them may be left out); lo_lo ≤ lo ≤ hi ≤ hi_hi."""

    lo_lo: float | None = None
    lo: float | None = None
    hi: float | None = None
    hi_hi: float | None = None

    def given(self) -> list[tuple[str, float]]:
        """(name, value) of the limits set, lowest first."""
        return [(name, value) for name in LIMIT_ORDER
                if (value := getattr(self, name)) is not None]


@dataclass(frozen=True, slots=True)
class AssetTag:
    """A tag as the overview shows it."""

    tag: str
    label: str = ""
    role: str = "key"
    range: tuple[float, float] | None = None
    normal: tuple[float, float] | None = None
    limits: Limits = field(default_factory=Limits)

    def state(self, value: float) -> str:
        """"hi_hi", "hi", "lo", "lo_lo" past a limit (the worst one), else "above" or
        "below" the normal band, else "normal"."""
        limits = self.limits
        if limits.hi_hi is not None and value >= limits.hi_hi:
            return "hi_hi"
        if limits.lo_lo is not None and value <= limits.lo_lo:
            return "lo_lo"
        if limits.hi is not None and value >= limits.hi:
            return "hi"
        if limits.lo is not None and value <= limits.lo:
            return "lo"
        if self.normal is not None and value > self.normal[1]:
            return ABOVE
        if self.normal is not None and value < self.normal[0]:
            return BELOW
        return NORMAL


@dataclass(frozen=True, slots=True)
class Health:
    """An asset's health score: a tag, or a flow's node output ("node:port"), with its
    thresholds. A warn below alarm means higher is worse (an anomaly score); above, lower
    is worse (a health index)."""

    range: tuple[float, float]
    warn: float
    alarm: float
    tag: str = ""
    flow: str = ""
    output: str = ""
    label: str = ""

    @property
    def higher_is_worse(self) -> bool:
        """True when the score rises as the asset gets worse."""
        return self.alarm > self.warn

    def as_tag(self, label: str) -> AssetTag:
        """The score as a bar's hints: the thresholds as limits, the normal band up to warn."""
        low, high = self.range
        if self.higher_is_worse:
            return AssetTag(self.tag, self.label or label, range=(low, high),
                            normal=(low, self.warn), limits=Limits(hi=self.warn, hi_hi=self.alarm))
        return AssetTag(self.tag, self.label or label, range=(low, high),
                        normal=(self.warn, high), limits=Limits(lo=self.warn, lo_lo=self.alarm))

    @property
    def source(self) -> str:
        """Where the score comes from: the tag id, or "flow/node:port"."""
        return self.tag or f"{self.flow}/{self.output}"


@dataclass(frozen=True, slots=True)
class Asset:
    """A piece of equipment on the overview: its name, key tags and health."""

    id: str
    name: str
    description: str = ""
    tags: tuple[AssetTag, ...] = ()
    health: Health | None = None


def assets_from_dict(doc: Mapping[str, Any]) -> tuple[Asset, ...]:
    """The assets of a document that passed validation (none when it has no `assets`)."""
    return tuple(_asset(a) for a in doc.get("assets", []))


def _pair(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value is not None else None


def _asset(a: Mapping[str, Any]) -> Asset:
    health = a.get("health")
    return Asset(
        id=a["id"], name=a["name"], description=a.get("description", ""),
        tags=tuple(AssetTag(
            tag=t["tag"], label=t.get("label", ""), role=t.get("role", "key"),
            range=_pair(t.get("range")), normal=_pair(t.get("normal")),
            limits=Limits(**{k: float(v) for k, v in (t.get("limits") or {}).items()}),
        ) for t in a.get("tags", [])),
        health=Health(
            range=(float(health["range"][0]), float(health["range"][1])),
            warn=float(health["warn"]), alarm=float(health["alarm"]),
            tag=health.get("tag", ""), flow=health.get("flow", ""),
            output=health.get("output", ""), label=health.get("label", ""),
        ) if health else None,
    )


# -- validation -------------------------------------------------------------------------


def asset_problems(doc: Mapping[str, Any], specs: Mapping[str, NodeSpec]) -> list[Problem]:
    """Every problem of meaning in a structurally valid document's assets: ids unique, tags
    that exist, ranges, bands and limits in order and inside the range, a health score from
    an existing tag or flow output."""
    assets = doc.get("assets", [])
    tags = {t["id"]: t for t in doc["tags"]}
    flows = {f["id"]: f for f in doc["flows"]}
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, asset in enumerate(assets):
        path = f"$.assets[{index}]"
        if asset["id"] in seen:
            problems.append(Problem(f"{path}.id", f"asset id '{asset['id']}' is already used "
                                                  f"at $.assets[{seen[asset['id']]}]"))
        seen.setdefault(asset["id"], index)
        shown: dict[str, int] = {}
        for t_index, hint in enumerate(asset["tags"]):
            t_path = f"{path}.tags[{t_index}]"
            if hint["tag"] in shown:
                problems.append(Problem(f"{t_path}.tag", f"tag '{hint['tag']}' is already shown "
                                                         f"at {path}.tags[{shown[hint['tag']]}]"))
            shown.setdefault(hint["tag"], t_index)
            problems += _hint_problems(hint, t_path, tags)
        if "health" in asset:
            problems += _health_problems(asset["health"], f"{path}.health", tags, flows, specs)
    return problems


def _hint_problems(hint: Mapping[str, Any], path: str,
                   tags: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    tag = tags.get(hint["tag"])
    if tag is None:
        return [Problem(f"{path}.tag", f"unknown tag '{hint['tag']}'")]
    if tag.get("type", "float32") not in NUMERIC_TYPES:
        return [Problem(f"{path}.{key}", f"tag '{hint['tag']}' is a {tag.get('type')}: only "
                                         "numbers have a range, a normal band and limits")
                for key in ("range", "normal", "limits") if key in hint]
    problems = []
    value_range = hint.get("range")
    if value_range is not None and not value_range[0] < value_range[1]:
        problems.append(Problem(f"{path}.range", f"the range's minimum {value_range[0]:g} must "
                                                 f"be below its maximum {value_range[1]:g}"))
        value_range = None
    normal = hint.get("normal")
    if normal is not None:
        if normal[0] > normal[1]:
            problems.append(Problem(f"{path}.normal", f"the normal band's low end "
                                                      f"{normal[0]:g} is above its high end "
                                                      f"{normal[1]:g}"))
        problems += _within(normal, value_range, f"{path}.normal", "the normal band")
    limits = [(name, float(hint.get("limits", {})[name])) for name in LIMIT_ORDER
              if name in hint.get("limits", {})]
    for (low_name, low), (high_name, high) in pairwise(limits):
        if low > high:
            problems.append(Problem(f"{path}.limits.{high_name}",
                                    f"limit {high_name} {high:g} is below {low_name} {low:g}: "
                                    "limits go lo_lo ≤ lo ≤ hi ≤ hi_hi"))
    for name, value in limits:
        problems += _within([value, value], value_range, f"{path}.limits.{name}",
                            f"limit {name}")
    return problems


def _within(band: Any, value_range: Any, path: str, what: str) -> list[Problem]:
    if value_range is None or (value_range[0] <= band[0] and band[1] <= value_range[1]):
        return []
    shown = f"{band[0]:g}" if band[0] == band[1] else f"[{band[0]:g}, {band[1]:g}]"
    return [Problem(path, f"{what} {shown} is outside the range "
                          f"[{value_range[0]:g}, {value_range[1]:g}]")]


def _health_problems(health: Mapping[str, Any], path: str,
                     tags: Mapping[str, Mapping[str, Any]],
                     flows: Mapping[str, Mapping[str, Any]],
                     specs: Mapping[str, NodeSpec]) -> list[Problem]:
    problems = []
    from_tag, from_flow = "tag" in health, "flow" in health or "output" in health
    if from_tag == from_flow:
        problems.append(Problem(path, "give the score's source: either a tag, or a flow and "
                                      "its node output (\"node:port\")"))
    elif from_tag and health["tag"] not in tags:
        problems.append(Problem(f"{path}.tag", f"unknown tag '{health['tag']}'"))
    elif from_tag and tags[health["tag"]].get("type", "float32") not in NUMERIC_TYPES:
        problems.append(Problem(f"{path}.tag", f"tag '{health['tag']}' is not a number"))
    elif from_flow:
        problems += _output_problems(health, path, flows, specs)
    if health["warn"] == health["alarm"]:
        problems.append(Problem(f"{path}.alarm", "warn and alarm must differ (warn below alarm "
                                                 "when higher is worse, above when lower is)"))
    value_range = health["range"]
    if not value_range[0] < value_range[1]:
        problems.append(Problem(f"{path}.range", f"the range's minimum {value_range[0]:g} must "
                                                 f"be below its maximum {value_range[1]:g}"))
    else:
        for key in ("warn", "alarm"):
            problems += _within([health[key], health[key]], value_range, f"{path}.{key}", key)
    return problems


def _output_problems(health: Mapping[str, Any], path: str,
                     flows: Mapping[str, Mapping[str, Any]],
                     specs: Mapping[str, NodeSpec]) -> list[Problem]:
    if "flow" not in health or "output" not in health:
        missing = "output" if "flow" in health else "flow"
        return [Problem(f"{path}.{missing}", f"a score from a flow needs both flow and output; "
                                             f"{missing} is missing")]
    flow = flows.get(health["flow"])
    if flow is None:
        return [Problem(f"{path}.flow", f"unknown flow '{health['flow']}'")]
    node_id, _, port = health["output"].partition(":")
    node = next((n for n in flow["nodes"] if n["id"] == node_id), None)
    if node is None:
        return [Problem(f"{path}.output", f"flow '{flow['id']}' has no node '{node_id}'")]
    spec = specs.get(node["type"])
    if spec is None:
        return []  # the node's unknown type is reported at the node
    output = spec.output(port)
    if output is None:
        return [Problem(f"{path}.output", f"node '{node_id}' ({spec.type}) has no output "
                                          f"'{port}'")]
    if output.kind not in ("number", "any"):
        return [Problem(f"{path}.output", f"output '{health['output']}' carries a "
                                          f"{output.kind}, not a number")]
    return []
