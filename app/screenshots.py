"""`make screenshots`: every page of the HMI, rendered from a real demo runtime on the
simulated plant, at 1280x800 and 1920x1080, in both themes, into docs/screenshots/.

    python -m app.screenshots [--out docs/screenshots] [--fault bearing_wear=0.02]

The demo plant starts with a fast-wearing bearing, so the vibration alarm is active when the
pages are drawn. A page that has something to stage first (the Rules page shows a backtest
preview) has an async `stage_screenshot()`, awaited before it is drawn.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.local import (
    LocalRuntime,
    runtime_command,
    start_runtime,
    stop_runtime,
)

SIZES = ((1280, 800), (1920, 1080))
FAULT = "bearing_wear=0.02"
SETTLE_S = 1.5
"""How long a page is given to draw what it fetched before it is grabbed."""
READY_TIMEOUT_S = 120.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--fault", default=FAULT, help="the demo plant's fault")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.window import apply_font

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # the loop ends when run() returns, not before
    apply_font(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        written = loop.run_until_complete(render_all(args.out, args.fault))
    for path in written:
        print(path)
    return 0


async def render_all(out: Path, fault: str) -> list[Path]:
    """Start the demo runtime in a temporary folder, render every page, stop it."""
    with tempfile.TemporaryDirectory(prefix="lineside-screenshots-") as folder:
        data = Path(folder)
        command = [*runtime_command(None, data, demo=True), "--demo-fault", fault]
        runtime = await start_runtime(command, data)
        try:
            written: list[Path] = []
            for theme in ("light", "dark"):
                for width, height in SIZES:
                    written += await render_window(runtime, theme, width, height, out)
            return written
        finally:
            await stop_runtime(runtime.pid)


async def render_window(runtime: LocalRuntime, theme: str, width: int, height: int,
                        out: Path) -> list[Path]:
    """One window in `theme` at width x height, attached to `runtime`; each page drawn."""
    from ui.link import Link, Target
    from ui.theme import THEMES
    from ui.window import MainWindow

    link = Link()
    window = MainWindow(link, THEMES[theme], "Line 1")
    window.resize(width, height)
    window.show()
    link.attach(Target(runtime.url, runtime.credentials, runtime.fingerprint))
    written: list[Path] = []
    try:
        await _until(lambda: not link.stale and any(a.get("active") for a in link.alarms),
                     "the runtime attached and an alarm active")
        for name, page in window.pages_in_rail():
            window.show_page(page)
            stage = getattr(page, "stage_screenshot", None)
            if stage is not None:
                await stage()
            await asyncio.sleep(SETTLE_S)
            path = out / f"{name}-{theme}-{width}x{height}.png"
            if not window.grab().toImage().save(str(path)):
                raise OSError(f"cannot write {path}")
            written.append(path)
    finally:
        await link.close()
        window.close()
        window.deleteLater()
    return written


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {READY_TIMEOUT_S:g} s for {what}")
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
