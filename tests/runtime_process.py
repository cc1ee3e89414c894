"""A real runtime process serving its API: `python -m runtime.cli run` as a child process, as
in production, with its configuration, project and data folder in one folder.

`RuntimeProcess.prepare(folder, project, ...)` writes the configuration and the project
(something may then be put in the data folder, e.g. a store to start from);
`running(handle)` optionally adds a user of every role with the CLI, starts the process and
stops it (and the clients it made) on leaving. No pytest here: the API tests
(tests/fixtures/api.py) and the API benchmark (bench/api.py) start their runtimes with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.client import Credentials, RuntimeClient
from runtime.contracts.roles import ROLES

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class RuntimeProcessError(RuntimeError):
    """The runtime process did not start or stop as it should; the message ends with its log."""


def user_of(role: str) -> str:
    """The user holding `role` that `running(..., users=True)` adds."""
    return f"{role}-user"


@dataclass
class RuntimeProcess:
    """A runtime process serving its API, and how to reach it."""

    data_dir: Path
    config: Path
    project: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    url: str = ""
    fingerprint: str = ""
    clients: list[RuntimeClient] = field(default_factory=list)

    @classmethod
    def prepare(cls, folder: Path, project: dict[str, Any], *, node_id: str,
                api: dict[str, Any] | None = None,
                store: dict[str, Any] | None = None) -> RuntimeProcess:
        """Write runtime.toml (the API on a free loopback port unless `api` says otherwise,
        a quick store commit interval unless `store` does) and project.json into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"node_id = {json.dumps(node_id)}"]
        for section, settings in (("store", {"commit_interval_s": 0.05, **(store or {})}),
                                  ("api", {"port": 0, **(api or {})})):
            lines += [f"[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        (folder / "runtime.toml").write_text("\n".join(lines) + "\n")
        (folder / "project.json").write_text(json.dumps(project))
        return cls(folder / "data", folder / "runtime.toml", folder / "project.json",
                   folder / "runtime.log")

    @property
    def token(self) -> str:
        """The local token file's token."""
        return json.loads((self.data_dir / "api-token.json").read_text())["token"]

    @property
    def pid(self) -> int:
        """The process id (RuntimeProcessError before start)."""
        if self.process is None:
            raise RuntimeProcessError("the runtime process was not started")
        return self.process.pid

    async def start(self, *extra: str) -> None:
        """Start the process and wait until its API listens."""
        endpoint = self.data_dir / "api-endpoint.json"
        endpoint.unlink(missing_ok=True)
        with self.log.open("ab") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "runtime.cli", "run", "--project", str(self.project),
                "--config", str(self.config), "--data-dir", str(self.data_dir),
                "--stats-interval", "3600", *extra, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
                stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + START_TIMEOUT_S
        while not endpoint.exists():
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeProcessError(
                    f"the runtime did not serve its API:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        found = json.loads(endpoint.read_text())
        self.url, self.fingerprint = found["url"], found["fingerprint"]

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the process (SIGTERM by default); its exit code."""
        process = self.process
        if process is None or process.returncode is not None:
            return process.returncode if process else 0
        process.send_signal(sig)
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeProcessError(f"the runtime did not stop within {STOP_TIMEOUT_S:g} s:"
                                      f"\n{self.log_tail()}") from None

    async def client(self, role: str = "token", **options: Any) -> RuntimeClient:
        """A connected client logged in as a user of `role` ("token": the local token)."""
        credentials = (Credentials(token=self.token) if role == "token"
                       else Credentials(user=user_of(role), password=PASSWORD))
        client = RuntimeClient(self.url, credentials, fingerprint=self.fingerprint or None,
                               **options)
        await client.connect()
        self.clients.append(client)
        return client

    async def close(self) -> None:
        """Close the clients it made, then stop the process."""
        for client in self.clients:
            await client.close()
        await self.stop()

    def log_tail(self) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def add_users(data_dir: Path, config: Path) -> None:
    """A user of every role, made with the CLI as an administrator would."""
    for role in ROLES:
        done = subprocess.run(
            [sys.executable, "-m", "runtime.cli", "user", "add", user_of(role), "--role", role,
             "--config", str(config), "--data-dir", str(data_dir)],
            input=f"{PASSWORD}\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            raise RuntimeProcessError(f"user add {user_of(role)} failed:\n{done.stderr}")


@asynccontextmanager
async def running(handle: RuntimeProcess, *, users: bool = False, extra: tuple[str, ...] = ()
                  ) -> AsyncIterator[RuntimeProcess]:
    """The prepared runtime (RuntimeProcess.prepare) started, with a user of every role when
    `users`; its clients closed and the process stopped on leaving."""
    if users:
        add_users(handle.data_dir, handle.config)
    try:
        await handle.start(*extra)
        yield handle
    finally:
        await handle.close()
