"""Project versions: every deployed document, numbered, hashed, with who, when and why."""

from __future__ import annotations

import json
import sqlite3

from runtime.store.errors import UnknownVersion
from runtime.store.records import Version
from runtime.store.tx import Tx

_COLUMNS = "number, hash, user, ts, comment"


def save(tx: Tx, canonical: str, digest: str, user: str, comment: str) -> Version:
    """Save a document (its canonical JSON and hash) as the next version number."""
    number = tx.conn.execute("SELECT coalesce(max(number), 0) + 1 FROM versions").fetchone()[0]
    tx.conn.execute(
        "INSERT INTO versions (number, hash, user, ts, comment, document)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (number, digest, user, tx.now, comment, canonical),
    )
    return Version(number, digest, user, tx.now, comment)


def all_versions(conn: sqlite3.Connection) -> list[Version]:
    """Every version, oldest first."""
    return [Version(*r) for r in conn.execute(f"SELECT {_COLUMNS} FROM versions ORDER BY number")]


def document(conn: sqlite3.Connection, number: int) -> dict:
    """The document saved as version `number` (UnknownVersion if there is none)."""
    row = conn.execute("SELECT document FROM versions WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise UnknownVersion(number)
    return json.loads(row[0])


def latest(conn: sqlite3.Connection) -> Version | None:
    """The newest version, or None before the first save."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM versions ORDER BY number DESC LIMIT 1"
                       ).fetchone()
    return None if row is None else Version(*row)
