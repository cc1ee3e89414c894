"""The write guard: a write happens only inside its tag's envelope, in automatic mode,
on good input. Written once, used by live runs, shadow runs and backtests alike."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.contracts import GOOD, LineMode, Tag


@dataclass(frozen=True, slots=True)
class WriteDecision:
    """What the guard allows: the value to write (maybe clamped), or why it refused."""

    value: float | None
    clamped: bool = False
    refused: str = ""


def guard_write(tag: Tag, requested: float, quality: int, line_mode: str, ts: float,
                current: float | None, last_write_ts: float | None) -> WriteDecision:
    """Decide a rule's write: clamp into [min, max] and ±max_step, refuse what may not go."""
    envelope = tag.envelope
    if not tag.writable or envelope is None:
        return WriteDecision(None, refused=f"tag {tag.id} is not writable within an envelope")
    if line_mode != LineMode.AUTOMATIC:
        return WriteDecision(None, refused="line is in manual mode")
    if quality != GOOD:
        return WriteDecision(None, refused="input quality is not good")
    if requested != requested:  # NaN
        return WriteDecision(None, refused="requested value is not a number")
    if last_write_ts is not None and ts - last_write_ts < envelope.min_interval_s:
        return WriteDecision(
            None, refused=f"less than {envelope.min_interval_s:g} s since the last write"
        )
    value = min(max(requested, envelope.min), envelope.max)
    if envelope.max_step is not None and current is not None and current == current:
        value = min(max(value, current - envelope.max_step), current + envelope.max_step)
    return WriteDecision(value, clamped=value != requested)
