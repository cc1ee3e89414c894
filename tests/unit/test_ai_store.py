"""The store's models table: register, list, remove, each with its audit record; the
migration of a version 2 store; registrations kept across reopening."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from runtime.store import ModelVersionTaken, Store, StoreConfig, UnknownModelVersion
from runtime.store.opening import connect, database
from runtime.store.schema import SCHEMA_VERSION, migrate, schema_version

T0 = 1_700_000_000.0
FAST = StoreConfig(commit_interval_s=0.02)
INFO = {"id": "pump_health", "version": 1, "features": ["a", "b"], "threshold": 6}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db", FAST, clock=lambda: T0) as s:
        yield s


def add(store: Store, digest: str = "ab" * 32, version: int = 1, user: str = "eve"):
    return store.add_model("pump_health", version, digest, f"pump_health-{version}.onnx",
                           json.dumps({**INFO, "version": version}), user, "engineer").result(5)


def audit(store: Store) -> list[tuple[str, str, str, str]]:
    return [(r.action, r.target, r.result, r.user)
            for r in store.audit_records(0, float("inf"))]


def test_a_model_is_registered_listed_and_audited(store):
    record = add(store)
    assert record.key == "pump_health@1"
    assert (record.hash, record.file, record.user, record.added_ts) == (
        "ab" * 32, "pump_health-1.onnx", "eve", T0)
    assert record.info == INFO
    assert store.models() == [record]
    assert store.model("pump_health@1") == record
    assert store.model("pump_health@2") is None
    assert audit(store) == [("model.add", "pump_health@1", "ok", "eve")]
    assert store.audit_records(0, float("inf"))[0].details == {
        "hash": "ab" * 32, "file": "pump_health-1.onnx"}


def test_models_are_listed_by_id_then_version(store):
    add(store, version=2, digest="02" * 32)
    add(store, version=1)
    store.add_model("a_model", 3, "03" * 32, "a.onnx", "{}", "eve").result(5)
    assert [r.key for r in store.models()] == ["a_model@3", "pump_health@1", "pump_health@2"]


def test_the_same_file_again_changes_nothing(store):
    first = add(store)
    assert add(store, user="olga") == first
    assert len(store.models()) == 1
    assert audit(store)[-1] == ("model.add", "pump_health@1", "unchanged (already registered)",
                                "olga")


def test_another_file_under_a_registered_version_is_refused_and_audited(store):
    add(store)
    with pytest.raises(ModelVersionTaken, match=r"pump_health@1 is already registered with "
                                                r"another file \(sha256 abababababab"):
        add(store, digest="cd" * 32, user="mallory")
    assert store.model("pump_health@1").hash == "ab" * 32
    assert audit(store)[-1] == ("model.add", "pump_health@1",
                                "refused: another file has this version", "mallory")


def test_a_model_is_removed_and_audited(store):
    record = add(store)
    assert store.remove_model("pump_health@1", "olga", "engineer").result(5) == record
    assert store.models() == []
    assert audit(store)[-1] == ("model.remove", "pump_health@1", "ok", "olga")


@pytest.mark.parametrize("key", ["pump_health@2", "pump_health", "@1", "pump_health@x"])
def test_removing_an_unknown_model_is_refused_and_audited(store, key):
    add(store)
    with pytest.raises(UnknownModelVersion, match="is not registered"):
        store.remove_model(key, "olga").result(5)
    assert len(store.models()) == 1
    assert audit(store)[-1] == ("model.remove", key, "refused: unknown model", "olga")


def test_info_must_be_a_json_object(store):
    with pytest.raises(ValueError, match="JSON object"):
        store.add_model("m", 1, "ab" * 32, "m.onnx", "[1, 2]", "eve").result(5)
    assert store.models() == []


def test_registrations_are_kept_across_reopening(tmp_path):
    with Store(tmp_path / "store.db", FAST) as store:
        record = add(store)
    with Store(tmp_path / "store.db", FAST) as store:
        assert store.models() == [record]


def test_a_version_2_store_is_upgraded_with_a_models_table(tmp_path):
    path = tmp_path / "store.db"
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrate(database(conn), target=2) == 2
    conn.execute("INSERT INTO versions (number, hash, user, ts, comment, document)"
                 " VALUES (1, 'h', 'eve', 1.0, 'first', '{}')")
    conn.execute("INSERT INTO audit (ts, user, action, target, result) VALUES"
                 " (?, 'eve', 'deploy', 'project', 'ok')", (time.time(),))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "models" not in tables
    conn.close()
    with Store(path, FAST) as store:
        assert store.recovered_from is None
        assert store.latest_version().comment == "first"
        assert store.models() == []
        add(store, user="olga")
        assert [r.action for r in store.audit_records(0, float("inf"))] == [
            "deploy", "model.add"]
    with sqlite3.connect(path) as conn:
        assert schema_version(database(conn)) == SCHEMA_VERSION >= 3
        assert conn.execute("SELECT id, version, user FROM models").fetchall() == [
            ("pump_health", 1, "olga")]
    conn.close()
