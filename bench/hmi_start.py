"""The HMI's cold start: from `lineside` launched to the first live value painted, with the
demo runtime already running on the simulated plant (offscreen, 1280x800).

Each start is a new process, timed from its launch to its log line
`hmi.first_value_painted` (written after a synchronous repaint of the window that shows the
value); the median of STARTS counts.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.local import runtime_command, start_runtime, stop_runtime
from bench.harness import Context, Metric

NAME = "hmi_start"
STARTS = 7
START_TIMEOUT_S = 30.0
MARK = b"hmi.first_value_painted"

METRICS = (
    Metric("ui.cold_start_s", "s", at_most=2.0),
    Metric("ui.cold_start_max_s", "s"),
)
RATIOS = ()


def run(ctx: Context) -> dict[str, float]:
    """Start the demo runtime, then the HMI STARTS times; the median and the slowest."""
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        times = asyncio.run(_starts(Path(tmp)))
    return {"ui.cold_start_s": statistics.median(times), "ui.cold_start_max_s": max(times)}


async def _starts(folder: Path) -> list[float]:
    runtime = await start_runtime(runtime_command(None, folder, demo=True), folder)
    try:
        return [await _one_start(folder) for _ in range(STARTS)]
    finally:
        await stop_runtime(runtime.pid)


async def _one_start(folder: Path) -> float:
    """Seconds from launching `lineside` to its first live value painted."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    launched = time.monotonic()
    hmi = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.main", "--data-dir", str(folder),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env=env)
    assert hmi.stderr is not None
    try:
        while True:
            line = await asyncio.wait_for(hmi.stderr.readline(), START_TIMEOUT_S)
            if not line:
                raise RuntimeError(f"lineside exited ({await hmi.wait()}) before it painted "
                                   "a live value")
            if MARK in line:
                return time.monotonic() - launched
    finally:
        hmi.kill()
        await hmi.wait()
