"""The project document: connections, tags and flows, versioned and deployed as one.

The document on disk and on the wire is plain JSON. `Project.from_dict` turns a document
that passed `validate_project` into frozen dataclasses; `to_dict` gives the JSON back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_ID = "lineside.project/1"

TAG_TYPES = ("bool", "int16", "uint16", "int32", "uint32", "float32", "float64", "string")
FLOW_MODES = ("live", "shadow")
CONNECTION_KINDS = ("opcua", "modbus")
# OPC UA security policies the runtime offers (the driver has asyncua's class for each);
# the deprecated Basic128Rsa15 and Basic256 are left out on purpose.
SECURITY_POLICIES = ("None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss")
SECURITY_MODES = ("None", "Sign", "SignAndEncrypt")


@dataclass(frozen=True, slots=True)
class Security:
    """OPC UA security: policy, mode, client certificate and key, trusted server certificate."""

    policy: str = "None"
    mode: str = "None"
    certificate: str = ""
    private_key: str = ""
    server_certificate: str = ""


@dataclass(frozen=True, slots=True)
class OpcUaConnection:
    """An OPC UA server endpoint; one hub (session) per connection."""

    id: str
    endpoint: str
    publishing_interval_ms: int = 100
    timeout_s: float = 4.0
    watchdog_s: float = 1.0
    security: Security = field(default_factory=Security)
    username: str = ""
    password: str = field(default="", repr=False)
    kind: str = "opcua"


@dataclass(frozen=True, slots=True)
class ModbusConnection:
    """A Modbus TCP device; one hub (socket) per connection."""

    id: str
    host: str
    port: int = 502
    unit_id: int = 1
    poll_ms: int = 1000
    timeout_ms: int = 1000
    kind: str = "modbus"


Connection = OpcUaConnection | ModbusConnection


@dataclass(frozen=True, slots=True)
class Envelope:
    """The limits a writable tag may be written within."""

    min: float
    max: float
    max_step: float | None = None
    min_interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Scaling:
    """Linear scaling from raw PLC units to engineering units."""

    raw_min: float
    raw_max: float
    eng_min: float
    eng_max: float

    def to_eng(self, raw: float) -> float:
        """Engineering value of a raw value."""
        span = self.raw_max - self.raw_min
        return self.eng_min + (raw - self.raw_min) * (self.eng_max - self.eng_min) / span

    def to_raw(self, eng: float) -> float:
        """Raw value of an engineering value (for writes)."""
        span = self.eng_max - self.eng_min
        return self.raw_min + (eng - self.eng_min) * (self.raw_max - self.raw_min) / span


@dataclass(frozen=True, slots=True)
class Tag:
    """A named value on a connection; writable tags carry an envelope."""

    id: str
    connection: str
    address: str
    type: str = "float32"
    unit: str = ""
    description: str = ""
    scaling: Scaling | None = None
    deadband: float = 0.0
    byte_order: str = "big"
    word_order: str = "big"
    writable: bool = False
    envelope: Envelope | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a flow: a type, its version and parameters, and where it sits on screen."""

    id: str
    type: str
    version: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Wire:
    """A wire from an output port of one node to an input port of another."""

    source: str
    source_port: str
    target: str
    target_port: str

    @classmethod
    def parse(cls, source: str, target: str) -> Wire:
        """A wire from its two "node:port" ends."""
        s_node, _, s_port = source.partition(":")
        t_node, _, t_port = target.partition(":")
        return cls(s_node, s_port, t_node, t_port)


@dataclass(frozen=True, slots=True)
class Flow:
    """A graph of nodes and wires; live flows act, shadow flows only record."""

    id: str
    label: str = ""
    enabled: bool = True
    mode: str = "live"
    shadow_of: str = ""
    """For a shadow flow: the live flow it is a changed copy of (compared with, promoted
    into)."""
    nodes: tuple[Node, ...] = ()
    wires: tuple[Wire, ...] = ()


@dataclass(frozen=True, slots=True)
class Project:
    """A whole project document, parsed."""

    name: str
    connections: tuple[Connection, ...]
    tags: tuple[Tag, ...]
    flows: tuple[Flow, ...]
    schema: str = SCHEMA_ID
    source: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Project:
        """Parse a document that passed validation (see runtime.contracts.validation)."""
        return cls(
            name=doc.get("name", ""),
            schema=doc["schema"],
            connections=tuple(connection_from_dict(c) for c in doc.get("connections", [])),
            tags=tuple(_tag(t) for t in doc.get("tags", [])),
            flows=tuple(_flow(f) for f in doc.get("flows", [])),
            source=json.loads(json.dumps(doc)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document this project was parsed from."""
        return json.loads(json.dumps(self.source))

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the document."""
        return document_hash(self.source)

    def tag(self, tag_id: str) -> Tag:
        """The tag with this id (KeyError when there is none)."""
        for tag in self.tags:
            if tag.id == tag_id:
                return tag
        raise KeyError(tag_id)

    def tags_by_id(self) -> dict[str, Tag]:
        """All tags keyed by id."""
        return {t.id: t for t in self.tags}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, for hashing and comparison."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_hash(doc: dict[str, Any]) -> str:
    """SHA-256 hex digest of a document's canonical JSON."""
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def connection_from_dict(c: dict[str, Any]) -> Connection:
    """A connection object that passed validation, parsed (defaults filled in)."""
    if c["kind"] == "opcua":
        sec = c.get("security") or {}
        return OpcUaConnection(
            id=c["id"],
            endpoint=c["endpoint"],
            publishing_interval_ms=int(c.get("publishing_interval_ms", 100)),
            timeout_s=float(c.get("timeout_s", 4.0)),
            watchdog_s=float(c.get("watchdog_s", 1.0)),
            security=Security(
                policy=sec.get("policy", "None"),
                mode=sec.get("mode", "None"),
                certificate=sec.get("certificate", ""),
                private_key=sec.get("private_key", ""),
                server_certificate=sec.get("server_certificate", ""),
            ),
            username=c.get("username", ""),
            password=c.get("password", ""),
        )
    return ModbusConnection(
        id=c["id"],
        host=c["host"],
        port=int(c.get("port", 502)),
        unit_id=int(c.get("unit_id", 1)),
        poll_ms=int(c.get("poll_ms", 1000)),
        timeout_ms=int(c.get("timeout_ms", 1000)),
    )


def _tag(t: dict[str, Any]) -> Tag:
    scaling = t.get("scaling")
    envelope = t.get("envelope")
    return Tag(
        id=t["id"],
        connection=t["connection"],
        address=t["address"],
        type=t.get("type", "float32"),
        unit=t.get("unit", ""),
        description=t.get("description", ""),
        scaling=Scaling(**scaling) if scaling else None,
        deadband=float(t.get("deadband", 0.0)),
        byte_order=t.get("byte_order", "big"),
        word_order=t.get("word_order", "big"),
        writable=bool(t.get("writable", False)),
        envelope=Envelope(
            min=float(envelope["min"]),
            max=float(envelope["max"]),
            max_step=None if envelope.get("max_step") is None else float(envelope["max_step"]),
            min_interval_s=float(envelope.get("min_interval_s", 0.0)),
        )
        if envelope
        else None,
    )


def _flow(f: dict[str, Any]) -> Flow:
    return Flow(
        id=f["id"],
        label=f.get("label", ""),
        enabled=bool(f.get("enabled", True)),
        mode=f.get("mode", "live"),
        shadow_of=f.get("shadow_of", ""),
        nodes=tuple(
            Node(
                id=n["id"],
                type=n["type"],
                version=int(n.get("version", 1)),
                params=dict(n.get("params", {})),
                ui=dict(n.get("ui", {})),
            )
            for n in f.get("nodes", [])
        ),
        wires=tuple(Wire.parse(w["from"], w["to"]) for w in f.get("wires", [])),
    )
