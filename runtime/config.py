"""The runtime configuration file: node identity, data folder, store budgets, broker.

TOML, read with the standard library's tomllib and checked with JSON Schema (jsonschema)
generated from the settings dataclasses, so the file accepts exactly their fields. Every
problem is reported with its place in the file; a bad file stops the runtime at start
with that list, before anything is opened.

    node_id = "panel-01"
    data_dir = "/var/lib/lineside"

    [store]
    historian_max_bytes = 4294967296
    outbox_max_age_s = 604800

    [broker]
    host = "broker.plant.local"
    port = 8883
    tls = true
    username = "line3"
    password_file = "/etc/lineside/broker-password"
"""

from __future__ import annotations

import functools
import socket
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformdirs import user_config_dir, user_data_dir

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

from runtime.api.config import ApiConfig
from runtime.contracts import LinesideError, Problem
from runtime.store.config import StoreConfig
from runtime.sync.config import BrokerConfig

DEFAULT_PATH = Path(user_config_dir("lineside", appauthor=False)) / "runtime.toml"
_JSON_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}


class ConfigError(LinesideError):
    """The configuration file has problems; the runtime did not start."""

    def __init__(self, path: Path | None, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        where = str(path) if path else "configuration"
        super().__init__("\n".join(f"{where}: {p.path}: {p.message}" for p in problems))


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything the runtime process needs besides the project document."""

    node_id: str = field(default_factory=socket.gethostname)
    data_dir: Path = field(default_factory=lambda: Path(user_data_dir("lineside",
                                                                      appauthor=False)))
    store: StoreConfig = field(default_factory=StoreConfig)
    broker: BrokerConfig | None = None
    api: ApiConfig = field(default_factory=ApiConfig)

    @property
    def database(self) -> Path:
        """The SQLite file in the data folder."""
        return self.data_dir / "lineside.db"


def _section_schema(cls: type, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for f in fields(cls):
        kinds = [_JSON_TYPES[t.strip()] for t in str(f.type).split("|")
                 if t.strip() in _JSON_TYPES]
        if kinds:
            properties[f.name] = {"type": kinds if len(kinds) > 1 else kinds[0]}
    properties.update(extra or {})
    required = [f.name for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "node_id": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"},
        "data_dir": {"type": "string", "minLength": 1},
        "store": _section_schema(StoreConfig),
        "broker": _section_schema(BrokerConfig, {"password_file": {"type": "string"}}),
        "api": _section_schema(ApiConfig),
    },
}


@functools.cache
def _validator() -> Draft202012Validator:
    # jsonschema is imported when a file is read, not when the module is: the HMI imports
    # this module at its start only to find the data folder.
    from jsonschema import Draft202012Validator
    return Draft202012Validator(_SCHEMA)


def load_config(path: Path | None) -> RuntimeConfig:
    """Read and check a configuration file; None (or a missing default file) → defaults."""
    if path is None:
        if not DEFAULT_PATH.exists():
            return RuntimeConfig()
        path = DEFAULT_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, [Problem("$", f"cannot read the file: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [Problem("$", f"not valid TOML: {exc}")]) from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> RuntimeConfig:
    """Check a configuration read from TOML and build the settings; raises ConfigError."""
    problems = [Problem(_dotted(e.absolute_path), _message(e))
                for e in sorted(_validator().iter_errors(raw), key=lambda e: list(e.path))]
    if problems:
        raise ConfigError(path, problems)
    defaults = RuntimeConfig()
    store = _build(StoreConfig, raw.get("store", {}), "store", path)
    broker_raw = dict(raw.get("broker", {}))
    password_file = broker_raw.pop("password_file", None)
    if password_file:
        try:
            broker_raw["password"] = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(path, [Problem("broker.password_file",
                                             f"cannot read {password_file}: "
                                             f"{exc.strerror}")]) from None
    node_id = raw.get("node_id", defaults.node_id)
    broker_raw.setdefault("client_id", f"lineside-{node_id}")
    broker = _build(BrokerConfig, broker_raw, "broker", path) if "broker" in raw else None
    api = _build(ApiConfig, raw.get("api", {}), "api", path)
    return RuntimeConfig(node_id=node_id,
                         data_dir=Path(raw.get("data_dir", defaults.data_dir)).expanduser(),
                         store=store, broker=broker, api=api)


def _build(cls: type, values: dict[str, Any], section: str, path: Path | None) -> Any:
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(path, [Problem(section, str(exc))]) from None


def _dotted(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "$"


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown setting(s) {', '.join(repr(x) for x in extra)}"
    if error.validator == "type":
        return f"must be of type {error.validator_value}, found {error.instance!r}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message
