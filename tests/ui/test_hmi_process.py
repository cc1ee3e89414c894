"""The HMI as the process it is on a panel: `lineside` attached to a runtime process, then
killed with SIGKILL. The runtime is a process of its own and keeps recording."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from tests.ui.support import eventually


async def committed(runtime) -> int:
    client = await runtime.client()
    try:
        return (await client.status())["store"]["committed_samples"]
    finally:
        await client.close()


async def test_the_runtime_keeps_recording_after_the_hmi_is_killed(runtime_process, tmp_path):
    runtime = await runtime_process(users=False)
    log_path = tmp_path / "hmi.log"
    with log_path.open("wb") as log:
        hmi = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.main", "--config", str(runtime.config),
            "--data-dir", str(runtime.data_dir), stdout=log, stderr=log,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        await eventually(lambda: "hmi.link.connected" in log_path.read_text(), 30,
                         "the HMI attached (its log says hmi.link.connected)")
    finally:
        hmi.send_signal(signal.SIGKILL)
        assert await hmi.wait() == -signal.SIGKILL
    before, deadline = await committed(runtime), time.monotonic() + 10
    while (after := await committed(runtime)) <= before + 20:
        assert time.monotonic() < deadline, (
            f"the historian stopped growing when the HMI died ({before} -> {after} samples)")
        await asyncio.sleep(0.2)
    assert runtime.process.returncode is None
