"""The reference chain every chain benchmark runs, and the counts it must produce.

Tag source emitting sin(i/100)*5+5 → scale 0..10 to 0..100 → hysteresis (on above 80, off
below 70) → compare == 1 (passes the alarm state) → counting sink. The same rule runs in
Node-RED as /work/shared/bench/node-red-chain.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from bench.harness import WrongResults
from runtime.contracts import GOOD

TAG = "P101.vibration"
BATCH = 500  # the chunk size of the Node-RED generator
IN_MIN, IN_MAX, OUT_MIN, OUT_MAX = 0.0, 10.0, 0.0, 100.0
ON_ABOVE, OFF_BELOW = 80.0, 70.0
COMPARE_THRESHOLD = 1


@dataclass(frozen=True)
class ChainCounts:
    """What a counting sink saw: samples, samples with the alarm on, alarm state changes."""

    samples: int
    alarm_samples: int
    transitions: int


def signal(n: int) -> tuple[list[float], list[float], list[int]]:
    """N samples of the reference signal as parallel lists: timestamps, values, qualities."""
    return ([float(i) for i in range(n)], [math.sin(i / 100) * 5 + 5 for i in range(n)],
            [GOOD] * n)


def batches(n: int, size: int) -> list[tuple[list[float], list[float], list[int]]]:
    """The reference signal cut into batches of `size` samples (the last may be shorter)."""
    ts, values, quality = signal(n)
    return [(ts[i:i + size], values[i:i + size], quality[i:i + size])
            for i in range(0, n, size)]


@lru_cache(maxsize=8)
def expected_counts(n: int) -> ChainCounts:
    """The counts the chain must produce for N samples, written as plainly as possible."""
    alarm = False
    alarm_samples = transitions = 0
    for i in range(n):
        scaled = OUT_MIN + (math.sin(i / 100) * 5 + 5 - IN_MIN) * (OUT_MAX - OUT_MIN) / (
            IN_MAX - IN_MIN)
        new = scaled > ON_ABOVE if not alarm else not scaled < OFF_BELOW
        if new != alarm:
            transitions += 1
        alarm = new
        alarm_samples += alarm == COMPARE_THRESHOLD
    return ChainCounts(n, alarm_samples, transitions)


def check_counts(what: str, got: ChainCounts, n: int) -> None:
    """Raise WrongResults naming the chain and the differing counts unless they match."""
    expected = expected_counts(n)
    if got != expected:
        raise WrongResults(f"{what} computed wrong results for {n} samples: expected "
                           f"{expected}, counted {got}")
