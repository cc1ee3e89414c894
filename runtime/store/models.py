"""Registered AI models: id@version, the SHA-256 and name of the file in the models folder,
the metadata as registered (JSON) and who added it when. The files themselves are kept by
runtime.ai.registry; every add and removal writes its audit record in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3

from runtime.store.errors import ModelVersionTaken, UnknownModelVersion
from runtime.store.records import ModelRecord
from runtime.store.tx import Tx

ADD, REMOVE = "model.add", "model.remove"
_SELECT = "SELECT id, version, hash, file, info, added_ts, user FROM models"


def split_key(key: str) -> tuple[str, int]:
    """("pump_health", 1) from "pump_health@1"; UnknownModelVersion for anything else."""
    model_id, at, version = key.rpartition("@")
    if not at or not model_id or not version.isdigit():
        raise UnknownModelVersion(key)
    return model_id, int(version)


def _record(row: tuple) -> ModelRecord:
    model_id, version, digest, file, info, added_ts, user = row
    return ModelRecord(model_id, version, digest, file, json.loads(info), added_ts, user)


def get(conn: sqlite3.Connection, model_id: str, version: int) -> ModelRecord | None:
    """One registered model version, or None."""
    row = conn.execute(f"{_SELECT} WHERE id = ? AND version = ?", (model_id, version)).fetchone()
    return None if row is None else _record(row)


def all_models(conn: sqlite3.Connection) -> list[ModelRecord]:
    """Every registered model version, by id then version."""
    return [_record(r) for r in conn.execute(f"{_SELECT} ORDER BY id, version")]


def add(tx: Tx, model_id: str, version: int, digest: str, file: str, info_json: str,
        user: str, role: str) -> ModelRecord:
    """Register a model version and audit it; the same file again changes nothing.

    ModelVersionTaken (audited as refused) when another file holds this id@version.
    """
    key = f"{model_id}@{version}"
    old = get(tx.conn, model_id, version)
    if old is not None:
        if old.hash != digest:
            tx.audit(user, role, ADD, key, "refused: another file has this version", "",
                     {"hash": digest, "registered_hash": old.hash})
            raise ModelVersionTaken(key, old.hash)
        tx.audit(user, role, ADD, key, "unchanged (already registered)", "", {"hash": digest})
        return old
    info = json.loads(info_json)
    if not isinstance(info, dict):
        raise ValueError("model info must be a JSON object")
    tx.conn.execute(
        "INSERT INTO models (id, version, hash, file, info, added_ts, user)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (model_id, version, digest, file, info_json, tx.now, user),
    )
    tx.audit(user, role, ADD, key, "ok", "", {"hash": digest, "file": file})
    return ModelRecord(model_id, version, digest, file, info, tx.now, user)


def remove(tx: Tx, key: str, user: str, role: str) -> ModelRecord:
    """Unregister a model version and audit it; UnknownModelVersion (audited) if absent."""
    try:
        model_id, version = split_key(key)
        old = get(tx.conn, model_id, version)
        if old is None:
            raise UnknownModelVersion(key)
    except UnknownModelVersion:
        tx.audit(user, role, REMOVE, key, "refused: unknown model")
        raise
    tx.conn.execute("DELETE FROM models WHERE id = ? AND version = ?", (model_id, version))
    tx.audit(user, role, REMOVE, key, "ok", "", {"hash": old.hash, "file": old.file})
    return old
