"""SIGTERM while the store is degraded (its disk full): the real runtime process ends within
10 s, counting and logging what it could not save, instead of waiting for ever."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 10.0


def project(plant) -> dict:
    tags = [{"id": f"synth.{i:03d}", "connection": "plc", "address": f"ns=2;s=Synth.{i:04d}",
             "type": "float64"} for i in range(50)]
    return {"schema": "lineside.project/1", "name": "sigterm",
            "connections": [{"id": "plc", "kind": "opcua", "endpoint": plant.opcua_url,
                             "publishing_interval_ms": 50}],
            "tags": tags, "flows": []}


async def wait_for_line(log: Path, pattern: str, within: float) -> re.Match[str]:
    deadline = time.monotonic() + within
    while True:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"no line matching {pattern!r} in the log:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_sigterm_with_a_full_disk_ends_in_time_and_counts_what_was_lost(sim_factory,
                                                                              tmp_path):
    plant = await sim_factory(extra_tags=50)
    (tmp_path / "project.json").write_text(json.dumps(project(plant)))
    # The store may not grow past 200 KiB: it fills within seconds, as a full disk does.
    (tmp_path / "runtime.toml").write_text(
        '[store]\ncommit_interval_s = 0.1\nmax_db_bytes = 204800\ndisk_full_retry_s = 0.5\n')
    log = tmp_path / "runtime.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "runtime.cli", "run", "--project",
            str(tmp_path / "project.json"), "--config", str(tmp_path / "runtime.toml"),
            "--data-dir", str(tmp_path / "data"), cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=out, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        await wait_for_line(log, r"store\.degraded reason=\"disk full\"", 60)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), STOP_WITHIN_S + 5)
        took = time.monotonic() - started
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = log.read_text(errors="replace")
    assert took < STOP_WITHIN_S, f"stopping took {took:.1f} s:\n{text[-3000:]}"
    assert code == 0, text[-3000:]
    lost = re.search(r"store\.close_lost samples=(\d+) events=(\d+) other=(\d+)", text)
    assert lost and int(lost[1]) > 0, text[-3000:]  # samples kept coming while it was full
    assert "Traceback" not in text
