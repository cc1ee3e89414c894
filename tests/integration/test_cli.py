"""`lineside-runtime` as a real process: validate and run the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.projects import pump_project

ROOT = Path(__file__).resolve().parents[2]


def lineside_runtime(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_validate_accepts_the_demo_project():
    result = lineside_runtime("validate", "resources/demo/project.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_validate_prints_every_problem_and_fails(tmp_path):
    doc = pump_project()
    doc["tags"][0]["connection"] = "nowhere"
    doc["flows"][0]["nodes"][1]["params"]["on_above"] = "hot"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = lineside_runtime("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: $.tags[0].connection: unknown connection 'nowhere'",
        f"{path}: $.flows[0].nodes[1].params.on_above: must be a number, found 'hot'",
    ]
    assert "2 problem(s); nothing would be deployed" in result.stderr


def test_validate_reports_broken_json_with_its_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema": "lineside.project/1",\n  "tags": [}')
    result = lineside_runtime("validate", str(path))
    assert result.returncode == 2
    assert "line 2 column" in result.stderr


def test_run_refuses_an_invalid_project_with_its_problems(tmp_path):
    doc = pump_project()
    doc["flows"][0]["nodes"][0]["type"] = "source.nothing"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = lineside_runtime("run", "--project", str(path), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2:] == [
        "lineside-runtime: project has 1 problem(s):",
        "  $.flows[0].nodes[0].type: unknown node type 'source.nothing'",
    ]


def test_demo_runs_headless_and_stops_cleanly(tmp_path):
    result = lineside_runtime("run", "--demo", "--duration", "6", "--data-dir",
                              str(tmp_path / "data"), timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sim.started" in result.stderr
    assert "engine.deployed" in result.stderr
    assert "opcua.connected" in result.stderr
    assert "runtime.stopping" in result.stderr


def test_a_corrupt_database_is_kept_aside_and_reported(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "lineside.db").write_bytes(b"this is not a database " * 100)
    project = tmp_path / "project.json"
    project.write_text(json.dumps(pump_project()))
    result = lineside_runtime("run", "--project", str(project), "--data-dir", str(data),
                              "--duration", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "store.recovered" in result.stderr
    aside = [p for p in data.iterdir() if p.name.startswith("lineside.db.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"this is not a database " * 100
    assert "engine.deployed" in result.stderr


def test_a_bad_configuration_file_is_reported_and_nothing_starts(tmp_path):
    config = tmp_path / "runtime.toml"
    config.write_text('node_id = "line 1!"\n[store]\ncommit_interval_s = "fast"\n'
                      '[broker]\nport = 1883\n')
    result = lineside_runtime("run", "--project", "resources/demo/project.json", "--config",
                              str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "store.commit_interval_s: must be of type number, found 'fast'" in result.stderr
    assert "broker: 'host' is required" in result.stderr
    assert "node_id" in result.stderr
    assert not (tmp_path / "d").exists()


def test_models_are_added_listed_and_removed_only_when_unused(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    model = ROOT / "resources" / "models" / "pump_health-1.onnx"
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    (tmp_path / "bad.json").write_text(
        (ROOT / "resources" / "models" / "pump_health-1.json").read_text())
    refused = lineside_runtime("models", "add", str(tmp_path / "bad.onnx"), *data)
    assert refused.returncode == 2
    assert "the metadata is for another file" in refused.stderr

    added = lineside_runtime("models", "add", str(model), *data)
    assert added.returncode == 0, added.stderr
    assert "pump_health@1" in added.stdout

    demo = tmp_path / "demo.json"
    demo.write_text((ROOT / "resources" / "demo" / "project.json").read_text())
    ran = lineside_runtime("run", "--project", str(demo), "--duration", "1", *data)
    assert ran.returncode == 0, ran.stderr[-2000:]  # deploys a project using the model
    in_use = lineside_runtime("models", "remove", "pump_health@1", *data)
    assert in_use.returncode == 2
    assert "is used by the deployed project" in in_use.stderr
    assert "pump_health@1" in lineside_runtime("models", "list", *data).stdout
