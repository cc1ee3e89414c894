"""The store's schema: an application id that marks the file as ours, and numbered migrations.

PRAGMA user_version holds the schema version; MIGRATIONS[i] takes a database from version i
to i + 1. A new schema change appends a function here and never edits an old one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import sqlite_utils

APPLICATION_ID = 0x4C6E5364  # "LnSd"

META_DEFAULTS = {
    "next_seq": 0,
    "dropped_records": 0,
    "deleted_samples": 0,
    "deleted_events": 0,
    "deleted_audit": 0,
}


def _v1_initial(db: sqlite_utils.Database) -> None:
    """Historian, events, alarms, audit, versions, outbox and meta."""
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
    db.table("meta").insert_all(
        [{"key": k, "value": v} for k, v in {**META_DEFAULTS, "created_ts": time.time()}.items()]
    )
    db.table("tags").create({"key": int, "tag": str, "kind": str}, pk="key",
                            not_null={"tag", "kind"})
    db.table("tags").create_index(["tag"], unique=True)
    # value has no declared type, so floats stay REAL, ints INTEGER, bools 0/1 and strings
    # TEXT exactly as recorded; ts is integer microseconds since the epoch.
    db.execute(
        "CREATE TABLE samples (tag_key INTEGER NOT NULL, ts INTEGER NOT NULL, value,"
        " quality INTEGER NOT NULL, PRIMARY KEY (tag_key, ts)) WITHOUT ROWID"
    )
    db.table("events").create(
        {"id": int, "ts": float, "kind": str, "flow": str, "node": str, "alarm": str,
         "data": str, "shadow": int},
        pk="id",
    )
    db.table("events").create_index(["ts"])
    db.table("events").create_index(["kind", "ts"])
    db.table("alarms").create(
        {"alarm": str, "state": str, "active": int, "priority": str, "message": str,
         "flow": str, "node": str, "raised_ts": float, "cleared_ts": float, "acked_ts": float,
         "ack_user": str, "ack_note": str, "updated_ts": float},
        pk="alarm",
    )
    db.table("audit").create(
        {"id": int, "ts": float, "user": str, "role": str, "action": str, "target": str,
         "result": str, "cause": str, "details": str},
        pk="id",
    )
    db.table("audit").create_index(["ts"])
    db.table("audit").create_index(["action", "ts"])
    db.table("versions").create(
        {"number": int, "hash": str, "user": str, "ts": float, "comment": str,
         "document": str},
        pk="number",
    )
    # AUTOINCREMENT: a chunk id is never reused, so a late ack can't delete a newer chunk.
    db.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
        " seq_first INTEGER NOT NULL, seq_last INTEGER NOT NULL, count INTEGER NOT NULL,"
        " created_ts REAL NOT NULL, payload BLOB NOT NULL, bytes INTEGER NOT NULL)"
    )


def _v2_shelving(db: sqlite_utils.Database) -> None:
    """Alarm shelving: until when, by whom and why."""
    db.table("alarms").add_column("shelved_until", float)
    db.table("alarms").add_column("shelved_by", str)
    db.table("alarms").add_column("shelve_note", str)


def _v3_models(db: sqlite_utils.Database) -> None:
    """Registered AI models: id@version, file hash and name, metadata JSON, who added them."""
    db.execute(
        "CREATE TABLE models (id TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,"
        " file TEXT NOT NULL, info TEXT NOT NULL, added_ts REAL NOT NULL, user TEXT NOT NULL,"
        " PRIMARY KEY (id, version))"
    )


def _v4_incarnation(db: sqlite_utils.Database) -> None:
    """A random id for this store's life (meta.incarnation): a store created afresh, first
    or after a bad file was moved aside, starts its sequence at 0 again under a new one."""
    db.execute("INSERT INTO meta (key, value) VALUES ('incarnation', ?)", [uuid.uuid4().hex])


def _v5_dropped_events(db: sqlite_utils.Database) -> None:
    """meta.dropped_event_records: the event records among dropped_records."""
    db.execute("INSERT INTO meta (key, value) VALUES ('dropped_event_records', 0)")


def _v6_users(db: sqlite_utils.Database) -> None:
    """User accounts of the control API: role, password hash (encoded, with its salt and
    parameters), consecutive failed logins and lockout, who made them and when."""
    db.execute(
        "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,"
        " failed_logins INTEGER NOT NULL DEFAULT 0, locked_until REAL,"
        " created_ts REAL NOT NULL, changed_ts REAL NOT NULL, created_by TEXT NOT NULL)"
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_initial, _v2_shelving, _v3_models, _v4_incarnation, _v5_dropped_events, _v6_users,
]
COUNTERS = {**META_DEFAULTS, "dropped_event_records": 0}
"""Every count kept in meta, with its value in a new store (the writer reads them as int)."""
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations up to `target`, each in its own transaction; returns the version."""
    version = schema_version(db)
    while version < target:
        with db.atomic():
            if version == 0:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            MIGRATIONS[version](db)
            version += 1
            db.execute(f"PRAGMA user_version = {version}")
    return version
