"""Node type specs: pure metadata the registry, the validator and the HMI share.

A spec names its implementation as a dotted string, so specs load without the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PORT_KINDS = ("number", "bool", "vector", "event", "any")
PARAM_TYPES = ("number", "integer", "bool", "string", "enum", "tag", "writable_tag", "expression",
               "model", "features")
NODE_ROLES = ("source", "transform", "model", "alarm", "action")
"""What a node does for the engine and for replays: a `source` brings tags' samples into a
flow, a `model` scores on a time grid, an `alarm` raises and clears alarms, an `action` acts
on the plant or the line (writes, line mode) and reads back what it acts on; everything else
is a `transform`."""


@dataclass(frozen=True, slots=True)
class PortSpec:
    """An input or output port and the kind of value it carries."""

    name: str
    kind: str = "number"
    title: str = ""

    def accepts(self, other_kind: str) -> bool:
        """Whether a value of `other_kind` may be wired into this port."""
        if self.kind == "any" or other_kind == "any" or self.kind == other_kind:
            return True
        return self.kind == "number" and other_kind == "bool"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A node parameter: its type, default, range and unit; tunable ones get a slider."""

    name: str
    type: str = "number"
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    unit: str = ""
    tunable: bool = False
    choices: tuple[str, ...] = ()
    title: str = ""
    description: str = ""

    def check(self, value: Any) -> str | None:
        """None when `value` is acceptable, else a message saying what is wrong."""
        if self.type in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"must be a number, found {value!r}"
            if self.type == "integer" and not float(value).is_integer():
                return f"must be a whole number, found {value!r}"
            if self.min is not None and value < self.min:
                return f"must be at least {self.min:g}{_unit(self.unit)}, found {value!r}"
            if self.max is not None and value > self.max:
                return f"must be at most {self.max:g}{_unit(self.unit)}, found {value!r}"
            return None
        if self.type == "bool":
            return None if isinstance(value, bool) else f"must be true or false, found {value!r}"
        if self.type == "features":
            if not isinstance(value, list) or not value:
                return "must be a non-empty list of features {name, tag, stat, window_s}"
            return None
        if self.type == "enum":
            if value not in self.choices:
                return f"must be one of {', '.join(self.choices)}; found {value!r}"
            return None
        if not isinstance(value, str) or (self.required and not value):
            return f"must be a non-empty text, found {value!r}"
        return None


@dataclass(frozen=True, slots=True)
class ParamRule:
    """A rule between two parameters, e.g. a hysteresis' off level below its on level."""

    left: str
    op: str
    right: str
    message: str

    def holds(self, params: dict[str, Any]) -> bool:
        """Whether the rule holds for resolved parameters (True when either is missing)."""
        a, b = params.get(self.left), params.get(self.right)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return True
        return a < b if self.op == "<" else a <= b


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node type: identity, role, ports, parameters and where its implementation lives.

    `category` groups types in the editor's palette (free text); `role` is what the engine
    and replays rely on (one of NODE_ROLES).
    """

    type: str
    title: str
    category: str
    implementation: str
    role: str = "transform"
    version: int = 1
    icon: str = ""
    description: str = ""
    inputs: tuple[PortSpec, ...] = ()
    outputs: tuple[PortSpec, ...] = ()
    params: tuple[ParamSpec, ...] = ()
    rules: tuple[ParamRule, ...] = ()
    legacy_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in NODE_ROLES:
            raise ValueError(f"node type '{self.type}': role '{self.role}' is not one of "
                             f"{', '.join(NODE_ROLES)}")

    def input(self, name: str) -> PortSpec | None:
        """The input port with this name, if any."""
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        """The output port with this name, if any."""
        return next((p for p in self.outputs if p.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        """The parameter with this name, if any."""
        return next((p for p in self.params if p.name == name), None)

    def resolve_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Parameters with defaults filled in for the ones not given."""
        return {p.name: given.get(p.name, p.default) for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for the HMI's palette and property forms."""
        return {
            "type": self.type,
            "version": self.version,
            "title": self.title,
            "category": self.category,
            "role": self.role,
            "icon": self.icon,
            "description": self.description,
            "inputs": [{"name": p.name, "kind": p.kind, "title": p.title} for p in self.inputs],
            "outputs": [{"name": p.name, "kind": p.kind, "title": p.title} for p in self.outputs],
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "default": p.default,
                    "required": p.required,
                    "min": p.min,
                    "max": p.max,
                    "unit": p.unit,
                    "tunable": p.tunable,
                    "choices": list(p.choices),
                    "title": p.title,
                    "description": p.description,
                }
                for p in self.params
            ],
            "legacy_ids": list(self.legacy_ids),
        }


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""
