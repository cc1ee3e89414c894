"""`lineside` finding and starting the local runtime: a clear message naming the data folder
when none runs, and a runtime started from the HMI that outlives it."""

from __future__ import annotations

import json
import os

import pytest

from app.local import (
    NoRuntime,
    StartFailed,
    alive,
    find_runtime,
    runtime_command,
    start_runtime,
    stop_runtime,
)


def test_no_runtime_names_the_data_folder(tmp_path):
    with pytest.raises(NoRuntime) as caught:
        find_runtime(tmp_path)
    assert str(tmp_path) in str(caught.value)
    assert "lineside-runtime run" in str(caught.value)


def test_an_endpoint_left_by_a_dead_runtime_is_not_a_runtime(tmp_path):
    # A pid that is surely not running: a process we waited for.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    (tmp_path / "api-endpoint.json").write_text(json.dumps(
        {"url": "ws://127.0.0.1:1", "fingerprint": "", "pid": pid, "protocol": "x"}))
    with pytest.raises(NoRuntime, match="No Lineside runtime is running"):
        find_runtime(tmp_path)


async def test_a_runtime_that_cannot_start_says_why(tmp_path):
    # No --project and nothing deployed in this folder yet: the runtime refuses to run.
    with pytest.raises(StartFailed) as caught:
        await start_runtime(runtime_command(None, tmp_path), tmp_path, timeout_s=60)
    assert "exited with code" in str(caught.value)
    assert (tmp_path / "runtime.log").exists()


async def test_the_demo_runtime_started_from_the_hmi_runs_in_a_session_of_its_own(tmp_path):
    started = await start_runtime(runtime_command(None, tmp_path, demo=True), tmp_path)
    try:
        assert find_runtime(tmp_path).pid == started.pid
        # Detached: its own session, so a signal to the HMI's process group never reaches it.
        assert os.getsid(started.pid) == started.pid != os.getsid(0)
        assert started.url.startswith("ws://127.0.0.1:")
    finally:
        await stop_runtime(started.pid)
    assert not alive(started.pid)
    assert "runtime.stopping" in (tmp_path / "runtime.log").read_text()
