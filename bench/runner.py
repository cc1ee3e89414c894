"""Runs benchmark modules, judges their goals, prints the table and merges the results file.

One benchmark failing never stops the others; the results of those that ran are written.
Exit status: 0 all ran and met their goals (missing peers included), 1 a benchmark failed,
3 every benchmark ran but a goal was missed (2 is argparse's usage error).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Benchmark, Context, Unavailable

PASS, FAIL, MISSING, ERROR, NONE = "pass", "FAIL", "missing", "ERROR", "-"


@dataclass
class Outcome:
    """What one benchmark run produced: its numbers, or why it has none."""

    name: str
    values: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    missing: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Row:
    """A line of the results table."""

    metric: str
    value: str
    unit: str
    goal: str
    ratio: str
    result: str


def select(benchmarks: Sequence[Benchmark], names: Sequence[str]) -> list[Benchmark]:
    """The benchmarks named (a name selects itself and everything under it, `peer` →
    `peer.node_red`); all of them when no name is given. Raises ValueError on an unknown name."""
    if not names:
        return list(benchmarks)
    unknown = [n for n in names if not any(_under(b.NAME, n) for b in benchmarks)]
    if unknown:
        known = ", ".join(b.NAME for b in benchmarks)
        raise ValueError(f"unknown benchmark {', '.join(unknown)}; known: {known}")
    return [b for b in benchmarks if any(_under(b.NAME, n) for n in names)]


def run_all(benchmarks: Sequence[Benchmark], ctx: Context) -> list[Outcome]:
    """Run each benchmark, catching its failure so the next one still runs."""
    outcomes = []
    for bench in benchmarks:
        print(f"[{bench.NAME}] running", file=sys.stderr, flush=True)
        outcome = Outcome(bench.NAME)
        start = time.monotonic()
        try:
            outcome.values = _numbers(bench.NAME, bench.run(ctx))
        except Unavailable as exc:
            outcome.missing = str(exc)
            print(f"[{bench.NAME}] MISSING: {exc}", file=sys.stderr, flush=True)
        except Exception as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            print(f"[{bench.NAME}] FAILED: {outcome.error}", file=sys.stderr, flush=True)
        outcome.seconds = time.monotonic() - start
        outcomes.append(outcome)
    return outcomes


def table(benchmarks: Sequence[Benchmark], outcomes: Sequence[Outcome],
          stored: dict[str, float]) -> list[Row]:
    """Rows for every metric and ratio of the benchmarks run.

    A ratio may use a metric of a benchmark not run this time: then the stored value is
    used and the ratio is marked "(stored)". A metric of a benchmark that ran but failed is
    never taken from the store.
    """
    by_name = {o.name: o for o in outcomes}
    current = {k: v for o in outcomes for k, v in o.values.items()}
    measured_here = {m.name for b in benchmarks for m in b.METRICS}
    elsewhere = {k: v for k, v in stored.items() if k not in measured_here}
    rows: list[Row] = []
    for bench in benchmarks:
        outcome = by_name[bench.NAME]
        for metric in bench.METRICS:
            value = current.get(metric.name)
            if value is None:
                result = ERROR if outcome.error else MISSING
                rows.append(Row(metric.name, "", metric.unit, metric.goal, "", result))
                continue
            verdict = metric.judge(value)
            result = NONE if verdict is None else PASS if verdict else FAIL
            rows.append(Row(metric.name, _number(value), metric.unit, metric.goal, "", result))
        for ratio in bench.RATIOS:
            num = current.get(ratio.numerator, elsewhere.get(ratio.numerator))
            den = current.get(ratio.denominator, elsewhere.get(ratio.denominator))
            note = "" if {ratio.numerator, ratio.denominator} <= current.keys() else " (stored)"
            if num is None or den is None or den == 0:
                rows.append(Row(ratio.label, "", "", _goal(ratio.at_least, "x"), "", MISSING))
                continue
            value = num / den
            result = NONE if ratio.at_least is None else (
                PASS if value >= ratio.at_least else FAIL)
            rows.append(Row(ratio.label, "", "", _goal(ratio.at_least, "x"),
                            f"{value:.2f}x{note}", result))
    return rows


def render(rows: Sequence[Row]) -> str:
    """The table as aligned text."""
    head = Row("metric", "value", "unit", "goal", "ratio", "result")
    cells = [head, *rows]
    widths = [max(len(getattr(r, f)) for r in cells) for f in Row.__dataclass_fields__]
    lines = []
    for i, row in enumerate(cells):
        values = [getattr(row, f) for f in Row.__dataclass_fields__]
        lines.append("  ".join(v.rjust(w) if f in ("value", "ratio") else v.ljust(w)
                               for v, w, f in zip(values, widths, Row.__dataclass_fields__,
                                                  strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load_results(path: Path) -> dict[str, float]:
    """The stored results, or nothing when the file is absent or not a JSON object."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, (int, float))}


def write_results(path: Path, values: dict[str, float]) -> dict[str, float]:
    """Merge `values` into the stored results (other keys are kept) and write atomically."""
    merged = {**load_results(path), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return merged


def main(benchmarks: Sequence[Benchmark], ctx: Context, names: Sequence[str] = ()) -> int:
    """Run the named benchmarks (all by default), print the table, write the results."""
    chosen = select(benchmarks, names)
    stored = load_results(ctx.results)
    outcomes = run_all(chosen, ctx)
    rows = table(chosen, outcomes, stored)
    print()
    print(render(rows))
    measured = {k: v for o in outcomes for k, v in o.values.items()}
    if measured:
        write_results(ctx.results, measured)
        print(f"\nwrote {len(measured)} metrics to {ctx.results}")
    for o in outcomes:
        if o.error:
            print(f"FAILED {o.name}: {o.error}")
        elif o.missing:
            print(f"MISSING {o.name}: {o.missing}")
    if any(o.error for o in outcomes):
        return 1
    return 3 if any(r.result == FAIL for r in rows) else 0


def _under(name: str, selector: str) -> bool:
    return name == selector or name.startswith(selector + ".")


def _numbers(name: str, values: dict[str, float]) -> dict[str, float]:
    """The values a benchmark returned, checked to be finite numbers."""
    bad = {k: v for k, v in values.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v}
    if bad:
        raise TypeError(f"benchmark {name} returned non-numbers: {bad}")
    return {k: float(v) for k, v in values.items()}


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _goal(at_least: float | None, unit: str) -> str:
    return "" if at_least is None else f"≥ {at_least:g}{unit}"
