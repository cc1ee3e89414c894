"""Helpers for the HMI tests: waiting on conditions while Qt and asyncio share one loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest

from app.local import find_runtime
from runtime.client import Credentials
from tests.runtime_process import PASSWORD, RuntimeProcess, user_of
from ui.link import Link, Target
from ui.theme import LIGHT, Palette
from ui.window import MainWindow

POLL_S = 0.02


async def eventually(condition: Callable[[], bool], within: float, what: str) -> float:
    """Wait until `condition()` holds, letting the qasync loop run Qt and asyncio meanwhile;
    the seconds it took. Fails the test after `within` seconds.

    qtbot.waitUntil cannot be used here: it spins a nested Qt event loop from inside the
    test's task, and qasync would then step other tasks inside that task (the run hangs)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL_S)
    return time.monotonic() - start


def free_port() -> int:
    """A loopback TCP port free now (for a runtime that must come back on the same one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def attached_window(runtime, credentials=None, palette: Palette = LIGHT
                          ) -> AsyncIterator[MainWindow]:
    """The main window at 1280x800 with a link attached to `runtime` (a RuntimeProcess) as
    `lineside` attaches: through its data folder's endpoint and, without `credentials`, its
    local token. On leaving, the link is closed before the window (no signal reaches a
    deleted widget)."""
    found = find_runtime(runtime.data_dir)
    link = Link()
    window = MainWindow(link, palette)
    window.resize(1280, 800)
    window.show()
    link.attach(Target(found.url, credentials or found.credentials, found.fingerprint))
    try:
        yield window
    finally:
        await link.close()
        window.close()
        window.deleteLater()


async def inject_fault(opcua_url: str, kind: str, value: float) -> None:
    """Inject a fault into the simulated plant process as an engineer would: the
    `lineside-sim fault` command, which calls the plant's Simulation.InjectFault method."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runtime.sim", "fault", "--url", opcua_url, kind,
        "--value", str(value), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        pytest.fail(f"lineside-sim fault {kind} failed: {(out + err).decode(errors='replace')}")


@contextlib.asynccontextmanager
async def logged_in(runtime: RuntimeProcess, role: str = "operator", palette: Palette = LIGHT
                    ) -> AsyncIterator[MainWindow]:
    """attached_window logged in as the user of `role` (tests.runtime_process.user_of),
    once the link is up."""
    credentials = Credentials(user=user_of(role), password=PASSWORD)
    async with attached_window(runtime, credentials, palette) as window:
        await eventually(lambda: not window.link.stale, 30, f"the link logged in as {role}")
        yield window
