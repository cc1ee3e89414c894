"""docs/project-format.md, generated: the project document's fields from its JSON Schema
(runtime.contracts.project_schema) with their defaults from the parsed dataclasses
(runtime.contracts.project), and every built-in node type from the node registry.

The prose lives here, next to what it explains; rendering fails when a schema field, a
parameter type or a port kind has no prose, or when prose names a field the schema lacks, so
the document cannot silently drift from the code. `make docs` writes the file; a test fails
when the committed one is stale.

    python -m runtime.format_doc > docs/project-format.md
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from runtime.contracts import LinesideError, NodeSpec, ParamSpec
from runtime.contracts.assets import Asset, AssetTag, Health, Limits
from runtime.contracts.expression import FUNCTIONS, MAX_LENGTH
from runtime.contracts.modbus_address import AREAS as MODBUS_AREAS
from runtime.contracts.models import FEATURE_STATS
from runtime.contracts.nodespec import PARAM_TYPES, PORT_KINDS
from runtime.contracts.project import (
    SCHEMA_ID,
    Envelope,
    Flow,
    ModbusConnection,
    Node,
    OpcUaConnection,
    Project,
    Scaling,
    Security,
    Tag,
)
from runtime.contracts.project_schema import PROJECT_SCHEMA
from runtime.registry import NodeRegistry

MISSING_DEFAULT = "—"


class StaleProse(LinesideError):
    """The generator's prose no longer matches the schema or the node catalogue."""


@dataclass(frozen=True)
class Section:
    """One object of the document: where its schema is, its parsed dataclass, its prose."""

    title: str
    schema_path: tuple[str, ...]
    dataclass: type | None
    intro: str
    fields: dict[str, str]


SECTIONS = (
    Section(
        "The document", (), Project,
        f"The top level of the file. `schema` names the format version, `{SCHEMA_ID}`.",
        {
            "schema": "The format version of the document; a runtime refuses versions it "
                      "does not know.",
            "name": "A name for people: shown in the HMI and in the version history.",
            "description": "Free text for people.",
            "connections": "The PLC connections (OPC UA servers, Modbus TCP devices); one "
                           "connection hub (session or socket) each.",
            "tags": "The named values read from (and, when writable, written to) the "
                    "connections.",
            "flows": "The rules: graphs of nodes joined by wires.",
            "assets": "Display hints for the HMI's overview: the equipment, its key tags and "
                      "health (below). The runtime does not act on them.",
        },
    ),
    Section(
        "OPC UA connection (`kind` \"opcua\")",
        ("properties", "connections", "items", "then"), OpcUaConnection,
        "An OPC UA server. The runtime keeps one session and one subscription per connection "
        "and rebuilds both after any loss (socket closed, bad subscription status, or no "
        "answer from the server within the watchdog period).",
        {
            "id": "How tags name this connection.",
            "kind": "Always \"opcua\" for an OPC UA server.",
            "label": "A name for people.",
            "endpoint": "The server's endpoint URL, e.g. `opc.tcp://10.0.3.21:4840`.",
            "publishing_interval_ms": "How often the server publishes changed values in the "
                                      "subscription (sampling at half of it), in ms.",
            "timeout_s": "Longest wait for a request (connect, read, write), in s.",
            "watchdog_s": "How often the server's CurrentTime is read to detect a half-open "
                          "connection, in s.",
            "security": "Message security: policy, mode and certificates (below).",
            "username": "User name, for servers that require one (leave out for anonymous).",
            "password": "Password for `username`; never logged.",
        },
    ),
    Section(
        "OPC UA security (`security` of an OPC UA connection)",
        ("properties", "connections", "items", "then", "properties", "security"), Security,
        "With a policy other than None, a mode of Sign or SignAndEncrypt and the client "
        "certificate and private key are required.",
        {
            "policy": "The security policy.",
            "mode": "The message security mode.",
            "certificate": "Path of the client's certificate (DER or PEM).",
            "private_key": "Path of the client's private key (PEM).",
            "server_certificate": "Path of the server certificate to trust (leave out to "
                                  "accept the one the server presents).",
        },
    ),
    Section(
        "Modbus TCP connection (`kind` \"modbus\")",
        ("properties", "connections", "items", "else"), ModbusConnection,
        "A Modbus TCP device, polled. The runtime keeps one socket per connection and reads "
        "neighbouring registers of its tags in as few requests as it can.",
        {
            "id": "How tags name this connection.",
            "kind": "Always \"modbus\" for a Modbus TCP device.",
            "label": "A name for people.",
            "host": "Host name or IP address of the device.",
            "port": "TCP port.",
            "unit_id": "Modbus unit (slave) id.",
            "poll_ms": "How often the tags are read, in ms.",
            "timeout_ms": "Longest wait for a response, in ms.",
        },
    ),
    Section(
        "Tag", ("properties", "tags", "items"), Tag,
        "A named value on a connection. The `address` depends on the connection's kind: an "
        "OPC UA node id (`ns=2;s=P101.Flow`, `ns=2;i=1042`, `nsu=URI;s=...`, `i=2258`) or a "
        f"Modbus address AREA:OFFSET with AREA one of {', '.join(MODBUS_AREAS)} (holding "
        "register, input register, coil, discrete input) and OFFSET from 0 (`hr:100`). "
        "Coils and discrete inputs hold bools; 32-bit and 64-bit types take 2 and 4 "
        "consecutive registers; input registers and discrete inputs are read-only. Values "
        "are in engineering units after `scaling`; the deadband and the envelope are in "
        "those units too.",
        {
            "id": "How flows name the tag (e.g. `P101.flow`).",
            "connection": "The id of the connection the tag is on.",
            "address": "Where the value is on that connection (see above).",
            "type": "The value's type in the PLC.",
            "unit": "Engineering unit, for people (e.g. `m³/h`).",
            "description": "Free text for people.",
            "scaling": "Linear scaling from raw PLC values to engineering values (below).",
            "deadband": "A new value is passed on and recorded only when it differs from the "
                        "last one passed by more than this (0: on any change).",
            "byte_order": "Modbus: the order of the two bytes inside each register.",
            "word_order": "Modbus: the order of the registers of a 32- or 64-bit value "
                          "(\"little\" is the common word swap).",
            "writable": "Whether flows may write the tag; a writable tag needs an envelope.",
            "envelope": "The limits every write is held to (below).",
        },
    ),
    Section(
        "Scaling (`scaling` of a tag)", ("properties", "tags", "items", "properties",
                                         "scaling"), Scaling,
        "Raw values map linearly to engineering values: raw_min → eng_min, raw_max → "
        "eng_max, and back for writes. The two raw values must differ, as must the two "
        "engineering values.",
        {
            "raw_min": "A raw PLC value (the first calibration point).",
            "raw_max": "Another raw PLC value (the second calibration point).",
            "eng_min": "The engineering value at raw_min.",
            "eng_max": "The engineering value at raw_max.",
        },
    ),
    Section(
        "Write envelope (`envelope` of a writable tag)",
        ("properties", "tags", "items", "properties", "envelope"), Envelope,
        "Every write a rule asks for is held inside the envelope: clamped into [min, max] "
        "and to at most max_step away from the current value, refused when it comes sooner "
        "than min_interval_s after the previous write. Writes also happen only in automatic "
        "line mode and on good-quality input, and each one is audited.",
        {
            "min": "The lowest value ever written (engineering units).",
            "max": "The highest value ever written; not below min.",
            "max_step": "The largest change from the current value in one write (null: any "
                        "step within min and max).",
            "min_interval_s": "The shortest time between two writes, in s.",
        },
    ),
    Section(
        "Flow", ("properties", "flows", "items"), Flow,
        "A rule: nodes joined by wires. A deploy restarts only the flows that changed; the "
        "others keep their state.",
        {
            "id": "Identifies the flow across versions.",
            "label": "A name for people.",
            "description": "Free text for people.",
            "enabled": "A disabled flow is kept in the document but does not run.",
            "mode": "\"live\" flows act; \"shadow\" flows run beside them with their writes "
                    "and alarms captured, for comparison before promoting.",
            "shadow_of": "For a shadow flow: the id of the live flow it is a changed copy "
                         "of, which it is compared with and promoted into.",
            "nodes": "The nodes (below).",
            "wires": "The wires (below).",
        },
    ),
    Section(
        "Node", ("properties", "flows", "items", "properties", "nodes", "items"), Node,
        "One step of a flow: a node type from the catalogue below and its parameters.",
        {
            "id": "Identifies the node within its flow; wires name it.",
            "type": "The node type (or one of its legacy ids), see Node types.",
            "version": "The node type version the parameters were written for; a runtime "
                       "refuses versions newer than its own.",
            "label": "A name for people.",
            "params": "The parameters of the node type; those left out take their default.",
            "ui": "Where the node sits in the editor (`{\"x\": ..., \"y\": ...}`); the runtime "
                  "ignores it.",
        },
    ),
    Section(
        "Wire", ("properties", "flows", "items", "properties", "wires", "items"), None,
        "Joins an output port to an input port, each written `node:port`. An input takes at "
        "most one wire; the wires of a flow form no loop; the port kinds must fit (see Port "
        "kinds).",
        {
            "from": "The output: `node:port`.",
            "to": "The input: `node:port`.",
        },
    ),
    Section(
        "Asset", ("properties", "assets", "items"), Asset,
        "A piece of equipment on the HMI's overview (a pump, a drive): a panel with its key "
        "tags as analog bars (range, normal band, alarm limits) or on/off lamps, and its "
        "health score with its thresholds. Units come from the tag definitions. The overview "
        "is built from these hints alone, so a plant gets its own without code.",
        {
            "id": "Identifies the asset across versions.",
            "name": "The name on the panel (e.g. `P-101 centrifugal pump`).",
            "description": "A line under the name, for people.",
            "tags": "The tags shown, in order (below); each tag at most once.",
            "health": "The asset's health score (below).",
        },
    ),
    Section(
        "Asset tag (`tags` of an asset)",
        ("properties", "assets", "items", "properties", "tags", "items"), AssetTag,
        "A tag of the document as the overview shows it. A number with a `range` is drawn as "
        "a bar, without one as a number; a bool as an on/off lamp (bools and texts take no "
        "range, band or limits). The normal band and the limits lie inside the range; the "
        "limits go lo_lo ≤ lo ≤ hi ≤ hi_hi. A value outside the normal band is marked, past "
        "a limit more strongly (shape, word and colour).",
        {
            "tag": "The id of a tag of the document.",
            "label": "The name shown (the tag's id when left out).",
            "role": "\"key\": a bar or lamp in the panel; \"detail\": a smaller value "
                    "under them (counters, totals).",
            "range": "[min, max] of the bar, in the tag's unit.",
            "normal": "[low, high]: the band where the value sits in normal operation, "
                      "shaded on the bar.",
            "limits": "The alarm limits, marked on the bar (below).",
        },
    ),
    Section(
        "Alarm limits (`limits` of an asset tag)",
        ("properties", "assets", "items", "properties", "tags", "items", "properties",
         "limits"), Limits,
        "Any of the four may be left out. They are display hints: the alarms themselves are "
        "raised by flows, so keep them equal to the flows' thresholds.",
        {
            "lo_lo": "The low-low limit.",
            "lo": "The low limit.",
            "hi": "The high limit.",
            "hi_hi": "The high-high limit.",
        },
    ),
    Section(
        "Health (`health` of an asset)",
        ("properties", "assets", "items", "properties", "health"), Health,
        "The asset's health score: either a tag (`tag`), or the output of a node of a flow "
        "(`flow` and `output`, e.g. an ONNX model's `model:score`), which the HMI follows "
        "on the flow's debug topic. A warn below alarm means higher is worse (an anomaly "
        "score); above alarm, lower is worse (a health index).",
        {
            "tag": "A numeric tag holding the score.",
            "flow": "The id of the flow computing the score.",
            "output": "The node output carrying it: `node:port`, a number.",
            "label": "The name shown (\"Health\" when left out).",
            "range": "[min, max] of the bar; warn and alarm lie inside it.",
            "warn": "Where the score leaves the normal band.",
            "alarm": "Where the score is alarming.",
        },
    ),
)

PARAM_TYPE_PROSE = {
    "number": "a number; `min` and `max` bound it where given",
    "integer": "a whole number; `min` and `max` bound it where given",
    "bool": "true or false",
    "string": "a text",
    "enum": "one of the listed texts",
    "tag": "the id of a tag of the document",
    "writable_tag": "the id of a writable tag that has an envelope",
    "expression": "an expression over the node's inputs (a, b, c, d): numbers, `+ - * / // % "
                  "**`, comparisons, `and or not`, `x if condition else y` and the functions "
                  f"{', '.join(f'`{name}`' for name in sorted(FUNCTIONS))}; at most "
                  f"{MAX_LENGTH} characters. It is parsed, never run as Python",
    "model": "a registered model, `id@version` (`lineside-runtime models list`)",
    "features": "a list of features, each `{\"name\", \"tag\", \"stat\", \"window_s\", "
                "\"unit\"}`: the tag, a statistic over a window of window_s seconds before "
                f"each scoring time (one of {', '.join(FEATURE_STATS)}; `last` needs no "
                "window), in the model's feature order and with its feature names",
}

PORT_KIND_PROSE = {
    "number": "a number (a bool output may feed it: true is 1)",
    "bool": "true or false",
    "vector": "a list of numbers",
    "event": "an event without a value",
    "any": "any value; fits every other kind",
}

INTRO = f"""\
# The project document (`{SCHEMA_ID}`)

<!-- Generated by `python -m runtime.format_doc` (`make docs`) from the JSON Schema in
runtime/contracts/project_schema.py and the node catalogue; edit those or the prose in
runtime/format_doc.py, not this file. -->

A project is one JSON document (UTF-8): the PLC connections, the tags on them, and the flows
(rules) made of nodes and wires. It is versioned as a whole: every deploy stores the document
as a new version with who deployed it, when, why and its hash, and a rollback deploys an
earlier version. `resources/demo/project.json` is a complete example.

`lineside-runtime validate FILE` checks a document as a deploy does and prints every problem
with its JSON path (`$.flows[0].nodes[2].params.threshold: must be a number`). A document with
any problem is never deployed; the running one keeps running. Beyond the fields below, the
checks cover meaning: ids unique within their list, tags on known connections with addresses
that fit the connection, parameters within their ranges, wires between existing ports of
fitting kinds, no loops, writes only to writable tags with an envelope, and models that are
registered with the features their mapping gives.

In the tables, *Default* is what a field left out means; "—" means there is none.
"""


def render() -> str:
    """The whole document, as Markdown."""
    specs = NodeRegistry.with_builtins(plugins=False).specs()
    parts = [INTRO]
    parts += [_section(section) for section in SECTIONS]
    parts.append(_glossary("Port kinds", "What a port carries.", PORT_KINDS, PORT_KIND_PROSE))
    parts.append(_glossary("Parameter types", "What a node parameter holds.", PARAM_TYPES,
                           PARAM_TYPE_PROSE))
    parts.append(_node_types(specs))
    return "\n".join(parts).rstrip() + "\n"


def _section(section: Section) -> str:
    schema = _at(section)
    properties: dict[str, Any] = schema.get("properties", {})
    unknown = sorted(set(section.fields) - set(properties))
    undocumented = sorted(set(properties) - set(section.fields))
    if unknown or undocumented:
        raise StaleProse(f"runtime/format_doc.py, section {section.title!r}: "
                         + "; ".join(filter(None, [
                             f"prose for fields the schema lacks: {unknown}" if unknown else None,
                             f"no prose for fields: {undocumented}" if undocumented else None])))
    required = set(schema.get("required", ()))
    defaults = _defaults(section.dataclass)
    rows = [[f"`{name}`", _type(prop), "yes" if name in required else "no", _allowed(prop),
             MISSING_DEFAULT if name in required else defaults.get(name, MISSING_DEFAULT),
             section.fields[name]] for name, prop in properties.items()]
    table = _table(["Field", "Type", "Required", "Allowed", "Default", "Meaning"], rows)
    return f"## {section.title}\n\n{section.intro}\n\n{table}\n"


def _at(section: Section) -> dict[str, Any]:
    node: Any = PROJECT_SCHEMA
    for key in section.schema_path:
        if not isinstance(node, dict) or key not in node:
            raise StaleProse(f"runtime/format_doc.py, section {section.title!r}: the schema "
                             f"has no {'/'.join(section.schema_path)}")
        node = node[key]
    return node


def _defaults(cls: type | None) -> dict[str, str]:
    """Field name → the default of the parsed dataclass, as JSON."""
    if cls is None:
        return {}
    found = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f"`{_json(f.default)}`"
        elif f.default_factory is not MISSING:
            value = f.default_factory()
            if isinstance(value, dict | list | tuple):
                found[f.name] = f"`{_json(value)}`"
    return found


def _type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{_json(prop['const'])}`"
    if "enum" in prop:
        return "text"
    words = {"string": "text", "number": "number", "integer": "whole number",
             "boolean": "true/false", "object": "object", "array": "list", "null": "null"}
    kinds: str | list[str] = prop.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    kind = " or ".join(words.get(k, k) for k in kinds)
    items = prop.get("items")
    if kind == "list" and isinstance(items, dict) and "type" in items:
        kind = f"list of {_type(items)}s"
    return kind


_PATTERNS = {
    r"^[A-Za-z0-9_.\-]{1,64}$": "1 to 64 of: letters, digits, `_` `.` `-`",
    r"^opc\.tcp://": "starts with `opc.tcp://`",
    r"^[^:]+:[^:]+$": "`node:port`",
}


def _allowed(prop: dict[str, Any]) -> str:
    limits = []
    if "enum" in prop:
        limits.append("one of " + ", ".join(f"`{_json(v)}`" for v in prop["enum"]))
    if "pattern" in prop:
        limits.append(_PATTERNS.get(prop["pattern"], f"matches `{prop['pattern']}`"))
    if "minLength" in prop:
        limits.append("not empty")
    if "minItems" in prop and prop.get("minItems") == prop.get("maxItems"):
        limits.append(f"exactly {prop['minItems']}")
    if "minimum" in prop:
        limits.append(f"≥ {prop['minimum']}")
    if "exclusiveMinimum" in prop:
        limits.append(f"> {prop['exclusiveMinimum']}")
    if "maximum" in prop:
        limits.append(f"≤ {prop['maximum']}")
    return ", ".join(limits) or MISSING_DEFAULT


def _glossary(title: str, intro: str, names: Sequence[str], prose: dict[str, str]) -> str:
    missing = sorted(set(names) - set(prose))
    extra = sorted(set(prose) - set(names))
    if missing or extra:
        raise StaleProse(f"runtime/format_doc.py, {title}: no prose for {missing}; prose for "
                         f"unknown {extra}")
    rows = [[f"`{name}`", prose[name]] for name in names]
    return f"## {title}\n\n{intro}\n\n{_table(['Name', 'Meaning'], rows)}\n"


def _node_types(specs: Sequence[NodeSpec]) -> str:
    parts = ["## Node types\n",
             "Every built-in node type, by category: its ports, its parameters (with type, "
             "default, range, unit, and whether it is tunable: shown as a slider in the HMI "
             "and changeable by a backtest), and the checks between parameters. Plug-ins "
             "installed beside the runtime add their own types.\n"]
    for category in dict.fromkeys(spec.category for spec in specs):
        parts.append(f"### {category.capitalize()}\n")
        parts += [_node_type(spec) for spec in specs if spec.category == category]
    return "\n".join(parts)


def _node_type(spec: NodeSpec) -> str:
    lines = [f"#### `{spec.type}`: {spec.title}\n", spec.description, ""]
    facts = [f"Version {spec.version}."]
    if spec.legacy_ids:
        facts.append("Also accepted as " + ", ".join(f"`{i}`" for i in spec.legacy_ids) + ".")
    lines += [" ".join(facts), ""]
    for label, ports in (("Inputs", spec.inputs), ("Outputs", spec.outputs)):
        described = ", ".join(f"`{p.name}` ({p.kind}{': ' + p.title if p.title else ''})"
                              for p in ports)
        lines.append(f"- {label}: {described or 'none'}")
    lines.append("")
    if spec.params:
        rows = [[f"`{p.name}`", _param_type(p), "yes" if p.required else "no",
                 _param_default(p), _param_range(p), p.unit or MISSING_DEFAULT,
                 "yes" if p.tunable else "no", _param_meaning(p)] for p in spec.params]
        lines += [_table(["Parameter", "Type", "Required", "Default", "Range", "Unit",
                          "Tunable", "Meaning"], rows), ""]
    else:
        lines += ["No parameters.", ""]
    for rule in spec.rules:
        lines.append(f"Check: `{rule.left}` {rule.op} `{rule.right}` ({rule.message}).")
    if spec.rules:
        lines.append("")
    return "\n".join(lines)


def _param_type(param: ParamSpec) -> str:
    if param.type == "enum":
        return "one of " + ", ".join(f"`{c}`" for c in param.choices)
    return param.type


def _param_default(param: ParamSpec) -> str:
    return MISSING_DEFAULT if param.default is None else f"`{_json(param.default)}`"


def _param_range(param: ParamSpec) -> str:
    if param.min is not None and param.max is not None:
        return f"{param.min:g} to {param.max:g}"
    if param.min is not None:
        return f"≥ {param.min:g}"
    if param.max is not None:
        return f"≤ {param.max:g}"
    return MISSING_DEFAULT


def _param_meaning(param: ParamSpec) -> str:
    return ". ".join(text for text in (param.title, param.description) if text) or "—"


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def main() -> int:
    """Write the document to stdout."""
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
