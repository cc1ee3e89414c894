"""The autouse leak checks fail a test that leaves a task or a thread running."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture
def leaky_suite(pytester):
    text = re.sub(r"^pytest_plugins = .*$", "", CONFTEST.read_text(), flags=re.M)
    (pytester.path / "conftest.py").write_text(text)
    shutil.copy(Path(__file__).resolve().parents[2] / "pyproject.toml", pytester.path)
    pytester.makepyfile(test_leaky='''
        import asyncio, threading

        async def test_leaves_a_task():
            asyncio.get_running_loop().create_task(asyncio.sleep(60))

        def test_leaves_a_thread():
            stop = threading.Event()
            threading.Thread(target=stop.wait, args=(3,), name="leaky", daemon=True).start()

        async def test_clean():
            await asyncio.sleep(0)
    ''')
    return pytester


def test_leaked_task_and_thread_fail_their_tests(leaky_suite):
    result = leaky_suite.runpytest_subprocess("-p", "no:cacheprovider", "-o", "timeout=30")
    result.assert_outcomes(passed=3, errors=2)  # teardown failures count as errors
    result.stdout.fnmatch_lines(["*test left asyncio tasks running*",
                                 "*test left threads running*leaky*"])
