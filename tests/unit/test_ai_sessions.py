"""ModelSessions, the engine's ModelRunner: one onnxruntime session per model version, batches
of rows in, one value per row out, and no threads left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from runtime.ai import (
    InvalidModel,
    ModelConflict,
    ModelMismatch,
    ModelSessions,
    UnknownModel,
    builtin_models,
    read_model,
    sha256,
)
from runtime.contracts import ValidationFailed
from runtime.engine.engine import Engine, ModelRunner
from runtime.registry import NodeRegistry
from tests.unit.test_ai_model_file import model_bytes, sidecar, write

KEY = "pump_health@1"
HEALTHY = [1.9, 55.0, 41.9, 120.0, 6.0]


@pytest.fixture
def demo():
    return builtin_models()[0]


@pytest.fixture
def sessions():
    with ModelSessions() as s:
        yield s


def os_threads() -> int:
    """Threads of this process as the kernel sees them (onnxruntime's are not Python's)."""
    return len(os.listdir("/proc/self/task"))


def wait_for_threads(count: int, within: float = 2.0) -> int:
    deadline = time.monotonic() + within
    while os_threads() != count and time.monotonic() < deadline:
        time.sleep(0.01)
    return os_threads()


def test_sessions_are_a_model_runner(sessions):
    runner: ModelRunner = sessions
    assert callable(runner.run)


def test_a_batch_gives_one_score_per_row(sessions, demo):
    assert sessions.load(demo.info, demo.path) == demo.info
    rows = np.array([HEALTHY, HEALTHY, [6.0, 75.0, 44.0, 119.0, 6.0]])
    out = sessions.run(KEY, rows)
    assert list(out) == ["score"]
    assert out["score"].shape == (3,) and out["score"].dtype == np.float32
    assert out["score"][0] == out["score"][1] < 1.0 < 100.0 < out["score"][2]
    # lists of rows and float32 arrays are accepted as well
    np.testing.assert_array_equal(sessions.run(KEY, rows.tolist())["score"], out["score"])
    np.testing.assert_array_equal(
        sessions.run(KEY, rows.astype(np.float32)[:, :])["score"], out["score"])


def test_rows_split_in_batches_score_as_one_batch(sessions, demo):
    sessions.load(demo.info, demo.path)
    rng = np.random.default_rng(1)
    rows = np.array(HEALTHY) * rng.uniform(0.9, 1.1, (1000, 5))
    whole = sessions.run(KEY, rows)["score"]
    parts = np.concatenate([sessions.run(KEY, rows[i:i + 7])["score"] for i in range(0, 1000, 7)])
    np.testing.assert_allclose(parts, whole, rtol=1e-6)


def test_no_rows_give_empty_outputs(sessions, demo):
    sessions.load(demo.info, demo.path)
    out = sessions.run(KEY, np.empty((0, 5)))
    assert out["score"].shape == (0,)


@pytest.mark.parametrize("rows", [np.zeros((2, 4)), np.zeros(5), np.zeros((1, 2, 5))])
def test_rows_of_the_wrong_shape_are_refused(sessions, demo, rows):
    sessions.load(demo.info, demo.path)
    with pytest.raises(ModelMismatch, match=r"^model pump_health@1: expects rows of 5 "
                                            r"features, got an array of shape"):
        sessions.run(KEY, rows)


def test_an_unknown_model_is_refused(sessions):
    with pytest.raises(UnknownModel, match="model pump_health@9: is not loaded"):
        sessions.run("pump_health@9", np.zeros((1, 5)))
    with pytest.raises(UnknownModel):
        sessions.info("pump_health@9")


def test_outputs_by_one_are_flattened(sessions, tmp_path):
    path = write(tmp_path, model_bytes(keepdims=1), sidecar())
    sessions.load(read_model(path), path)
    out = sessions.run(KEY, np.ones((4, 5)))["score"]
    assert out.shape == (4,)
    np.testing.assert_array_equal(out, np.ones(4, dtype=np.float32))


def test_catalogue_info_and_unload(sessions, demo):
    sessions.load(demo.info, demo.path)
    assert sessions.catalogue() == {KEY: demo.info}
    assert sessions.info(KEY) == demo.info
    assert KEY in sessions and len(sessions) == 1
    sessions.unload(KEY)
    sessions.unload(KEY)
    assert sessions.catalogue() == {} and KEY not in sessions


def test_loading_the_same_file_twice_is_a_no_op(sessions, demo):
    sessions.load(demo.info, demo.path)
    assert sessions.load(demo.info, demo.path) == demo.info
    assert len(sessions) == 1


def test_another_file_under_a_loaded_version_is_refused(sessions, demo, tmp_path):
    sessions.load(demo.info, demo.path)
    path = write(tmp_path, model_bytes(), sidecar())
    with pytest.raises(ModelConflict, match="another file is loaded under this version"):
        sessions.load(read_model(path), path)


def test_a_file_changed_since_registration_is_refused(sessions, demo, tmp_path):
    changed = tmp_path / "pump_health-1.onnx"
    changed.write_bytes(demo.data + b"\x00")
    with pytest.raises(ModelConflict, match=r"^model pump_health@1: file .*pump_health-1\.onnx "
                                            r"changed since it was registered \(sha256 "):
        sessions.load(demo.info, changed)
    assert KEY not in sessions


def test_a_missing_file_is_refused(sessions, demo, tmp_path):
    with pytest.raises(InvalidModel, match="cannot be read"):
        sessions.load(demo.info, tmp_path / "gone.onnx")


def test_info_that_does_not_match_the_file_is_refused(sessions, tmp_path):
    path = write(tmp_path, model_bytes(), sidecar())
    info = replace(read_model(path), outputs=("score", "label"))
    with pytest.raises(ModelMismatch, match="output 'label' not found"):
        sessions.load(info, path)
    assert len(sessions) == 0


def test_one_thread_sessions_start_no_threads(demo):
    before = os_threads()
    with ModelSessions(intra_op_threads=1) as sessions:
        sessions.load(demo.info, demo.path)
        for _ in range(50):
            sessions.run(KEY, np.ones((100, 5)))
        assert os_threads() == before
    assert wait_for_threads(before) == before


def test_two_thread_sessions_end_their_threads_when_unloaded(demo):
    before = os_threads()
    sessions = ModelSessions(intra_op_threads=2)
    sessions.load(demo.info, demo.path)
    sessions.run(KEY, np.ones((2000, 5)))
    assert os_threads() == before + 1
    sessions.unload(KEY)
    assert wait_for_threads(before) == before


def test_the_thread_count_is_checked():
    with pytest.raises(ValueError, match="intra_op_threads"):
        ModelSessions(intra_op_threads=4)


def test_the_engine_batches_requests_through_the_sessions(sessions, demo):
    sessions.load(demo.info, demo.path)
    engine = Engine(NodeRegistry.with_builtins(), inference=sessions)
    got: list[np.ndarray] = []
    engine.infer("f1", KEY, np.array([HEALTHY]), lambda out: got.append(out["score"]))
    engine.infer("f2", KEY, np.array([HEALTHY, HEALTHY]), lambda out: got.append(out["score"]))
    engine.advance(0.0)
    assert [g.shape for g in got] == [(1,), (2,)]
    assert got[0][0] == got[1][1] < 1.0


def test_the_runtime_side_needs_only_numpy_and_onnxruntime():
    code = ("import sys, runtime.ai, runtime.ai.registry; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'onnx'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


LAZY = """
import sys
from pathlib import Path
from runtime.ai import ModelSessions, sha256
from runtime.ai.model_file import info_from_metadata, read_sidecar, sidecar_of
from runtime.ai.registry import builtin_model_paths
path = builtin_model_paths()[0]
info = info_from_metadata(read_sidecar(sidecar_of(path)), sha256(path.read_bytes()), "demo")
sessions = ModelSessions()
sessions.register(info, path)
print("onnxruntime" in sys.modules, sorted(sessions.catalogue()), sessions.opened())
sessions.prepare([info.key])
print("onnxruntime" in sys.modules, sessions.opened())
"""


def test_a_registered_model_costs_no_session_until_it_is_prepared():
    result = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.splitlines() == ["False ['pump_health@1'] []",
                                          "True ['pump_health@1']"]


def test_a_registered_file_that_does_not_open_fails_the_deploy_at_its_node(tmp_path):
    path = write(tmp_path, model_bytes(shape=("N", 4)), sidecar(features=list("abcde"),
                                                               units=[""] * 5))
    meta = sidecar(features=list("abcde"), units=[""] * 5)
    info = replace(read_model(write(tmp_path, model_bytes(), meta, name="good")),
                   hash=sha256(path.read_bytes()))
    with ModelSessions() as sessions:
        sessions.register(info, path)  # hashed only: the mismatch shows when it opens
        engine = Engine(NodeRegistry.with_builtins(), inference=sessions)
        doc = {"schema": "lineside.project/1", "connections": [
            {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}],
            "tags": [{"id": t, "connection": "plc", "address": f"ns=2;s={t}"} for t in "ab"],
            "flows": [{"id": "f", "nodes": [{"id": "m", "type": "ai.onnx", "params": {
                "model": KEY, "features": [{"name": n, "tag": "a"} for n in "abcde"]}}]}]}
        with pytest.raises(ValidationFailed) as refused:
            engine.deploy(doc)
        assert engine.project is None and sessions.opened() == []
    (problem,) = refused.value.problems
    assert problem.path == "$.flows[0].nodes[0].params.model"
    assert problem.message.startswith("model pump_health@1: expects 4 features")
