"""The write guard: a write happens only inside its tag's envelope, in automatic mode,
on good input, and it fails closed. Written once, used by live runs, shadow runs and
backtests alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from runtime.contracts import GOOD, LineMode, Tag, WriteRefused


class Rule:
    """Which rule refused a write: stable names, so a refusal is recorded once per change
    of rule while its text may name changing values."""

    NOT_WRITABLE = "not_writable"
    BAD_ENVELOPE = "bad_envelope"
    MANUAL = "manual"
    INPUT_QUALITY = "input_quality"
    NOT_FINITE = "not_finite"
    MIN_INTERVAL = "min_interval"
    NO_READ_BACK = "no_read_back"
    OUT_OF_REACH = "out_of_reach"


@dataclass(frozen=True, slots=True)
class WriteDecision:
    """What the guard allows: the value to write (maybe clamped), or, with value None, why it
    refused (`refused`: plain text for the operator; `rule`: which Rule refused)."""

    value: float | None
    clamped: bool = False
    refused: str = ""
    rule: str = ""


def guard_write(tag: Tag, requested: float, quality: int, line_mode: str, ts: float, *,
                read_back: Any, read_back_quality: int | None,
                last_write_ts: float | None) -> WriteDecision:
    """Decide a rule's write: the value lies in [min, max] and, with a max_step, within
    ±max_step of the tag's good read-back; anything that cannot be made so is refused.

    `read_back` and `read_back_quality` are the latest value and quality read from the tag
    (None when none was read yet); the guard alone decides whether they can be stepped from.

    With a max_step and no good, finite read-back the write is refused. The alternative,
    stepping from the last value the runtime wrote while it is younger than the tag's stale
    limit, needs a stale limit, and tags have none: refusing is the safe choice, and the
    rule acts again as soon as the tag reads good.
    """
    envelope = tag.envelope
    if not tag.writable or envelope is None:
        return _refuse(Rule.NOT_WRITABLE, f"tag {tag.id} is not writable within an envelope")
    low, high, step = envelope.min, envelope.max, envelope.max_step
    if not (_finite(low) and _finite(high) and low <= high) or (
            step is not None and not (_finite(step) and step > 0)):
        return _refuse(Rule.BAD_ENVELOPE,
                       f"the write envelope of tag {tag.id} is not a valid range "
                       f"(min {_text(low)}, max {_text(high)}, max step {_text(step)})")
    if line_mode != LineMode.AUTOMATIC:
        return _refuse(Rule.MANUAL, "line is in manual mode")
    if quality != GOOD:
        return _refuse(Rule.INPUT_QUALITY, "input quality is not good")
    if not _finite(requested):
        return _refuse(Rule.NOT_FINITE,
                       f"requested value {_text(requested)} is not a finite number")
    if last_write_ts is not None and ts - last_write_ts < envelope.min_interval_s:
        return _refuse(Rule.MIN_INTERVAL,
                       f"less than {envelope.min_interval_s:g} s since the last write")
    if step is not None:
        if read_back_quality != GOOD or not _finite(read_back):
            return _refuse(Rule.NO_READ_BACK,
                           f"no good read-back of tag {tag.id} to step from "
                           f"(max step {step:g})")
        low, high = max(low, read_back - step), min(high, read_back + step)
        if low > high:
            return _refuse(Rule.OUT_OF_REACH,
                           f"read-back {read_back:g} of tag {tag.id} is more than the max "
                           f"step {step:g} outside the envelope {envelope.min:g} to "
                           f"{envelope.max:g}")
    value = float(min(max(requested, low), high))
    return WriteDecision(value, clamped=value != requested)


def _refuse(rule: str, reason: str) -> WriteDecision:
    return WriteDecision(None, refused=reason, rule=rule)


def _finite(value: Any) -> bool:
    """True for a real number that is neither NaN nor infinite (bools count as 0 and 1)."""
    try:
        return isinstance(value, int | float) and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _text(value: Any) -> str:
    """A number as an operator reads it (50, 0.5, nan, inf); 'none' for None."""
    if value is None:
        return "none"
    try:
        return f"{value:g}"
    except (TypeError, ValueError, OverflowError):
        return repr(value)


def check_person_write(tag: Tag, value: Any) -> float | bool:
    """The value a person may write to a tag: the tag must be writable within an envelope
    and the value a finite number inside [min, max] (a bool tag takes true or false). Max
    step and min interval pace rules, not people; the line mode does not apply either.
    WriteRefused says why not."""
    envelope = tag.envelope
    if not tag.writable or envelope is None:
        raise WriteRefused(tag.id, "the tag is not writable within an envelope")
    if tag.type == "bool":
        if not isinstance(value, bool):
            raise WriteRefused(tag.id, f"{value!r} is not true or false")
        return value
    if isinstance(value, bool) or not _finite(value):
        raise WriteRefused(tag.id, f"{_text(value)} is not a finite number")
    if not envelope.min <= value <= envelope.max:
        raise WriteRefused(tag.id, f"{value:g} is outside the envelope {envelope.min:g} to "
                                   f"{envelope.max:g}")
    return float(value)
