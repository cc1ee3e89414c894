"""Helpers for the HMI tests: waiting on conditions while Qt and asyncio share one loop."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest

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
