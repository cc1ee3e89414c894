"""Messages that flow through the runtime: samples with quality, and events."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Quality(IntEnum):
    """Sample quality; a larger value is worse, so combining inputs takes the maximum."""

    GOOD = 0
    UNCERTAIN = 1
    STALE = 2
    BAD = 3

    @classmethod
    def parse(cls, text: str) -> Quality:
        """Quality from its name, case-insensitive ("good", "BAD", ...)."""
        return cls[text.upper()]


GOOD = int(Quality.GOOD)
BAD = int(Quality.BAD)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of one tag: source timestamp in epoch seconds, value and quality."""

    tag: str
    ts: float
    value: Any
    quality: int = GOOD


def moved(old: Any, new: Any, deadband: float) -> bool:
    """Report by exception: whether `new` is worth passing on after `old`.

    Numbers move when they differ by more than the deadband (with 0: when they differ at
    all; NaN only moves to or from a number); anything else moves when it is not equal.
    The drivers deliver, and the historian stores, by this one rule.
    """
    if not _is_number(old) or not _is_number(new):
        return old != new
    if math.isnan(old) or math.isnan(new):
        return not (math.isnan(old) and math.isnan(new))
    if deadband <= 0.0:
        return old != new
    return abs(new - old) > deadband


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class EventKind:
    """Kinds of events the engine emits (plain strings, stable on the wire)."""

    ALARM_RAISED = "alarm.raised"
    ALARM_CLEARED = "alarm.cleared"
    WRITE = "write"
    WRITE_REFUSED = "write.refused"
    LINE_MODE = "line_mode"
    FLOW_FAILED = "flow.failed"
    """A node of a flow raised an error not seen before in that flow (data: error, where)."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: an alarm raised or cleared, a write, a mode change."""

    kind: str
    ts: float
    flow: str
    node: str
    data: dict[str, Any] = field(default_factory=dict)
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """A rule's request to write a tag; the runtime executes it or refuses it."""

    tag: str
    value: float | int | bool
    ts: float
    flow: str
    node: str


class LineMode:
    """Line modes: rules may act in automatic; no AI-driven writes in manual."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"
    ALL = (AUTOMATIC, MANUAL)
