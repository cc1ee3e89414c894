"""The API's operations, one module per area (session, project, plant, connections,
history, alarms, line, models, system); runtime.api.operations lists them in one table."""

from __future__ import annotations

import functools
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any


def as_json(record: Any) -> Any:
    """A record (a dataclass, maybe with slots) as JSON-ready data; paths become text."""
    if is_dataclass(record) and not isinstance(record, type):
        return {name: as_json(getattr(record, name)) for name in _field_names(type(record))}
    if isinstance(record, Path):
        return str(record)
    if isinstance(record, tuple | list):
        return [as_json(item) for item in record]
    if isinstance(record, dict):
        return {key: as_json(value) for key, value in record.items()}
    return record


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))
