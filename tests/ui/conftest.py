"""HMI tests: Qt offscreen, and every async test on a qasync loop (Qt's loop, as in the app)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest_asyncio
import qasync
from PySide6.QtWidgets import QApplication

from runtime.demo import SimProcess


class TestLoop(qasync.QEventLoop):
    """qasync's loop without the extra event pass after run_until_complete.

    qasync processes Qt events once more after the loop stopped; pytest-asyncio runs each
    fixture and the test in a call of their own, so that pass would step tasks (the link,
    the simulated plant) with no running loop, and they would die of it. Here those events
    wait for the next call instead."""

    def run_until_complete(self, future: Any) -> Any:
        task = asyncio.ensure_future(future, loop=self)
        task.add_done_callback(lambda _task: self.stop())
        self.run_forever()
        if not task.done():
            raise RuntimeError("the event loop stopped before the future completed")
        return task.result()


def pytest_asyncio_loop_factories(config, item):
    """Run these tests' coroutines on Qt's event loop, so signals, timers and asyncio mix."""
    def qasync_loop() -> qasync.QEventLoop:
        return TestLoop(QApplication.instance() or QApplication([]))
    return {"qasync": qasync_loop}


@pytest_asyncio.fixture
async def sim_plant(tmp_path) -> AsyncIterator[SimpleNamespace]:
    """The simulated plant as a process of its own, as in the demo: the HMI's tests run
    Qt's event loop, whose passes between fixtures and tests would step an in-process
    plant's tasks with no running loop (the plant then stops changing)."""
    async with SimProcess(log_path=tmp_path / "sim.log") as endpoints:
        yield SimpleNamespace(**endpoints)
