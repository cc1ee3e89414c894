"""The runtime reading 1,000 simulated tags at 1 Hz: resident memory and CPU after a minute.

The simulated plant and the runtime run as separate processes, as in production; only the
runtime process is measured. Half the tags are OPC UA (one subscription, 1 s publishing
interval), half Modbus (input registers polled every second), each tag group of 50 runs
through its own flow (tag → rolling mean → hysteresis → alarm).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench.harness import Context, Metric

ROOT = Path(__file__).resolve().parents[1]
TAGS_PER_PROTOCOL = 500
GROUP = 50
WARMUP_S = 60.0
MEASURE_S = 30.0

NAME = "load"
METRICS = (
    Metric("runtime.rss_mb_1000_tags", "MB", at_most=150),
    Metric("runtime.cpu_pct_1000_tags", "% of a core", at_most=10),
    Metric("runtime.samples_per_s_1000_tags", "samples/s", at_least=900),
)
RATIOS = ()


def project(endpoints: dict[str, Any]) -> dict[str, Any]:
    """1,000 tags on two connections, a flow per group of 50 tags."""
    tags = []
    for i in range(TAGS_PER_PROTOCOL):
        tags.append({"id": f"opc.{i:04d}", "connection": "plc",
                     "address": f"ns=2;s=Synth.{i:04d}", "type": "float64"})
        tags.append({"id": f"mb.{i:04d}", "connection": "vfd", "address": f"ir:{1000 + 2 * i}",
                     "type": "float32"})
    flows = []
    for g in range(0, len(tags), GROUP):
        nodes, wires = [], []
        for tag in tags[g:g + GROUP]:
            n = tag["id"].replace(".", "_")
            nodes += [
                {"id": f"{n}_src", "type": "source.tag", "params": {"tag": tag["id"]}},
                {"id": f"{n}_mean", "type": "math.window",
                 "params": {"stat": "mean", "samples": 10}},
                {"id": f"{n}_high", "type": "logic.hysteresis",
                 "params": {"on_above": 1e9, "off_below": 0}},
                {"id": f"{n}_alarm", "type": "alarm", "params": {"message": f"{n} high"}},
            ]
            wires += [{"from": f"{n}_src:out", "to": f"{n}_mean:in"},
                      {"from": f"{n}_mean:out", "to": f"{n}_high:in"},
                      {"from": f"{n}_high:out", "to": f"{n}_alarm:in"}]
        flows.append({"id": f"group_{g // GROUP:02d}", "nodes": nodes, "wires": wires})
    return {
        "schema": "lineside.project/1", "name": "load 1000 tags",
        "connections": [
            {"id": "plc", "kind": "opcua", "endpoint": endpoints["opcua_url"],
             "publishing_interval_ms": 1000},
            {"id": "vfd", "kind": "modbus", "host": endpoints["modbus_host"],
             "port": endpoints["modbus_port"], "poll_ms": 1000},
        ],
        "tags": tags, "flows": flows,
    }


@contextmanager
def synthetic_plant() -> Iterator[dict[str, Any]]:
    """The simulated plant with TAGS_PER_PROTOCOL synthetic tags on each protocol, as its own
    process; yields its endpoints ({"opcua_url", "modbus_host", "modbus_port"})."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim = subprocess.Popen(
        [sys.executable, "-m", "runtime.sim", "--opcua-port", "0", "--modbus-port", "0",
         "--extra-tags", str(TAGS_PER_PROTOCOL), "--tick", "0.5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield json.loads(sim.stdout.readline())  # type: ignore[union-attr]
    finally:
        _end(sim)


def run(ctx: Context) -> dict[str, float]:
    """Start the plant and the runtime, wait a minute, measure the runtime process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runtime = None
    with synthetic_plant() as endpoints, tempfile.TemporaryDirectory() as tmp:
        try:
            path = Path(tmp) / "project.json"
            path.write_text(json.dumps(project(endpoints)))
            log_path = Path(tmp) / "runtime.log"
            with log_path.open("w") as log:
                runtime = subprocess.Popen(
                    [sys.executable, "-m", "runtime.cli", "run", "--project", str(path),
                     "--data-dir", str(Path(tmp) / "data"), "--stats-interval", "10"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
                proc = psutil.Process(runtime.pid)
                ctx.note(NAME, f"runtime pid {runtime.pid}: warming up {WARMUP_S:g} s, "
                               f"then measuring {MEASURE_S:g} s")
                time.sleep(WARMUP_S)
                cpu_before = proc.cpu_times()
                wall_before = time.monotonic()
                time.sleep(MEASURE_S)
                cpu_after = proc.cpu_times()
                wall = time.monotonic() - wall_before
                rss_mb = proc.memory_info().rss / 2**20
                if runtime.poll() is not None:
                    raise RuntimeError(f"the runtime exited early:\n{log_path.read_text()}")
            rates = [float(m) for m in re.findall(r"runtime\.stats .*rate=([\d.]+)",
                                                  log_path.read_text())]
        finally:
            if runtime is not None:
                _end(runtime)
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system)
    return {
        "runtime.rss_mb_1000_tags": round(rss_mb, 1),
        "runtime.cpu_pct_1000_tags": round(100 * cpu / wall, 2),
        "runtime.samples_per_s_1000_tags": rates[-1] if rates else 0.0,
    }


def _end(process: subprocess.Popen[Any]) -> None:
    """Terminate a child process (killed if it does not end within 15 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
