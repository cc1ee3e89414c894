"""The wheel built from this checkout, installed into a fresh venv with the locked versions of
its dependencies, runs on its own: it knows its version, finds its shipped files and runs the
demo (the simulated plant as a child process), recording samples in its data folder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.processes import run_program

# Building, installing and running take a minute or two: more than the default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "runtime", "ui", "app", "resources")
SHIPPED = ("resources/demo/project.json", "resources/models/pump_health-1.onnx",
           "resources/models/pump_health-1.json", "resources/models/MODEL_CARD.md",
           "resources/models/train_pump_health.py", "resources/config/runtime.example.toml")
QT = ("pyside6", "shiboken6", "pyqtgraph", "qasync")
DEMO_S = 8


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = run_program(command, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, (f"{' '.join(map(str, command))} failed:\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout (the build leaves nothing in the repo)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
        work / "dist", source, cwd=work)
    [built] = (work / "dist").glob("lineside-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its locked dependencies; its bin folder."""
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", venv, cwd=venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", "--constraint",
        ROOT / "requirements.lock", wheel, cwd=venv)
    return venv / "bin"


def outside_the_checkout(home: Path) -> dict[str, str]:
    """An environment that finds nothing of the checkout or the user's own settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share")}


def test_the_wheel_ships_the_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "bench/"))]


def test_the_installed_wheel_validates_and_runs_the_demo(installed, tmp_path):
    env = outside_the_checkout(tmp_path / "home")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run(installed / "lineside-runtime", "--version", cwd=tmp_path,
               env=env).stdout.strip() == f"lineside-runtime {version}"

    packages = run(installed / "python", "-m", "pip", "list", "--format=json", cwd=tmp_path,
                   env=env).stdout
    names = {p["name"].lower() for p in json.loads(packages)}
    assert not [n for n in names if n.startswith(QT)], "the runtime installed Qt"

    demo = Path(run(installed / "python", "-c",
                    "from runtime.demo import demo_project_path; print(demo_project_path())",
                    cwd=tmp_path, env=env).stdout.strip())
    assert demo.is_relative_to(installed.parent), f"{demo} is not the installed copy"
    validated = run(installed / "lineside-runtime", "validate", demo, cwd=tmp_path, env=env)
    assert validated.stdout.strip() == f"{demo}: ok"

    data = tmp_path / "data"
    ran = run(installed / "lineside-runtime", "run", "--demo", "--duration", str(DEMO_S),
              "--data-dir", data, cwd=tmp_path, env=env, timeout=120)
    assert "sim.started" in ran.stderr and "engine.deployed" in ran.stderr
    with sqlite3.connect(data / "lineside.db") as db:
        counts = dict(db.execute("SELECT tags.tag, count(*) FROM samples JOIN tags "
                                 "ON tags.key = samples.tag_key GROUP BY tags.tag"))
    assert counts.get("P101.vibration", 0) > DEMO_S, counts  # OPC UA, sampled every 100 ms
    assert counts.get("VFD.speed", 0) > 0, counts  # Modbus
