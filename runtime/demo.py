"""The demo: the simulated pump line as a child process, the shipped demo project pointed at
it, and the demo's defaults (a wearing bearing, its own data folder, a local broker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from runtime.config import RuntimeConfig
from runtime.contracts import LinesideError
from runtime.shipped import shipped
from runtime.sync.config import BrokerConfig

log = logging.getLogger("lineside.runtime")

DEMO_FAULT = "bearing_wear=0.004"
DEMO_BROKER = BrokerConfig(host="127.0.0.1", port=1883, client_id="lineside-demo")
SIM_START_TIMEOUT_S = 30.0
SIM_STOP_TIMEOUT_S = 10.0


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
    endpoints (opcua_url, modbus_host, modbus_port), leaving stops it. Its log (stderr) goes
    to `log_path` (a temporary file without one), not a pipe, so it never blocks the plant
    and its last error can say why the plant did not start."""

    def __init__(self, fault: str = "", log_path: Path | None = None) -> None:
        self.fault = fault
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._log: BinaryIO | None = None

    async def __aenter__(self) -> dict[str, Any]:
        command = [sys.executable, "-m", "runtime.sim", "--opcua-port", "0",
                   "--modbus-port", "0", "--exit-with-parent"]
        if self.fault and self.fault != "none":
            command += ["--fault", self.fault]
        self._log = self.log_path.open("w+b") if self.log_path else tempfile.TemporaryFile()
        self.process = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        assert self.process.stdout is not None
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
        if line is None:
            why = f"gave no endpoints within {SIM_START_TIMEOUT_S:g} s"
        elif not line:  # it closed stdout: let it end rather than race its exit
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), SIM_STOP_TIMEOUT_S)
            why = f"exited with code {self.process.returncode}"
        else:
            why = f"printed {line.decode(errors='replace').strip()[:200]!r}, not its endpoints"
        error = self._last_error()
        await self.__aexit__()
        where = f" (its log: {self.log_path})" if self.log_path else ""
        raise SimStartFailed(f"the simulated plant (fault {self.fault or 'none'}) did not "
                             f"start: it {why}: {error}{where}")

    def _started(self, endpoints: dict[str, Any]) -> dict[str, Any]:
        log.info("sim.started opcua=%s modbus=%s:%s log=%s", endpoints["opcua_url"],
                 endpoints["modbus_host"], endpoints["modbus_port"], self.log_path or "-")
        return endpoints

    async def __aexit__(self, *exc: object) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), SIM_STOP_TIMEOUT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()

    def _last_error(self) -> str:
        """The child's last error line in its log, else its last line."""
        assert self._log is not None
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").splitlines()
        errors = [line for line in lines if " ERROR " in line or "error:" in line]
        return (errors or lines or ["no output"])[-1]
