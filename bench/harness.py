"""The interface every benchmark module implements, and the helpers they share.

A benchmark module exposes `NAME`, `METRICS`, `RATIOS` and `run(ctx) -> dict[str, float]`
and is listed once in `bench/__main__.py`. `run` returns measured numbers only; goals are
metadata the runner judges, so a module never prints pass or fail itself.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Metric:
    """A number a benchmark reports, its unit and, optionally, a floor or a ceiling."""

    name: str
    unit: str
    at_least: float | None = None
    at_most: float | None = None

    def judge(self, value: float) -> bool | None:
        """Whether `value` meets the goal (None when the metric has no goal)."""
        if self.at_least is None and self.at_most is None:
            return None
        return ((self.at_least is None or value >= self.at_least)
                and (self.at_most is None or value <= self.at_most))

    @property
    def goal(self) -> str:
        """The goal as text, e.g. "≥ 500000" or "≤ 150"."""
        parts = []
        if self.at_least is not None:
            parts.append(f"≥ {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most:g}")
        return " ".join(parts)


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator, judged against `at_least` (None: shown, not judged).

    The two metrics may come from different benchmark modules.
    """

    label: str
    numerator: str
    denominator: str
    at_least: float | None = None


@dataclass(frozen=True)
class Context:
    """Where things are and how much to measure; one per `python -m bench` run."""

    repo: Path
    shared: Path
    cache: Path
    results: Path
    cpu: int
    samples: int = 200_000
    repeats: int = 3
    ui_rss_s: float = 600.0
    """How long the HMI runs the Trends page before its memory is read (bench/ui.py)."""

    @classmethod
    def default(cls, samples: int = 200_000, repeats: int = 3,
                ui_rss_s: float = 600.0) -> Context:
        """The context of this checkout: shared/ beside the repository, the last allowed CPU."""
        return cls(
            repo=REPO,
            shared=(REPO / ".." / "shared").resolve(),
            cache=REPO / "bench" / "cache",
            results=REPO / "bench" / "results" / "latest.json",
            cpu=max(os.sched_getaffinity(0)),
            samples=samples,
            repeats=repeats,
            ui_rss_s=ui_rss_s,
        )

    def note(self, name: str, text: str) -> None:
        """A progress line on stderr, kept apart from the results table on stdout."""
        print(f"  {name}: {text}", file=sys.stderr, flush=True)


class Benchmark(Protocol):
    """What a benchmark module provides (modules satisfy this structurally)."""

    NAME: str
    METRICS: tuple[Metric, ...]
    RATIOS: tuple[Ratio, ...]

    def run(self, ctx: Context) -> dict[str, float]:
        """Measure and return metric name → number; raise on wrong results."""
        ...


class BenchError(Exception):
    """A benchmark could not produce a trustworthy number; the message says why."""


class WrongResults(BenchError):
    """The measured code computed something other than the reference: the speed is void."""


class Unavailable(BenchError):
    """Something the benchmark needs (a peer, a tool, the network) is not there.

    Its metrics are reported missing with this message; the run does not count as failed.
    """


@contextmanager
def pinned_to_cpu(cpu: int) -> Iterator[None]:
    """Run the calling thread on one CPU only, restoring its previous CPU set afterwards."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def best_rate(count: int, repeats: int, prepare: Callable[[], Callable[[], object]],
              check: Callable[[object], None]) -> float:
    """The best of `repeats` rates (count / seconds) of a freshly prepared run.

    `prepare` builds fresh state outside the timed region and returns the timed callable;
    `check` verifies what that callable returned and raises WrongResults if it is wrong,
    so no rate is reported for a run that computed the wrong thing.
    """
    best = 0.0
    for _ in range(repeats):
        timed = prepare()
        gc.collect()
        start = time.perf_counter()
        outcome = timed()
        elapsed = time.perf_counter() - start
        check(outcome)
        best = max(best, count / elapsed)
    return best
