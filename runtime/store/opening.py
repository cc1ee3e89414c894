"""Opening the database file: refuse a newer schema, move a corrupt or foreign file aside.

A file that is not SQLite, fails PRAGMA quick_check, or is an SQLite database that isn't
ours (no or another application_id, no meta table) is renamed with its -wal and -shm to
NAME.corrupt-YYYYmmddTHHMMSS (never overwritten, never deleted) and a fresh store is created.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from runtime.store.errors import SchemaTooNew
from runtime.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

log = logging.getLogger("runtime.store")

_SIDE_FILES = ("-wal", "-shm", "-journal")
_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000


def connect(path: Path, *, cache_mb: int = 16, read_only: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL; autocommit, transactions explicit."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA cache_size = {-1024 * cache_mb}")
    conn.execute("PRAGMA synchronous = FULL")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
    return conn


def database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over an existing connection (no plugins, no pragmas of its own)."""
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def prepare(path: Path) -> Path | None:
    """Make `path` a current Lineside store; returns where a bad file was moved, if one was.

    Raises SchemaTooNew, leaving the file untouched, when a newer Lineside wrote it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    moved: Path | None = None
    if path.exists():
        problem = _problem(path)
        if problem:
            moved = _move_aside(path)
            log.error("store.recovered path=%s moved_to=%s reason=%s; a fresh store was created",
                      path, moved, _quote(problem))
    conn = connect(path)
    try:
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            conn.execute("PRAGMA page_size = 8192")
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(database(conn))
    finally:
        conn.close()
    return moved


def _problem(path: Path) -> str | None:
    """Why the file can't be used as our store, or None when it can (or is empty)."""
    with open(path, "rb") as f:
        head = f.read(len(_MAGIC))
    if head and head != _MAGIC:
        # Not SQLite at all: never let SQLite open it (it could delete a -wal beside it).
        return "not an SQLite database (no SQLite header)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return f"cannot be opened: {exc}"
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id == 0 and version == 0 and not tables:
            return None
        if app_id != APPLICATION_ID:
            return f"not a Lineside store (application_id={app_id:#x}, tables={len(tables)})"
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(path, version, SCHEMA_VERSION)
        if "meta" not in tables:
            return "not a Lineside store (no meta table)"
        check = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        if check != ["ok"]:
            return "failed quick_check: " + "; ".join(check)
        return None
    except sqlite3.DatabaseError as exc:
        return f"not a readable SQLite database ({exc})"
    finally:
        conn.close()


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 0
    while any(Path(f"{target}{s}").exists() for s in ("", *_SIDE_FILES)):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("", *_SIDE_FILES):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.rename(source, f"{target}{suffix}")
    return target


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'
