"""Running a command-line program in a test: a run that does not end within its timeout is
stopped with SIGABRT, so Python's faulthandler prints where every thread was, and the test
fails with the end of its stderr."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

DUMP_WAIT_S = 10.0


def run_program(command: Sequence[str | Path], *, cwd: Path, timeout: float,
                env: Mapping[str, str] | None = None,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `command` to its end and return what it did; fail the test if it hangs. With
    `input`, that is its standard input (a pipe)."""
    args = [str(part) for part in command]
    with subprocess.Popen(args, cwd=cwd, env={**(env or os.environ), "PYTHONFAULTHANDLER": "1"},
                          stdin=None if input is None else subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            try:
                stdout, stderr = process.communicate(timeout=DUMP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            pytest.fail(f"{' '.join(args)} did not end within {timeout} s; the end of its "
                        f"stderr (with the threads' stacks):\n{stderr[-8000:]}", pytrace=False)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
