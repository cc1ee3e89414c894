"""`lineside` finding the local runtime: a clear message naming the data folder when none runs."""

from __future__ import annotations

import json
import os

import pytest

from app.main import NoRuntime, local_target


def test_no_runtime_names_the_data_folder(tmp_path):
    with pytest.raises(NoRuntime) as caught:
        local_target(None, tmp_path)
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
        local_target(None, tmp_path)
