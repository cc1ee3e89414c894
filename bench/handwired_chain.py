"""The reference chain as plain Python objects calling each other once per sample.

No engine, no batches, no validation: the ceiling of this interpreter for the chain, which
the engine's rate is compared with.
"""

from __future__ import annotations

from typing import Any, Protocol

from bench.reference_chain import (
    COMPARE_THRESHOLD,
    IN_MAX,
    IN_MIN,
    OFF_BELOW,
    ON_ABOVE,
    OUT_MAX,
    OUT_MIN,
    ChainCounts,
)
from runtime.contracts import GOOD

NAN = float("nan")


class Stage(Protocol):
    """A step of the chain: takes one sample and pushes its result to the next step."""

    def push(self, t: float, v: Any, q: int) -> None:
        """Handle one sample."""


class Source:
    """Passes samples on; a missing value becomes NaN, as in the engine's tag source."""

    __slots__ = ("next",)

    def __init__(self, next_stage: Stage) -> None:
        self.next = next_stage

    def push(self, t: float, v: Any, q: int) -> None:
        """Forward the sample."""
        self.next.push(t, NAN if v is None else v, q)


class Scale:
    """Linear map from the input range to the output range."""

    __slots__ = ("gain", "next", "offset")

    def __init__(self, next_stage: Stage) -> None:
        self.gain = (OUT_MAX - OUT_MIN) / (IN_MAX - IN_MIN)
        self.offset = OUT_MIN - IN_MIN * self.gain
        self.next = next_stage

    def push(self, t: float, v: Any, q: int) -> None:
        """Forward the scaled value."""
        self.next.push(t, v * self.gain + self.offset, q)


class Hysteresis:
    """On above the on level, off below the off level; only good samples change it."""

    __slots__ = ("next", "on")

    def __init__(self, next_stage: Stage) -> None:
        self.on = False
        self.next = next_stage

    def push(self, t: float, v: Any, q: int) -> None:
        """Forward the state after this sample."""
        if q == GOOD:
            if self.on:
                if v < OFF_BELOW:
                    self.on = False
            elif v > ON_ABOVE:
                self.on = True
        self.next.push(t, self.on, q)


class Compare:
    """True where the value equals the threshold."""

    __slots__ = ("next",)

    def __init__(self, next_stage: Stage) -> None:
        self.next = next_stage

    def push(self, t: float, v: Any, q: int) -> None:
        """Forward the comparison."""
        self.next.push(t, v == COMPARE_THRESHOLD, q)


class CountingSink:
    """Counts samples, samples with the alarm on, and alarm state changes."""

    __slots__ = ("alarm_samples", "last", "samples", "transitions")

    def __init__(self) -> None:
        self.samples = self.alarm_samples = self.transitions = 0
        self.last = False

    def push(self, t: float, v: Any, q: int) -> None:
        """Count the sample."""
        self.samples += 1
        if v:
            self.alarm_samples += 1
        if v != self.last:
            self.transitions += 1
            self.last = v

    def counts(self) -> ChainCounts:
        """What was counted so far."""
        return ChainCounts(self.samples, self.alarm_samples, self.transitions)


def build() -> tuple[Source, CountingSink]:
    """A fresh chain: its entry and its sink."""
    sink = CountingSink()
    return Source(Scale(Hysteresis(Compare(sink)))), sink


def feed(source: Source, ts: list[float], values: list[Any], quality: list[int]) -> None:
    """Push every sample through the chain, one call per sample."""
    push = source.push
    for t, v, q in zip(ts, values, quality, strict=True):
        push(t, v, q)
