"""The model registry on a real store and real files: add, list, remove, refusals (audited),
persistence across reopening and files changed behind its back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from runtime.ai import (
    InvalidModel,
    ModelConflict,
    ModelInUse,
    ModelMismatch,
    ModelRegistry,
    ModelSessions,
    UnknownModel,
    builtin_models,
    read_model,
    sha256,
)
from runtime.ai.registry import file_name, shipped_model
from runtime.shipped import shipped
from runtime.store import Store, StoreConfig
from tests.unit.test_ai_model_file import model_bytes, sidecar, write

KEY = "pump_health@1"
FAST = StoreConfig(commit_interval_s=0.02)
DEMO = shipped("models", "pump_health-1.onnx")
ROWS = np.array([[1.9, 55.0, 41.9, 120.0, 6.0], [6.0, 75.0, 44.0, 119.0, 6.0]])


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db", FAST) as s:
        yield s


@pytest.fixture
def registry(store, tmp_path):
    return ModelRegistry(store, tmp_path / "models")


def audit(store: Store) -> list[tuple[str, str, str]]:
    return [(r.action, r.target, r.result) for r in store.audit_records(0, float("inf"))]


def test_a_model_is_added_as_a_checked_copy(registry, store, tmp_path):
    info = registry.add(DEMO, user="eve", role="engineer")
    assert info == builtin_models()[0].info
    copy = tmp_path / "models" / f"pump_health-1-{info.hash[:12]}.onnx"
    assert registry.path(KEY) == copy and copy.read_bytes() == DEMO.read_bytes()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [copy.name]
    assert registry.list() == [info] and registry.get(KEY) == info
    assert registry.metadata(KEY)["score"]["suggested_threshold"] == 6
    record = store.model(KEY)
    assert (record.user, record.file, record.hash) == ("eve", copy.name, info.hash)
    assert audit(store) == [("model.add", KEY, "ok")]


def test_adding_the_same_file_again_changes_nothing(registry, store):
    first = registry.add(DEMO, user="eve")
    assert registry.add(DEMO, user="olga") == first
    assert registry.add_builtins() == [first]
    assert len(store.models()) == 1
    assert audit(store) == [("model.add", KEY, "ok")]


def test_another_file_under_a_registered_version_is_refused(registry, store, tmp_path):
    info = registry.add(DEMO, user="eve")
    other = write(tmp_path, model_bytes(), sidecar())
    with pytest.raises(ModelConflict, match=r"^model pump_health@1: is already registered with "
                                            r"another file \(sha256 " + info.hash[:12]):
        registry.add(other, user="mallory")
    assert registry.list() == [info]
    assert registry.path(KEY).read_bytes() == DEMO.read_bytes()
    store.flush_future().result(5)
    assert audit(store)[-1] == ("model.add", KEY, "refused")
    # the same file as a new version is fine
    assert registry.add(other, sidecar(version=2)).key == "pump_health@2"


def test_a_bad_file_is_refused_audited_and_not_copied(registry, store, tmp_path):
    bad = write(tmp_path, b"not a model at all", sidecar(), name="bad")
    with pytest.raises(InvalidModel, match="file is not an ONNX model"):
        registry.add(bad, user="eve")
    store.flush_future().result(5)
    assert registry.list() == [] and list((tmp_path / "models").iterdir()) == []
    [record] = store.audit_records(0, float("inf"))
    assert (record.action, record.target, record.result, record.user) == (
        "model.add", "bad.onnx", "refused", "eve")
    assert "file is not an ONNX model" in record.details["error"]


def test_an_unused_model_is_removed_with_its_file(registry, store):
    registry.add(DEMO)
    path = registry.path(KEY)
    assert registry.remove(KEY, in_use={"other@1"}, user="olga").key == KEY
    assert registry.list() == [] and not path.exists()
    assert audit(store)[-1] == ("model.remove", KEY, "ok")
    with pytest.raises(UnknownModel, match="model pump_health@1: is not registered"):
        registry.path(KEY)


def test_a_model_in_use_is_not_removed(registry, store):
    info = registry.add(DEMO)
    with pytest.raises(ModelInUse, match=r"^model pump_health@1: is used by the deployed "
                                         r"project; remove it from the flows and deploy"):
        registry.remove(KEY, in_use={KEY}, user="olga")
    store.flush_future().result(5)
    assert registry.list() == [info] and registry.path(KEY).exists()
    assert audit(store)[-1] == ("model.remove", KEY, "refused")


@pytest.mark.parametrize("key", ["pump_health@2", "nonsense"])
def test_removing_an_unknown_model_is_refused(registry, key):
    with pytest.raises(UnknownModel, match=f"model {key}: is not registered"):
        registry.remove(key)


def test_registrations_survive_reopening_the_store(tmp_path):
    with Store(tmp_path / "store.db", FAST) as store:
        info = ModelRegistry(store, tmp_path / "models").add(DEMO, user="eve")
    with Store(tmp_path / "store.db", FAST) as store, ModelSessions() as sessions:
        registry = ModelRegistry(store, tmp_path / "models")
        assert registry.list() == [info]
        assert registry.load_all(sessions) == {}
        assert sessions.catalogue() == {KEY: info}
        scores = sessions.run(KEY, ROWS)["score"]
        assert scores[0] < 1.0 < 100.0 < scores[1]


def test_a_registered_file_changed_on_disk_is_not_loaded(registry, tmp_path, caplog):
    registry.add(DEMO)
    other = write(tmp_path, model_bytes(), sidecar(id="other"))
    registry.add(other)
    registry.path(KEY).write_bytes(DEMO.read_bytes() + b"\x00")
    with ModelSessions() as sessions:
        failed = registry.load_all(sessions)
        assert list(failed) == [KEY] and isinstance(failed[KEY], ModelConflict)
        assert "changed since it was registered" in str(failed[KEY])
        assert list(sessions.catalogue()) == ["other@1"]
    assert "ai.model_load_failed model=pump_health@1" in caplog.text


def test_a_registered_file_gone_from_disk_is_not_loaded(registry):
    registry.add(DEMO)
    registry.path(KEY).unlink()
    with ModelSessions() as sessions:
        failed = registry.load_all(sessions)
    assert isinstance(failed[KEY], InvalidModel) and "cannot be read" in str(failed[KEY])
    registry.add(DEMO)  # adding it again puts the file back
    with ModelSessions() as sessions:
        assert registry.load_all(sessions) == {}


async def test_the_registry_is_used_from_asyncio_through_a_worker_thread(registry):
    info = await asyncio.to_thread(registry.add, DEMO, None, "eve")
    assert await asyncio.to_thread(registry.list) == [info]


def test_builtin_models_are_the_shipped_files():
    [demo] = builtin_models()
    assert demo.path == DEMO and demo.info.hash == sha256(DEMO.read_bytes())
    assert file_name(demo.info) == f"pump_health-1-{demo.info.hash[:12]}.onnx"
    assert json.loads(DEMO.with_suffix(".json").read_text(encoding="utf-8"))["sha256"] == (
        demo.info.hash)



START = """
import sys
from pathlib import Path
from runtime.ai import ModelRegistry, ModelSessions
from runtime.store import Store
data = Path(sys.argv[1])
with Store(data / "store.db") as store, ModelSessions() as sessions:
    registry = ModelRegistry(store, data / "models")
    added = [info.key for info in registry.add_builtins()]
    failed = registry.load_all(sessions)
    print("onnxruntime" in sys.modules, added, sorted(sessions.catalogue()), failed)
"""


def test_starting_registers_the_shipped_models_without_opening_them(tmp_path):
    def start() -> str:
        return subprocess.run([sys.executable, "-c", START, str(tmp_path)], check=True,
                              capture_output=True, text=True, timeout=60).stdout.strip()

    first = start()
    assert first == "False ['pump_health@1'] ['pump_health@1'] {}"  # the pinned hash only
    assert start() == first
    (tmp_path / "models" / file_name(builtin_models()[0].info)).unlink()
    assert start() == first  # a lost copy is put back from the shipped file


def test_a_shipped_file_is_trusted_only_with_the_hash_its_sidecar_pins(tmp_path):
    demo = builtin_models()[0]
    meta = json.loads(DEMO.with_suffix(".json").read_text())
    pinned = write(tmp_path, demo.data, meta, name="pinned")
    assert shipped_model(pinned).info == demo.info
    tampered = write(tmp_path, demo.data + b"\x00", meta, name="tampered")
    with pytest.raises(ModelMismatch, match="the metadata is for another file"):
        shipped_model(tampered)
    unpinned = write(tmp_path, model_bytes(), sidecar(), name="unpinned")
    assert shipped_model(unpinned).info == read_model(unpinned)  # checked in full
    broken = write(tmp_path, b"not onnx", sidecar(), name="broken")
    with pytest.raises(InvalidModel, match="not an ONNX model"):
        shipped_model(broken)
