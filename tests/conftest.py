"""Shared test set-up: the simulated plant fixtures and the leak checks every test gets."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import pytest_asyncio

pytest_plugins = ["tests.fixtures.sim", "tests.fixtures.broker", "tests.fixtures.plugins", "tests.fixtures.api"]  # noqa: E501  (one line: test_leak_checks copies this file without it)

_GRACE_S = 2.0


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads running after it ended."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + _GRACE_S
    while True:
        leaked = [
            t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        pytest.fail(f"test left threads running: {[t.name for t in leaked]}")


@pytest_asyncio.fixture(autouse=True)
async def no_leaked_tasks():
    """Fail a test that leaves asyncio tasks running after its fixtures were torn down."""
    yield
    current = asyncio.current_task()
    deadline = time.monotonic() + _GRACE_S
    while True:
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    if pending:
        names = [t.get_name() + ":" + repr(t.get_coro()) for t in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        pytest.fail(f"test left asyncio tasks running: {names}")
