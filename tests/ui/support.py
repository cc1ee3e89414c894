"""Helpers for the HMI tests: waiting on conditions while Qt and asyncio share one loop."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

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


async def inject_fault(opcua_url: str, kind: str, value: float) -> None:
    """Inject a fault into the simulated plant process as an engineer would: the
    `lineside-sim fault` command, which calls the plant's Simulation.InjectFault method."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runtime.sim", "fault", "--url", opcua_url, kind,
        "--value", str(value), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        pytest.fail(f"lineside-sim fault {kind} failed: {(out + err).decode(errors='replace')}")


@asynccontextmanager
async def hmi_window(qtbot, runtime: RuntimeProcess, role: str = "operator",
                     palette: Palette = LIGHT) -> AsyncIterator[tuple[Link, MainWindow]]:
    """The main window at 1280x800 over a link logged in to `runtime` as the user of
    `role` (tests.runtime_process.user_of; "token" for the local token)."""
    credentials = (Credentials(token=runtime.token) if role == "token"
                   else Credentials(user=user_of(role), password=PASSWORD))
    link = Link()
    window = MainWindow(link, palette)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    link.attach(Target(runtime.url, credentials, runtime.fingerprint or None))
    try:
        await eventually(lambda: not link.stale, 30, f"the link logged in as {role}")
        yield link, window
    finally:
        await link.close()
        window.close()
