"""JSON Schema of the project document's structure (semantic checks live in validation)."""

from __future__ import annotations

from typing import Any

from runtime.contracts.assets import LIMIT_ORDER, ROLES
from runtime.contracts.project import (
    CONNECTION_KINDS,
    FLOW_MODES,
    SCHEMA_ID,
    SECURITY_MODES,
    SECURITY_POLICIES,
    TAG_TYPES,
)

_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"}
_NUMBER = {"type": "number"}

_OPCUA = {
    "type": "object",
    "required": ["id", "kind", "endpoint"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "kind": {"const": "opcua"},
        "label": {"type": "string"},
        "endpoint": {"type": "string", "pattern": r"^opc\.tcp://"},
        "publishing_interval_ms": {"type": "integer", "minimum": 1, "maximum": 60000},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        "watchdog_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
        "security": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "policy": {"enum": list(SECURITY_POLICIES)},
                "mode": {"enum": list(SECURITY_MODES)},
                "certificate": {"type": "string"},
                "private_key": {"type": "string"},
                "server_certificate": {"type": "string"},
            },
        },
        "username": {"type": "string"},
        "password": {"type": "string"},
    },
}

_MODBUS = {
    "type": "object",
    "required": ["id", "kind", "host"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "kind": {"const": "modbus"},
        "label": {"type": "string"},
        "host": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "unit_id": {"type": "integer", "minimum": 0, "maximum": 255},
        "poll_ms": {"type": "integer", "minimum": 10, "maximum": 3600000},
        "timeout_ms": {"type": "integer", "minimum": 10, "maximum": 60000},
    },
}

_TAG = {
    "type": "object",
    "required": ["id", "connection", "address"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "connection": {"type": "string"},
        "address": {"type": "string", "minLength": 1},
        "type": {"enum": list(TAG_TYPES)},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "scaling": {
            "type": "object",
            "required": ["raw_min", "raw_max", "eng_min", "eng_max"],
            "additionalProperties": False,
            "properties": {k: _NUMBER for k in ("raw_min", "raw_max", "eng_min", "eng_max")},
        },
        "deadband": {"type": "number", "minimum": 0},
        "byte_order": {"enum": ["big", "little"]},
        "word_order": {"enum": ["big", "little"]},
        "writable": {"type": "boolean"},
        "envelope": {
            "type": "object",
            "required": ["min", "max"],
            "additionalProperties": False,
            "properties": {
                "min": _NUMBER,
                "max": _NUMBER,
                "max_step": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "min_interval_s": {"type": "number", "minimum": 0},
            },
        },
    },
}

_NODE = {
    "type": "object",
    "required": ["id", "type"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "type": {"type": "string", "minLength": 1},
        "version": {"type": "integer", "minimum": 1},
        "label": {"type": "string"},
        "params": {"type": "object"},
        "ui": {"type": "object"},
    },
}

_WIRE = {
    "type": "object",
    "required": ["from", "to"],
    "additionalProperties": False,
    "properties": {
        "from": {"type": "string", "pattern": r"^[^:]+:[^:]+$"},
        "to": {"type": "string", "pattern": r"^[^:]+:[^:]+$"},
    },
}

_FLOW = {
    "type": "object",
    "required": ["id", "nodes"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": {"type": "string"},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "mode": {"enum": list(FLOW_MODES)},
        "shadow_of": _ID,
        "nodes": {"type": "array", "items": _NODE},
        "wires": {"type": "array", "items": _WIRE},
    },
}

_PAIR = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}

_ASSET_TAG = {
    "type": "object",
    "required": ["tag"],
    "additionalProperties": False,
    "properties": {
        "tag": {"type": "string", "minLength": 1},
        "label": {"type": "string"},
        "role": {"enum": list(ROLES)},
        "range": _PAIR,
        "normal": _PAIR,
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: _NUMBER for name in LIMIT_ORDER},
        },
    },
}

_HEALTH = {
    "type": "object",
    "required": ["range", "warn", "alarm"],
    "additionalProperties": False,
    "properties": {
        "tag": {"type": "string", "minLength": 1},
        "flow": {"type": "string", "minLength": 1},
        "output": {"type": "string", "pattern": r"^[^:]+:[^:]+$"},
        "label": {"type": "string"},
        "range": _PAIR,
        "warn": _NUMBER,
        "alarm": _NUMBER,
    },
}

_ASSET = {
    "type": "object",
    "required": ["id", "name", "tags"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": _ASSET_TAG},
        "health": _HEALTH,
    },
}

PROJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "connections", "tags", "flows"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "connections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"enum": list(CONNECTION_KINDS)}},
                "if": {"properties": {"kind": {"const": "opcua"}}},
                "then": _OPCUA,
                "else": _MODBUS,
            },
        },
        "tags": {"type": "array", "items": _TAG},
        "flows": {"type": "array", "items": _FLOW},
        "assets": {"type": "array", "items": _ASSET},
    },
}
