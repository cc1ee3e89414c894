"""The Rules page's preview, end to end: a tunable moved on the page to its preview painted.

A runtime process (`lineside-runtime run`, as in production) runs the demo project on the
simulated plant (its own process), over a store seeded before it starts with 24 h of the
demo's ten tags at 1 Hz from the pump physics (bench/backtest.py's day: bearing wear in the
last quarter, so the health rule fires). The HMI's main window (offscreen, 1280x800) is
attached with the local token, on the Rules page, the demo's health flow (p101_health)
selected and the window set to a day; after one untimed preview, each timed move sets the
health threshold's slider one step and waits for the page to say its preview is drawn, then
repaints the window synchronously:

- `ui.preview_24h_s`: the median of PREVIEW_MOVES moves, goal <= 1 s;
- `ui.preview_24h_max_s`: the slowest move;
- `ui.preview_24h_backtest_s`: the runtime's own time for the replay within a move (its
  `elapsed_s`, median), the rest being the request, the events query and the drawing;
- `ui.preview_24h_draw_s`: the drawing alone (the page's trend given the same preview again,
  then the window repainted), median.

Every preview must replay the whole day (at least the seeded samples) with no node error,
carry the moved value, and the lowered threshold must raise the health alarm.

`python -m bench.ui_rules --screenshots DIR` renders the page with a preview on screen in
both themes at 1280x800 from the same scene.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.backtest import SIGNALS, fill, simulated
from bench.harness import BenchError, Context, Metric, WrongResults
from runtime.config import RuntimeConfig
from runtime.demo import SimProcess, demo_project, point_at_sim
from runtime.store import Store, StoreConfig
from tests.runtime_process import RuntimeProcess, running

NAME = "ui.rules"
DAY_S = 86_400
FLOW = "p101_health"
TUNABLE = ("abnormal", "on_above")
PREVIEW_MOVES = 7
LOADED_TIMEOUT_S = 60.0
PREVIEW_TIMEOUT_S = 60.0
METRICS = (
    Metric("ui.preview_24h_s", "s", at_most=1.0),
    Metric("ui.preview_24h_max_s", "s"),
    Metric("ui.preview_24h_backtest_s", "s"),
    Metric("ui.preview_24h_draw_s", "s"),
)
RATIOS = ()


@dataclass
class Scene:
    """The runtime on the seeded day, and how to open HMI windows on it."""

    runtime: RuntimeProcess
    seeded: int
    """Samples seeded into the store (the day)."""


def run(ctx: Context) -> dict[str, float]:
    """Seed, start, open the page, time the moves."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        return _on_qt_loop(lambda: _measure(ctx, Path(tmp)))


def _on_qt_loop(main: Callable[[], Any]) -> Any:
    """Run a coroutine on a qasync loop over a QApplication, as the HMI runs."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.window import apply_font

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # windows come and go; the loop stays
    apply_font(app)
    loop = qasync.QEventLoop(app)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


@asynccontextmanager
async def scene(folder: Path, ctx: Context | None = None) -> AsyncIterator[Scene]:
    """The simulated plant, the store seeded with the day, the runtime running the demo."""
    async with SimProcess(log_path=folder / "sim.log") as endpoints:
        doc = demo_project()
        point_at_sim(doc, endpoints)
        handle = RuntimeProcess.prepare(folder / "runtime", doc, node_id="bench-ui-rules")
        end = float(int(time.time()))
        day = simulated(end, DAY_S)
        handle.data_dir.mkdir(parents=True)
        with Store(RuntimeConfig(data_dir=handle.data_dir).database,
                   StoreConfig(forward_samples=False, forward_events=False)) as store:
            seeded = fill(store, day)
            store.append_columns("VFD.speed_sp", [end - DAY_S], [50.0])
            store.flush_future().result()
        if ctx is not None:
            ctx.note(NAME, f"{seeded:,} samples of {len(SIGNALS)} tags seeded")
        async with running(handle) as runtime:
            yield Scene(runtime, seeded)


async def open_rules(scene_: Scene, palette: Any) -> tuple[Any, Any]:
    """An HMI window (link, window) on the Rules page, the health flow over a day loaded and
    its first preview drawn."""
    from app.local import find_runtime
    from ui.link import Link, Target
    from ui.window import MainWindow

    link = Link()
    window = MainWindow(link, palette)
    window.resize(1280, 800)
    window.show()
    window.show_page(window.page("rules"))
    found = find_runtime(scene_.runtime.data_dir)
    link.attach(Target(found.url, found.credentials, found.fingerprint))
    page = window.page("rules")
    await _until(lambda: not link.stale and bool(page.model.tunables), LOADED_TIMEOUT_S,
                 "the Rules page loaded")
    page.model.select(FLOW)
    page.window_buttons.button(2).click()  # a day
    await _until(lambda: page.model.preview is not None and not page.model.previewing
                 and page.model.preview.flow == FLOW
                 and page.model.preview.end - page.model.preview.start == DAY_S,
                 PREVIEW_TIMEOUT_S, "the first preview of the day")
    return link, window


async def close(link: Any, window: Any) -> None:
    """Close a window opened by open_rules and its link."""
    await window.page("rules").model.close()
    await link.close()
    window.close()
    window.deleteLater()


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.01)


async def _measure(ctx: Context, folder: Path) -> dict[str, float]:
    from ui.theme import LIGHT

    async with scene(folder, ctx) as scene_:
        link, window = await open_rules(scene_, LIGHT)
        try:
            return await _moves(ctx, scene_, window)
        finally:
            await close(link, window)


async def _moves(ctx: Context, scene_: Scene, window: Any) -> dict[str, float]:
    page = window.page("rules")
    entry = page.entries[TUNABLE]
    drawn = asyncio.Event()
    page.previewed.connect(drawn.set)
    deployed = next(t for t in page.model.tunables if t.key == TUNABLE).deployed
    times, backtests, draws = [], [], []
    for i in range(PREVIEW_MOVES):
        await asyncio.sleep(0.3)  # a pause between moves: each one previews at once
        drawn.clear()
        step = -1 if i % 2 == 0 else -2
        began = time.perf_counter()
        entry.slider.setValue(entry.slider.value() + step)
        await asyncio.wait_for(drawn.wait(), PREVIEW_TIMEOUT_S)
        window.repaint()
        elapsed = time.perf_counter() - began
        preview = page.model.preview
        moved = preview.params.get(TUNABLE[0], {}).get(TUNABLE[1])
        if moved is None or abs(moved - entry.value()) > 1e-9:
            raise WrongResults(f"the preview drawn is not of the moved value ({moved} vs "
                               f"{entry.value()})")
        if preview.samples < scene_.seeded * 5 // len(SIGNALS) or preview.errors:
            raise WrongResults(f"the preview replayed {preview.samples:,} samples with "
                               f"{preview.errors} node errors")
        if moved < deployed and preview.would_alarms < 1:
            raise WrongResults("the lowered health threshold raised no alarm over the day")
        times.append(elapsed)
        backtests.append(preview.elapsed_s)
        began = time.perf_counter()
        page.trend.show_preview(preview)
        window.repaint()
        draws.append(time.perf_counter() - began)
        ctx.note(NAME, f"move {i + 1}: threshold {moved:g} -> preview painted in "
                       f"{elapsed:.3f} s (replay {preview.elapsed_s:.3f} s, "
                       f"{preview.samples:,} samples, {preview.would_alarms} alarms)")
    return {"ui.preview_24h_s": round(statistics.median(times), 3),
            "ui.preview_24h_max_s": round(max(times), 3),
            "ui.preview_24h_backtest_s": round(statistics.median(backtests), 3),
            "ui.preview_24h_draw_s": round(statistics.median(draws), 3)}


# -- screenshots ------------------------------------------------------------------------------


async def _screenshots(out: Path, folder: Path) -> list[Path]:
    from ui.theme import DARK, LIGHT

    saved = []
    async with scene(folder) as scene_:
        for palette in (LIGHT, DARK):
            link, window = await open_rules(scene_, palette)
            try:
                page = window.page("rules")
                drawn = asyncio.Event()
                page.previewed.connect(drawn.set)
                entry = page.entries[TUNABLE]
                deployed = next(t for t in page.model.tunables if t.key == TUNABLE).deployed
                entry.spin.setValue(deployed - 1.0)  # 6 -> 5 (in dark: 5, applied, -> 4)
                await asyncio.wait_for(drawn.wait(), PREVIEW_TIMEOUT_S)
                await asyncio.sleep(0.3)
                saved.append(_grab(window, out / f"rules-1280x800-{palette.name}.png"))
                if palette is LIGHT:
                    saved.append(await _versions_shot(window, out))
            finally:
                await close(link, window)
    return saved


def _grab(window: Any, path: Path) -> Path:
    if not window.grab().toImage().save(str(path)):
        raise BenchError(f"could not save {path}")
    return path


async def _versions_shot(window: Any, out: Path) -> Path:
    """The edit applied as version 2, then the Versions tab with its diff."""
    page = window.page("rules")
    page.model.apply("Health limit 6 -> 5: the wear showed 40 min earlier in the backtest")
    await _until(lambda: page.model.version == 2, PREVIEW_TIMEOUT_S, "version 2 deployed")
    page.tabs.setCurrentIndex(1)
    page.version_view.selectRow(0)
    await _until(lambda: "On above" in page.diff.toPlainText(), 10, "the diff")
    await asyncio.sleep(0.2)
    return _grab(window, out / "rules-versions-1280x800-light.png")


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.ui_rules --screenshots DIR`."""
    parser = argparse.ArgumentParser(prog="python -m bench.ui_rules")
    parser.add_argument("--screenshots", type=Path, required=True, metavar="DIR")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for path in _on_qt_loop(lambda: _screenshots(args.screenshots, Path(tmp))):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
