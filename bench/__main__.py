"""`python -m bench [NAME ...] [--samples N] [--repeats R]`: run the benchmarks.

Every benchmark module is listed once in BENCHMARKS; a new one exposes NAME, METRICS,
RATIOS and run(ctx) (see bench/harness.py) and is added here.
"""

from __future__ import annotations

import argparse
import sys

from bench import (
    ai,
    api,
    backtest,
    engine_chain,
    expression,
    hmi_start,
    load,
    node_red,
    reflex,
    store,
    sync,
    ui,
    ui_rules,
)
from bench.harness import Benchmark, Context
from bench.runner import main, select

BENCHMARKS: list[Benchmark] = [engine_chain, node_red, reflex, load, store, sync, ai, backtest,
                               expression, api, hmi_start, ui, ui_rules]


def cli(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen benchmarks; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run Lineside's benchmarks. Exit status 1: a benchmark failed; "
                    "3: a goal was missed; a missing peer (no npm) is reported, not failed.")
    parser.add_argument("names", nargs="*",
                        help="benchmarks to run, e.g. engine or peer (default: all): "
                             + ", ".join(b.NAME for b in BENCHMARKS))
    parser.add_argument("--samples", type=int, default=200_000,
                        help="samples per chain run (default 200000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repetitions, the best one counts (default 3)")
    parser.add_argument("--ui-rss-s", type=float, default=600.0,
                        help="seconds on the Trends page before ui.rss_mb is read "
                             "(default 600)")
    parser.add_argument("--soak", type=float, metavar="MINUTES",
                        help="with `ui`: the Trends page with 16 live pens for MINUTES, the "
                             "RSS at 1, 10 and 30 minutes (not in CI)")
    args = parser.parse_args(argv)
    if args.soak is not None:
        if args.names != ["ui"]:
            parser.error("--soak is for the ui benchmark: python -m bench ui --soak 30")
        return ui.soak(args.soak)
    try:
        select(BENCHMARKS, args.names)
    except ValueError as exc:
        parser.error(str(exc))
    return main(BENCHMARKS, Context.default(args.samples, args.repeats, args.ui_rss_s),
                args.names)


if __name__ == "__main__":
    sys.exit(cli())
