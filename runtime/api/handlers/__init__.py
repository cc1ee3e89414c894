"""The API's operations, one module per area (session, project, plant, connections,
history, alarms, line, models, system); runtime.api.operations lists them in one table."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any


def as_json(record: Any) -> Any:
    """A record (a dataclass, maybe with slots) as JSON-ready data; paths become text."""
    if is_dataclass(record) and not isinstance(record, type):
        return {f.name: as_json(getattr(record, f.name)) for f in fields(record)}
    if isinstance(record, Path):
        return str(record)
    if isinstance(record, tuple | list):
        return [as_json(item) for item in record]
    if isinstance(record, dict):
        return {key: as_json(value) for key, value in record.items()}
    return record
