"""Validation of project documents: a pure function that returns every problem found.

Structure is checked by JSON Schema (jsonschema), meaning by the checks below: unknown ids,
bad parameters, wiring, cycles, writes without an envelope. Each problem carries the JSON path
of what is wrong and a message a plant engineer understands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from runtime.contracts.assets import asset_problems
from runtime.contracts.errors import AddressError, ExpressionError, Problem, ValidationFailed
from runtime.contracts.expression import compile_expression
from runtime.contracts.modbus_address import parse_address
from runtime.contracts.models import FEATURE_STATS, ModelInfo
from runtime.contracts.nodespec import NodeSpec
from runtime.contracts.project import CONNECTION_KINDS, SCHEMA_ID, Project
from runtime.contracts.project_schema import PROJECT_SCHEMA

_SCHEMA_VALIDATOR = Draft202012Validator(PROJECT_SCHEMA)
_OPCUA_ADDRESS = re.compile(r"^(ns=\d+|nsu=[^;]+);(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$|^i=\d+$")


def load_project(doc: Any, specs: Mapping[str, NodeSpec],
                 models: Mapping[str, ModelInfo] | None = None) -> Project:
    """Validate and parse a document; raises ValidationFailed listing every problem."""
    problems = validate_project(doc, specs, models)
    if problems:
        raise ValidationFailed(problems)
    return Project.from_dict(doc)


def validate_project(doc: Any, specs: Mapping[str, NodeSpec],
                     models: Mapping[str, ModelInfo] | None = None) -> list[Problem]:
    """Every problem in `doc`, checked against the node types in `specs` (id → spec) and
    the registered models (id@version → ModelInfo)."""
    if not isinstance(doc, dict):
        return [Problem("$", "the project must be a JSON object")]
    problems = _structure_problems(doc) + _non_finite_problems(doc)
    if problems:
        return problems
    problems += _connection_and_tag_problems(doc)
    tags = {t["id"]: t for t in doc["tags"]}
    problems += _duplicates(doc["flows"], "$.flows", "flow")
    for f_index, flow in enumerate(doc["flows"]):
        problems += _flow_problems(flow, f"$.flows[{f_index}]", specs, tags, models or {})
    problems += _shadow_problems(doc["flows"])
    problems += asset_problems(doc, specs)
    return problems


def _shadow_problems(flows: list[dict[str, Any]]) -> list[Problem]:
    """A flow's `shadow_of` is for shadow flows and names a live flow of the project."""
    live = {f["id"] for f in flows if f.get("mode", "live") == "live"}
    problems = []
    for index, flow in enumerate(flows):
        original = flow.get("shadow_of")
        if original is None:
            continue
        path = f"$.flows[{index}].shadow_of"
        if flow.get("mode", "live") != "shadow":
            problems.append(Problem(path, "only a flow whose mode is \"shadow\" can be the "
                                          "shadow of another"))
        elif original not in live:
            problems.append(Problem(path, f"no live flow '{original}' in the project to be "
                                          "the shadow of"))
    return problems


def validate_connection(connection: Any) -> list[Problem]:
    """Every problem of one connection object as a project document would hold it, with
    paths under `$.connection` (the project's own checks, applied to a one-connection
    document)."""
    doc = {"schema": SCHEMA_ID, "connections": [connection], "tags": [], "flows": []}
    inner = "$.connections[0]"
    return [Problem("$.connection" + p.path[len(inner):], p.message)
            for p in validate_project(doc, {}) if p.path.startswith(inner)]


def _structure_problems(doc: dict[str, Any]) -> list[Problem]:
    problems = []
    for error in sorted(_SCHEMA_VALIDATOR.iter_errors(doc), key=lambda e: list(e.path)):
        if error.validator in ("if", "then", "else") or _checked_as_another_kind(doc, error):
            continue
        problems.append(Problem(_json_path(error.absolute_path), _schema_message(error)))
    return problems


def _non_finite_problems(doc: dict[str, Any]) -> list[Problem]:
    """JSON has no NaN or infinity, but Python's json module reads them: each is refused,
    so no envelope, scaling or parameter compares against one."""
    problems = []
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(path, f"must be a finite number, found {value}"))
        elif isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return problems


def _checked_as_another_kind(doc: dict[str, Any], error: SchemaError) -> bool:
    """Whether the error comes from the checks of one connection kind (the schema's then or
    else) applied to a connection whose kind is missing or unknown: only that is reported."""
    if not {"then", "else"} & set(error.absolute_schema_path):
        return False
    connection = doc["connections"][error.absolute_path[1]]
    return not isinstance(connection, dict) or connection.get("kind") not in CONNECTION_KINDS


def _schema_message(error: SchemaError) -> str:
    value = error.instance
    match error.validator:
        case "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            return f"missing required field '{missing}'"
        case "additionalProperties" if isinstance(value, dict) and isinstance(error.schema, dict):
            extra = sorted(set(value) - set(error.schema.get("properties", {})))
            return f"unknown field(s) {', '.join(repr(x) for x in extra)}"
        case "type":
            return f"must be {_type_words(error.validator_value)}, found {value!r}"
        case "enum" if isinstance(error.validator_value, list):
            return f"must be one of {', '.join(map(str, error.validator_value))}; found {value!r}"
        case "const":
            return f"must be {error.validator_value!r}, found {value!r}"
        case "pattern":
            if error.absolute_path and error.absolute_path[-1] == "id":
                return (f"{value!r} is not a valid id: use 1 to 64 letters, digits, "
                        "'_', '.' or '-'")
            if error.absolute_path and error.absolute_path[-1] == "endpoint":
                return f"{value!r} is not an OPC UA endpoint: it must start with opc.tcp://"
            if error.absolute_path and error.absolute_path[-1] in ("from", "to", "output"):
                return f"{value!r} must name a node and a port as 'node:port'"
            return f"{value!r} does not have the expected form"
        case "minimum" | "exclusiveMinimum":
            return f"must be more than {error.validator_value}, found {value!r}"
        case "maximum":
            return f"must be at most {error.validator_value}, found {value!r}"
        case "minLength":
            return "must not be empty"
        case "minItems" | "maxItems" if isinstance(error.schema, dict) and (
                error.validator_value == error.schema.get("minItems")
                == error.schema.get("maxItems")):
            return f"must be a list of {error.validator_value} numbers [low, high], found {value!r}"
    return error.message


def _type_words(kind: Any) -> str:
    words = {"object": "an object", "array": "a list", "string": "a text", "number": "a number",
             "integer": "a whole number", "boolean": "true or false", "null": "null"}
    kinds: list[str] = kind if isinstance(kind, list) else [kind]
    return " or ".join(words.get(k, k) for k in kinds)


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _duplicates(items: list[dict[str, Any]], path: str, what: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        item_id = item["id"]
        if item_id in seen:
            problems.append(Problem(f"{path}[{index}].id",
                                    f"{what} id '{item_id}' is already used at {path}"
                                    f"[{seen[item_id]}]"))
        else:
            seen[item_id] = index
    return problems


def _connection_and_tag_problems(doc: dict[str, Any]) -> list[Problem]:
    problems = _duplicates(doc["connections"], "$.connections", "connection")
    problems += _duplicates(doc["tags"], "$.tags", "tag")
    connections = {c["id"]: c for c in doc["connections"]}
    for c_index, conn in enumerate(doc["connections"]):
        security = conn.get("security") or {}
        if security.get("policy", "None") != "None":
            path = f"$.connections[{c_index}].security"
            if security.get("mode", "None") == "None":
                problems.append(Problem(f"{path}.mode",
                                        "a security policy needs mode Sign or SignAndEncrypt"))
            for key in ("certificate", "private_key"):
                if not security.get(key):
                    problems.append(Problem(f"{path}.{key}",
                                            f"{key.replace('_', ' ')} is required with policy "
                                            f"{security['policy']}"))
    for t_index, tag in enumerate(doc["tags"]):
        path = f"$.tags[{t_index}]"
        conn = connections.get(tag["connection"])
        if conn is None:
            problems.append(Problem(f"{path}.connection",
                                    f"unknown connection '{tag['connection']}'"))
        else:
            problems += _address_problems(tag, conn, path)
        scaling = tag.get("scaling")
        if scaling and scaling["raw_min"] == scaling["raw_max"]:
            problems.append(Problem(f"{path}.scaling", "raw_min and raw_max must differ"))
        if scaling and scaling["eng_min"] == scaling["eng_max"]:
            problems.append(Problem(f"{path}.scaling", "eng_min and eng_max must differ"))
        envelope = tag.get("envelope")
        if tag.get("writable") and not envelope:
            problems.append(Problem(f"{path}.envelope",
                                    f"writable tag '{tag['id']}' needs a write envelope "
                                    "(min, max, max_step, min_interval_s)"))
        if envelope and envelope["min"] > envelope["max"]:
            problems.append(Problem(f"{path}.envelope.min",
                                    f"envelope min {envelope['min']} is above max "
                                    f"{envelope['max']}"))
    return problems


def _address_problems(tag: dict[str, Any], conn: dict[str, Any], path: str) -> list[Problem]:
    address, tag_type = tag["address"], tag.get("type", "float32")
    if conn["kind"] == "opcua":
        if not _OPCUA_ADDRESS.match(address):
            return [Problem(f"{path}.address",
                            f"'{address}' is not an OPC UA node id (e.g. ns=2;s=P101.Flow)")]
        return []
    try:
        modbus_address = parse_address(address)
    except AddressError as exc:
        return [Problem(f"{path}.{exc.field}", str(exc))]
    checks: list[Callable[[], object]] = [lambda: modbus_address.width(tag_type)]
    if tag.get("writable"):
        checks.append(modbus_address.check_writable)
    problems = []
    for check in checks:
        try:
            check()
        except AddressError as exc:
            problems.append(Problem(f"{path}.{exc.field}", str(exc)))
    return problems


def _flow_problems(flow: dict[str, Any], path: str, specs: Mapping[str, NodeSpec],
                   tags: dict[str, dict[str, Any]],
                   models: Mapping[str, ModelInfo]) -> list[Problem]:
    problems = _duplicates(flow["nodes"], f"{path}.nodes", "node")
    node_specs: dict[str, NodeSpec] = {}
    for n_index, node in enumerate(flow["nodes"]):
        n_path = f"{path}.nodes[{n_index}]"
        spec = specs.get(node["type"])
        if spec is None:
            problems.append(Problem(f"{n_path}.type", f"unknown node type '{node['type']}'"))
            continue
        node_specs[node["id"]] = spec
        if node.get("version", 1) > spec.version:
            problems.append(Problem(f"{n_path}.version",
                                    f"node type '{spec.type}' version {node['version']} is newer "
                                    f"than this runtime's version {spec.version}"))
        problems += _param_problems(node.get("params", {}), spec, f"{n_path}.params", tags,
                                    models)
    node_ids = {node["id"] for node in flow["nodes"]}
    problems += _wire_problems(flow.get("wires", []), f"{path}.wires", node_specs, node_ids)
    return problems


def _param_problems(params: dict[str, Any], spec: NodeSpec, path: str,
                    tags: dict[str, dict[str, Any]],
                    models: Mapping[str, ModelInfo]) -> list[Problem]:
    problems = []
    for name in params:
        if spec.param(name) is None:
            problems.append(Problem(f"{path}.{name}",
                                    f"node type '{spec.type}' has no parameter '{name}'"))
    for param in spec.params:
        p_path = f"{path}.{param.name}"
        if param.name not in params:
            if param.required:
                problems.append(Problem(p_path, f"parameter '{param.name}' is required"))
            continue
        value = params[param.name]
        message = param.check(value)
        if message:
            problems.append(Problem(p_path, message))
            continue
        if param.type in ("tag", "writable_tag") and value not in tags:
            problems.append(Problem(p_path, f"unknown tag '{value}'"))
        elif param.type == "writable_tag":
            tag = tags[value]
            if not tag.get("writable"):
                problems.append(Problem(p_path, f"tag '{value}' is not writable"))
            elif not tag.get("envelope"):
                problems.append(Problem(p_path, f"tag '{value}' has no write envelope"))
        elif param.type == "model" and value not in models:
            known = ", ".join(sorted(models)) or "none"
            problems.append(Problem(p_path, f"unknown model '{value}'; registered: {known}"))
        elif param.type == "features":
            problems += _feature_problems(value, p_path, tags)
        elif param.type == "expression":
            allowed = frozenset(p.name for p in spec.inputs)
            try:
                compile_expression(value, allowed)
            except ExpressionError as exc:
                problems.append(Problem(p_path, str(exc)))
    model = models.get(params.get("model", ""))
    features = params.get("features")
    if model is not None and isinstance(features, list) and spec.param("features"):
        problems += _mapping_problems(model, features, f"{path}.features")
    resolved = spec.resolve_params(params)
    for rule in spec.rules:
        if not rule.holds(resolved):
            problems.append(Problem(f"{path}.{rule.left}", rule.message))
    return problems


_FEATURE_KEYS = {"name", "tag", "stat", "window_s", "unit"}


def _feature_problems(features: list[Any], path: str,
                      tags: dict[str, dict[str, Any]]) -> list[Problem]:
    problems = []
    for index, feature in enumerate(features):
        f_path = f"{path}[{index}]"
        if not isinstance(feature, dict):
            problems.append(Problem(f_path, "must be an object {name, tag, stat, window_s}"))
            continue
        unknown = sorted(set(feature) - _FEATURE_KEYS)
        if unknown:
            problems.append(Problem(f_path, f"unknown field(s) {', '.join(map(repr, unknown))}"))
        if feature.get("tag") not in tags:
            problems.append(Problem(f"{f_path}.tag", f"unknown tag {feature.get('tag')!r}"))
        stat = feature.get("stat", "last")
        if stat not in FEATURE_STATS:
            problems.append(Problem(f"{f_path}.stat", f"must be one of "
                                    f"{', '.join(FEATURE_STATS)}; found {stat!r}"))
        window = feature.get("window_s", 0)
        if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0:
            problems.append(Problem(f"{f_path}.window_s",
                                    f"must be a number of seconds, found {window!r}"))
        elif stat != "last" and window <= 0:
            problems.append(Problem(f"{f_path}.window_s",
                                    f"a {stat} needs a window of more than 0 s"))
    return problems


def _mapping_problems(model: ModelInfo, features: list[Any], path: str) -> list[Problem]:
    if len(features) != len(model.features):
        return [Problem(path, f"model {model.key} expects {len(model.features)} features "
                              f"({', '.join(model.features)}); the mapping gives "
                              f"{len(features)}")]
    problems = []
    for index, (feature, expected) in enumerate(zip(features, model.features, strict=True)):
        name = feature.get("name") if isinstance(feature, dict) else None
        if name is not None and name != expected:
            problems.append(Problem(f"{path}[{index}].name",
                                    f"model {model.key} expects '{expected}' here, found "
                                    f"'{name}'"))
    return problems


def _wire_problems(wires: list[dict[str, Any]], path: str, node_specs: dict[str, NodeSpec],
                   node_ids: set[str]) -> list[Problem]:
    """Problems of the wires between nodes of known type; a wire touching a node of unknown
    type is skipped (that node is reported once, at its type)."""
    problems = []
    edges: dict[str, set[str]] = {node_id: set() for node_id in node_specs}
    fed: dict[tuple[str, str], int] = {}
    for w_index, wire in enumerate(wires):
        w_path = f"{path}[{w_index}]"
        (s_node, s_port), (t_node, t_port) = wire["from"].split(":"), wire["to"].split(":")
        s_spec, t_spec = node_specs.get(s_node), node_specs.get(t_node)
        if s_node not in node_ids:
            problems.append(Problem(f"{w_path}.from", f"unknown node '{s_node}'"))
        if t_node not in node_ids:
            problems.append(Problem(f"{w_path}.to", f"unknown node '{t_node}'"))
        if s_spec is None or t_spec is None:
            continue
        out_port, in_port = s_spec.output(s_port), t_spec.input(t_port)
        if out_port is None:
            problems.append(Problem(f"{w_path}.from",
                                    f"node '{s_node}' ({s_spec.type}) has no output '{s_port}'"))
        if in_port is None:
            problems.append(Problem(f"{w_path}.to",
                                    f"node '{t_node}' ({t_spec.type}) has no input '{t_port}'"))
        if out_port is None or in_port is None:
            continue
        if not in_port.accepts(out_port.kind):
            problems.append(Problem(w_path,
                                    f"cannot wire {out_port.kind} output '{s_node}:{s_port}' to "
                                    f"{in_port.kind} input '{t_node}:{t_port}'"))
        if (t_node, t_port) in fed:
            problems.append(Problem(f"{w_path}.to",
                                    f"input '{t_node}:{t_port}' is already wired by "
                                    f"{path}[{fed[(t_node, t_port)]}]"))
        fed[(t_node, t_port)] = w_index
        edges[s_node].add(t_node)
    cycle = _find_cycle(edges)
    if cycle:
        problems.append(Problem(path, f"wires form a loop: {' → '.join(cycle)}"))
    return problems


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph as a list of node ids (first repeated at the end), or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if color.get(nxt) == grey:
                return [*stack[stack.index(nxt):], nxt]
            if color.get(nxt) == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = black
        return None

    for start in sorted(edges):
        if color[start] == white:
            found = visit(start)
            if found:
                return found
    return None
