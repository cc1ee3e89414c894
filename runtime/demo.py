"""The demo: the simulated pump line as a child process, the shipped demo project pointed at
it, and the demo's defaults (a wearing bearing, its own data folder, a local broker)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime.config import RuntimeConfig
from runtime.contracts import LinesideError
from runtime.shipped import shipped
from runtime.sync.config import BrokerConfig

log = logging.getLogger("lineside.runtime")

DEMO_FAULT = "bearing_wear=0.004"
DEMO_BROKER = BrokerConfig(host="127.0.0.1", port=1883, client_id="lineside-demo")
SIM_START_TIMEOUT_S = 30.0
STDERR_LINES_KEPT = 20


class SimStartFailed(LinesideError):
    """The simulated plant's child process did not report its endpoints."""


def demo_project_path() -> Path:
    """Where the shipped demo project is (resources/demo/project.json)."""
    return shipped("demo", "project.json")


def demo_project() -> dict[str, Any]:
    """The shipped demo project; its connections still need `point_at_sim`."""
    return json.loads(demo_project_path().read_text(encoding="utf-8"))


def demo_config(config: RuntimeConfig) -> RuntimeConfig:
    """The demo's settings over the configured ones: its data in demo/ inside the data folder,
    and a broker on 127.0.0.1:1883 when none is configured."""
    return replace(config, data_dir=config.data_dir / "demo",
                   broker=config.broker if config.broker is not None else DEMO_BROKER)


def point_at_sim(doc: dict[str, Any], endpoints: dict[str, Any]) -> None:
    """Point the demo project's connections at the simulator's actual ports."""
    for conn in doc["connections"]:
        if conn["kind"] == "opcua":
            conn["endpoint"] = endpoints["opcua_url"]
        else:
            conn["host"], conn["port"] = endpoints["modbus_host"], endpoints["modbus_port"]


class SimProcess:
    """The simulated plant as a child process on free loopback ports; entering gives its
    endpoints (opcua_url, modbus_host, modbus_port), leaving stops it. Its stderr is kept
    (the last lines) to say why it did not start."""

    def __init__(self, fault: str = "") -> None:
        self.fault = fault
        self.process: asyncio.subprocess.Process | None = None
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._drain: asyncio.Task[None] | None = None

    async def __aenter__(self) -> dict[str, Any]:
        command = [sys.executable, "-m", "runtime.sim", "--opcua-port", "0",
                   "--modbus-port", "0"]
        if self.fault and self.fault != "none":
            command += ["--fault", self.fault]
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._drain = asyncio.create_task(self._keep_stderr(self.process.stderr))
        try:
            line: bytes | None = await asyncio.wait_for(self.process.stdout.readline(),
                                                        SIM_START_TIMEOUT_S)
        except TimeoutError:
            line = None
        if line:
            try:
                return self._started(json.loads(line))
            except json.JSONDecodeError:
                pass
        await self.__aexit__()
        if line is None:
            why = f"gave no endpoints within {SIM_START_TIMEOUT_S:g} s"
        elif not line:
            why = f"exited with code {self.process.returncode}"
        else:
            why = f"printed {line.decode(errors='replace').strip()[:200]!r}, not its endpoints"
        raise SimStartFailed(f"the simulated plant (fault {self.fault or 'none'}) did not "
                             f"start: it {why}: {self._last_error()}")

    def _started(self, endpoints: dict[str, Any]) -> dict[str, Any]:
        log.info("sim.started opcua=%s modbus=%s:%s", endpoints["opcua_url"],
                 endpoints["modbus_host"], endpoints["modbus_port"])
        return endpoints

    async def __aexit__(self, *exc: object) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            await self._drain  # ends at EOF, once the process is gone

    def _last_error(self) -> str:
        """The child's last error line on stderr, else its last line."""
        errors = [line for line in self.stderr_tail if " ERROR " in line or "error:" in line]
        return (errors or list(self.stderr_tail) or ["no output"])[-1]

    async def _keep_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr_tail.append(line.decode(errors="replace").rstrip())
