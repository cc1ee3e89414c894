"""The HMI's Trends page, offscreen at 1280x800, each measurement in a process of its own
(the HMI alone in it, as `lineside` runs):

- `ui.trend16_fps_p50`: 16 pens (four units) holding a 10-minute window of samples at 10 Hz;
  a frame is one new sample per pen through the link's `tag_value` signal (10 Hz data at
  one frame per 0.1 s of trend time), the plot's redraw and a synchronous repaint of the
  whole page; frames per second from the median frame time of FRAMES frames after WARMUP.
  The feed is synthetic so the frames are the page's work only; goal >= 60.
- `ui.rss_mb`: the HMI's resident memory after RSS_S (default 600 s; `--ui-rss-s` for a
  short run) on the Trends page with 16 live pens: the simulated plant's synthetic tags at
  10 Hz through a real runtime process, a 10-minute window following now; goal <= 250.

`python -m bench ui --soak 30` runs the soak instead (not in CI): the same page for 30
minutes, the RSS at 1, 10 and 30 minutes, and a failure if the HMI dies or a pen stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchError, Context, Metric, WrongResults

NAME = "ui"
ROOT = Path(__file__).resolve().parents[1]
PENS = 16
UNITS = ("mm/s", "°C", "Hz", "bar")
WINDOW_S = 600.0
RATE_HZ = 10.0
FRAMES = 300
WARMUP = 30
RSS_S = 600.0
SOAK_CHECKPOINTS_MIN = (1, 10, 30)
PUBLISHING_MS = 100
CHILD_TIMEOUT_S = 120.0

METRICS = (
    Metric("ui.trend16_fps_p50", "fps", at_least=60),
    Metric("ui.trend16_frame_p50_ms", "ms"),
    Metric("ui.rss_mb", "MB", at_most=250),
)
RATIOS = ()


def run(ctx: Context) -> dict[str, float]:
    """Frames per second, then the RSS after `ctx.ui_rss_s`; metric name → number."""
    fps = _child(["fps"], CHILD_TIMEOUT_S)
    ctx.note(NAME, f"frame p50 {fps['p50_ms']:.2f} ms ({1000 / fps['p50_ms']:.1f} fps), "
                   f"p90 {fps['p90_ms']:.2f} ms, CPU p50 {fps['cpu_p50_ms']:.2f} ms (the "
                   f"wall time less waits for a busy core); {fps['points']} points a frame")
    seconds = ctx.ui_rss_s
    ctx.note(NAME, f"16 live pens for {seconds:g} s ...")
    rss = _child(["rss", str(seconds), str(seconds)], seconds + CHILD_TIMEOUT_S)
    ctx.note(NAME, f"RSS {rss['rss_mb']} MB; samples per pen ≥ {rss['min_samples']}")
    return {
        "ui.trend16_fps_p50": round(1000 / fps["p50_ms"], 1),
        "ui.trend16_frame_p50_ms": round(fps["p50_ms"], 2),
        "ui.rss_mb": rss["rss_mb"][-1],
    }


def soak(minutes: float) -> int:
    """The soak run: print the RSS at each checkpoint up to `minutes`; the exit status."""
    marks = [m * 60.0 for m in SOAK_CHECKPOINTS_MIN if m <= minutes] or [minutes * 60.0]
    print(f"soak: the Trends page with {PENS} live pens for {minutes:g} min", flush=True)
    result = _child(["rss", str(minutes * 60.0), *map(str, marks)], minutes * 60.0 + 300)
    for mark, rss in zip(marks, result["rss_mb"], strict=True):
        print(f"  RSS after {mark / 60:g} min: {rss} MB", flush=True)
    print(f"  samples per pen at least {result['min_samples']}; no crash", flush=True)
    return 0


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run this module as a child process (`python -m bench.ui ARGS`); its JSON result."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "bench.ui", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise BenchError(f"bench.ui {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- in the child process -------------------------------------------------------------------


def _window(tags: list[dict[str, Any]]) -> tuple[Any, Any, Any, Any]:
    """A QApplication, a link, the main window at 1280x800 showing Trends with every tag
    of `tags` picked (over a 10-minute window)."""
    from PySide6.QtWidgets import QApplication

    from ui.link import Link
    from ui.window import MainWindow, apply_font

    app = QApplication.instance() or QApplication([])
    apply_font(app)
    link = Link()
    window = MainWindow(link)
    window.resize(1280, 800)
    window.show()
    page = window.page("trends")
    window.show_page(page)
    return app, link, window, page


def _fps() -> dict[str, Any]:
    import numpy as np

    tags = [{"id": f"Synth.{i:04d}", "unit": UNITS[i % len(UNITS)]} for i in range(PENS)]
    app, link, _, page = _window(tags)
    link.tags = tags
    link.tags_defined.emit(tags)
    now = [float(int(time.time()))]
    page.trend.clock = lambda: now[0]
    page.trend.set_span(WINDOW_S)
    for tag in tags:
        page.pick(tag["id"])
    app.processEvents()
    rng = np.random.default_rng(1)
    step = 1.0 / RATE_HZ

    def value(i: int, ts: float) -> float:
        return float(10 * (i % 4 + 1) + 5 * np.sin(ts / 30 + i) + rng.normal() * 0.3)

    start = now[0] - WINDOW_S
    for k in range(int(WINDOW_S * RATE_HZ)):
        ts = start + k * step
        for i, tag in enumerate(tags):
            link.tag_value.emit(tag["id"], ts, value(i, ts), 0)

    def frame() -> None:
        now[0] += step
        for i, tag in enumerate(tags):
            link.tag_value.emit(tag["id"], now[0], value(i, now[0]), 0)
        if not page.plot.redraw():
            raise WrongResults("a frame with new samples did not redraw")
        page.repaint()

    times, cpu = [], []
    for n in range(WARMUP + FRAMES):
        began, began_cpu = time.perf_counter(), time.thread_time()
        frame()
        if n >= WARMUP:
            times.append((time.perf_counter() - began) * 1000)
            cpu.append((time.thread_time() - began_cpu) * 1000)
    points = sum(sum(p.size() for p in c.polylines) for c in page.plot.curves.values())
    in_window = [len(p.series.live.window(page.trend.start, page.trend.end)[0])
                 for p in page.trend.ordered()]
    if min(in_window) < WINDOW_S * RATE_HZ * 0.95 or points < PENS * 100:
        raise WrongResults(f"the pens did not hold the window: {in_window}, {points} points")
    return {"p50_ms": statistics.median(times), "cpu_p50_ms": statistics.median(cpu),
            "p90_ms": statistics.quantiles(times, n=10)[-1], "points": points}


def _project(endpoints: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "lineside.project/1", "name": "ui bench",
        "connections": [{"id": "plc", "kind": "opcua", "endpoint": endpoints["opcua_url"],
                         "publishing_interval_ms": PUBLISHING_MS}],
        "tags": [{"id": f"Synth.{i:04d}", "connection": "plc",
                  "address": f"ns=2;s=Synth.{i:04d}", "type": "float64",
                  "unit": UNITS[i % len(UNITS)]} for i in range(PENS)],
        "flows": [],
    }


async def _live(seconds: float, marks: list[float]) -> dict[str, Any]:
    import psutil

    from app.local import find_runtime
    from tests.runtime_process import RuntimeProcess, running
    from ui.link import Target

    app, link, _, page = _window([])
    sim = subprocess.Popen(  # noqa: ASYNC220  (started once, before anything is timed)
        [sys.executable, "-m", "runtime.sim", "--opcua-port", "0", "--modbus-port", "0",
         "--extra-tags", str(PENS), "--tick", str(1 / RATE_HZ), "--exit-with-parent"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    try:
        endpoints = json.loads(sim.stdout.readline())  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as tmp:
            handle = RuntimeProcess.prepare(Path(tmp), _project(endpoints),
                                            node_id="bench-ui")
            async with running(handle) as runtime:
                found = find_runtime(runtime.data_dir)
                link.attach(Target(found.url, found.credentials, found.fingerprint))
                deadline = time.monotonic() + 60
                while link.stale or len(link.tags) < PENS:
                    if time.monotonic() > deadline:
                        raise BenchError("the HMI did not connect to the runtime")
                    await asyncio.sleep(0.1)
                page.trend.set_span(WINDOW_S)
                for tag in link.tags:
                    page.pick(tag["id"])
                began = time.monotonic()
                counts = {tag: 0 for tag in page.trend.pens}
                link.tag_value.connect(lambda tag, *_: counts.__setitem__(
                    tag, counts.get(tag, 0) + 1))
                rss = []
                process = psutil.Process()
                for mark in marks:
                    await asyncio.sleep(max(0.0, began + mark - time.monotonic()))
                    rss.append(round(process.memory_info().rss / 2**20, 1))
                    print(f"rss after {mark:g} s: {rss[-1]} MB", file=sys.stderr, flush=True)
                await asyncio.sleep(max(0.0, began + seconds - time.monotonic()))
                if min(counts.values()) < seconds * 1.0:
                    raise WrongResults(f"pens stopped updating: {counts}")
                await page.trend.close()
                await link.close()
    finally:
        sim.terminate()
        sim.wait(15)
    del app
    return {"rss_mb": rss, "min_samples": min(counts.values())}


def _main(argv: list[str]) -> int:
    if argv[0] == "fps":
        result = _fps()
    else:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            result = loop.run_until_complete(_live(float(argv[1]),
                                                   [float(m) for m in argv[2:]]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
