"""The runtime on this machine: finding the one running on a data folder, and starting one as
a process of its own.

A runtime announces itself in its data folder: `api-endpoint.json` (where it listens, its
certificate fingerprint and pid) and `api-token.json` (the local token, readable only by its
user). The HMI attaches with those. A runtime the HMI starts runs detached, in a session of
its own with its log in the data folder, so the HMI's death (even by SIGKILL) never ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from runtime.api.token import TOKEN_FILE, TokenError, read_token
from runtime.client import Credentials
from runtime.config import ConfigError, load_config
from runtime.contracts.errors import LinesideError
from runtime.demo import demo_config

ENDPOINT_FILE = "api-endpoint.json"
"""Written by the runtime's API server into its data folder while it listens."""
LOG_FILE = "runtime.log"
"""Where a runtime started by the HMI writes its log, in its data folder."""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1


class NoRuntime(LinesideError):
    """No runtime to attach to; the message says where we looked and what to do."""


class StartFailed(LinesideError):
    """A runtime started from here did not come up; the message ends with its log's tail."""


@dataclass(frozen=True)
class LocalRuntime:
    """A runtime found on this machine: where it listens and how to log in."""

    url: str
    fingerprint: str | None
    credentials: Credentials
    folder: Path
    pid: int


def data_folder(config_file: Path | None, data_dir: Path | None, demo: bool = False) -> Path:
    """The data folder a runtime uses with these options (as `lineside-runtime run` does)."""
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise NoRuntime(f"the runtime's configuration has problems:\n{exc}") from None
    if demo:
        config = demo_config(config)
    if data_dir is not None:
        config = replace(config, data_dir=data_dir)
    return config.data_dir


def find_runtime(folder: Path) -> LocalRuntime:
    """The runtime running on `folder`; NoRuntime when none is."""
    try:
        endpoint = json.loads((folder / ENDPOINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NoRuntime(not_running(folder)) from None
    pid = endpoint.get("pid")
    if not isinstance(pid, int) or not alive(pid):
        raise NoRuntime(not_running(folder))
    try:
        token = read_token(folder / TOKEN_FILE)
    except TokenError as exc:
        raise NoRuntime(f"a runtime is running on {folder}, but its token cannot be used: "
                        f"{exc}") from None
    return LocalRuntime(endpoint["url"], endpoint.get("fingerprint") or None,
                        Credentials(token=token.token), folder, pid)


def not_running(folder: Path) -> str:
    """Why there is nothing to attach to, and what to do."""
    return (f"No Lineside runtime is running with the data folder {folder} (no current "
            f"{ENDPOINT_FILE} there).\nStart one with `lineside-runtime run --project FILE` "
            "(or `lineside --demo`), or give --data-dir / --config to point at another one.")


def alive(pid: int) -> bool:
    """True while process `pid` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runtime_command(config_file: Path | None, data_dir: Path | None,
                    demo: bool = False) -> list[str]:
    """The command line of `lineside-runtime run` with these options."""
    command = [sys.executable, "-m", "runtime.cli", "run"]
    if demo:
        command.append("--demo")
    if config_file is not None:
        command += ["--config", str(config_file)]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return command


def launch(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own (no signal to the HMI's process group reaches
    it), its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)


async def start_runtime(command: list[str], folder: Path,
                        timeout_s: float = START_TIMEOUT_S) -> LocalRuntime:
    """Start `command` (a `lineside-runtime run`) detached, its log in folder/runtime.log,
    and wait until it listens; StartFailed, with its log's tail, when it exits or does not
    listen within `timeout_s` (it is then stopped)."""
    started = time.time()
    log_path = folder / LOG_FILE
    process = launch(command, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"the runtime exited with code {process.returncode} before it "
                              f"listened:\n{log_tail(log_path)}")
        with contextlib.suppress(NoRuntime, OSError):
            if (folder / ENDPOINT_FILE).stat().st_mtime >= started - 1:
                found = find_runtime(folder)
                if found.pid == process.pid:
                    return found
        await asyncio.sleep(POLL_S)
    process.terminate()
    raise StartFailed(f"the runtime did not listen within {timeout_s:g} s (stopped):\n"
                      f"{log_tail(log_path)}")


async def stop_runtime(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stop a runtime with SIGTERM (it commits what it holds), SIGKILL after `timeout_s`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # noqa: ASYNC222 (WNOHANG: no wait)
                return
        await asyncio.sleep(POLL_S)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def log_tail(path: Path, lines: int = 12) -> str:
    """The last lines of a log file ("" when it cannot be read)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace")
                         .splitlines()[-lines:])
    except OSError:
        return ""
