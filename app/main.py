"""`lineside`: the HMI's entry point, the composition root.

    lineside [--config FILE] [--data-dir DIR] [--kiosk] [--theme light|dark]
    lineside --demo [--kiosk] [--theme light|dark]
    lineside --connect ws(s)://HOST:PORT [--user NAME] [--fingerprint SHA256] [--kiosk]

Without --connect it attaches to the runtime running on this machine with the data folder of
its configuration (runtime.toml, or --config / --data-dir), logging in with that folder's
local token; where none runs, it offers to start one as a process of its own. --demo does
the same on the demo's data folder and starts the demo runtime (the simulated plant and the
demo project) without asking; closing the HMI then stops the demo it started. On a machine
without a display, --demo says so and runs the runtime's console view instead.
With --connect it logs in with a user and password, trusting a wss:// runtime's certificate
on first use (asked once, then pinned).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.local import (
    LocalRuntime,
    NoRuntime,
    StartFailed,
    data_folder,
    find_runtime,
    runtime_command,
    start_runtime,
    stop_runtime,
)
from app.remote import KnownRuntimes
from runtime.client import Credentials, fetch_fingerprint
from runtime.logs import setup_logging

STARTED = time.monotonic()
log = logging.getLogger("lineside.hmi")

if TYPE_CHECKING:
    from ui.link import Link, Target
    from ui.window import MainWindow


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineside", description="The Lineside HMI.")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="the runtime's configuration file (to find its data folder)")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="the runtime's data folder (overrides the configuration)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true",
                        help="start the simulated plant and the demo runtime, then the HMI")
    source.add_argument("--connect", metavar="URL",
                        help="attach to a runtime at ws(s)://host:port instead of the local one")
    parser.add_argument("--user", metavar="NAME", default="",
                        help="the user to log in as with --connect")
    parser.add_argument("--fingerprint", metavar="SHA256",
                        help="the certificate fingerprint of a wss:// runtime (else asked once)")
    parser.add_argument("--kiosk", action="store_true", help="full screen, no window controls")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="what the HMI logs to stderr (default: %(default)s)")
    return parser


def has_display() -> bool:
    """Whether Qt has somewhere to draw (a display, or a platform chosen explicitly)."""
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY",
                                                  "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the Qt application and run it on a qasync loop."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.demo and not has_display():
        print("lineside: no display here (neither DISPLAY nor WAYLAND_DISPLAY is set): "
              "running the demo with the runtime's console view instead.", file=sys.stderr)
        from runtime.cli import main as runtime_main
        return runtime_main(["run", "--demo", "--console",
                             *runtime_command(args.config, args.data_dir)[4:]])

    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.link import Link
    from ui.theme import THEMES
    from ui.window import MainWindow, apply_font

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # the loop ends when run() returns, not before
    app.setApplicationName("Lineside")
    apply_font(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    link = Link()
    title = args.connect or ("Lineside demo" if args.demo else "Lineside")
    window = MainWindow(link, THEMES[args.theme], title)
    with loop:
        return loop.run_until_complete(run(args, window, link))


async def run(args: argparse.Namespace, window: MainWindow, link: Link) -> int:
    """Show the window, attach the link, and wait until the window is closed."""
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    if args.kiosk:
        window.enter_kiosk()
    else:
        window.resize(1280, 800)
        window.show()
    _log_first_paint(window, link)
    started: LocalRuntime | None = None
    if args.connect:
        if not await attach_remote(args, window, link):
            return 1
    else:
        try:
            found, started = await local_runtime(args, window)
        except (NoRuntime, StartFailed) as exc:
            print(f"lineside: {exc}", file=sys.stderr)
            await _tell(window, window.tr("No runtime"), str(exc))
            return 2
        if found is None:
            return 2
        link.attach(_target(found.url, found.credentials, found.fingerprint))
    await closed.wait()
    await link.close()
    if started is not None and args.demo:
        print(f"lineside: stopping the demo runtime it started (pid {started.pid})",
              file=sys.stderr)
        await stop_runtime(started.pid)
    return 0


def _log_first_paint(window: MainWindow, link: Link) -> None:
    """Log `hmi.first_value_painted` once the first live value is on screen (the cold
    start's end, as the bench measures it)."""
    def painted(*_sample: object) -> None:
        if link.stale:
            return
        link.tag_value.disconnect(painted)
        window.repaint()
        log.info("hmi.first_value_painted after_s=%.3f", time.monotonic() - STARTED)

    link.tag_value.connect(painted)


async def local_runtime(args: argparse.Namespace, window: MainWindow
                        ) -> tuple[LocalRuntime | None, LocalRuntime | None]:
    """(the runtime to attach to, the same if this HMI started it); (None, None) when the
    user chose not to start one."""
    folder = data_folder(args.config, args.data_dir, demo=args.demo)
    try:
        return find_runtime(folder), None
    except NoRuntime as exc:
        if not args.demo and not await _ask(
                window, window.tr("Start the runtime?"),
                window.tr("{why}\n\nStart a runtime on this data folder now? It runs as a "
                          "process of its own and keeps running when the HMI is closed; "
                          "it resumes the last project deployed there.").format(why=exc)):
            return None, None
    window.frame.tell(window.tr("Starting the runtime on {folder}…").format(folder=folder))
    started = await start_runtime(runtime_command(args.config, args.data_dir, args.demo),
                                  folder)
    return started, started


async def attach_remote(args: argparse.Namespace, window: MainWindow, link: Link) -> bool:
    """Trust the certificate (once), ask for the password, attach; ask again while the
    login is refused. False when the user gives up."""
    from ui.login import LoginDialog, answer, trust_question

    url = args.connect
    pinned = args.fingerprint
    if url.startswith("wss://") and pinned is None:
        known = KnownRuntimes()
        pinned = known.get(url)
        if pinned is None:
            try:
                presented = await fetch_fingerprint(url)
            except (OSError, TimeoutError, ValueError) as exc:
                await _tell(window, window.tr("Cannot reach the runtime"), str(exc))
                return False
            if await answer(trust_question(url, presented, window)) != trust_yes():
                return False
            known.trust(url, presented)
            pinned = presented
    reason = ""
    refusals: asyncio.Queue[str] = asyncio.Queue()
    link.login_refused.connect(refusals.put_nowait)
    while True:
        dialog = LoginDialog(url, args.user, reason, window)
        if await answer(dialog) != LoginDialog.DialogCode.Accepted:
            return False
        args.user = dialog.user.text().strip()
        link.attach(_target(url, Credentials(user=args.user, password=dialog.password.text()),
                            pinned))
        reason = await _first(refusals, link)
        if not reason:
            return True


async def _first(refusals: asyncio.Queue[str], link: Link) -> str:
    """The refusal of this attempt, or "" once the link is connected."""
    connected = asyncio.Event()

    def up_now() -> None:
        connected.set()

    link.connected.connect(up_now)
    refused = asyncio.ensure_future(refusals.get())
    up = asyncio.ensure_future(connected.wait())
    try:
        done, _ = await asyncio.wait({refused, up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        link.connected.disconnect(up_now)
        for task in (refused, up):
            task.cancel()
    return refused.result() if refused in done and not refused.cancelled() else ""


def trust_yes() -> int:
    from PySide6.QtWidgets import QMessageBox
    return int(QMessageBox.StandardButton.Yes)


def _target(url: str, credentials: Credentials, fingerprint: str | None) -> Target:
    from ui.link import Target
    return Target(url, credentials, fingerprint)


async def _ask(window: MainWindow, title: str, text: str) -> bool:
    from PySide6.QtWidgets import QMessageBox

    from ui.login import answer
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, window)
    return await answer(box) == int(QMessageBox.StandardButton.Yes)


async def _tell(window: MainWindow, title: str, text: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    from ui.login import answer
    await answer(QMessageBox(QMessageBox.Icon.Critical, title, text,
                             QMessageBox.StandardButton.Ok, window))


if __name__ == "__main__":
    sys.exit(main())
