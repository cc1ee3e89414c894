"""Opening the database file: refuse a newer schema, wait out a lock, move a bad file aside.

A file that is not SQLite, is corrupt (SQLITE_CORRUPT, SQLITE_NOTADB, PRAGMA quick_check),
or is an SQLite database that isn't ours (no or another application_id, no meta table) is
renamed with its -wal and -shm to NAME.corrupt-YYYYmmddTHHMMSS (never overwritten, never
deleted) and a fresh store is created. Anything else that goes wrong says nothing about the
file and never moves it: a lock held by another process is waited out for
open_lock_timeout_s, then refused (StoreLocked, naming the holder); an I/O error or a
permission problem is refused at once (StoreUnavailable).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from runtime.store import faults
from runtime.store.errors import SchemaTooNew, StoreLocked, StoreUnavailable
from runtime.store.holders import holders
from runtime.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

log = logging.getLogger("runtime.store")

_SIDE_FILES = ("-wal", "-shm", "-journal")
_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
LOCK_STEP_MS = 250  # how long one attempt waits in SQLite's busy handler
_LOCK_PAUSE_S = 0.1


def connect(path: Path, *, cache_mb: int = 16, read_only: bool = False,
            busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL; autocommit, transactions explicit."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    conn.execute(f"PRAGMA cache_size = {-1024 * cache_mb}")
    conn.execute("PRAGMA synchronous = FULL")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
    return conn


def connect_writer(path: Path, cache_mb: int) -> sqlite3.Connection:
    """The write connection as the writer uses it (and the bench's raw SQLite ceiling).

    A lock held by another process is waited for only LOCK_STEP_MS; the writer then keeps
    what it holds and retries, so it always gets back to its queue (and to close()) soon.
    """
    conn = connect(path, cache_mb=cache_mb, busy_timeout_ms=LOCK_STEP_MS)
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA wal_autocheckpoint = 4096")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return conn


def database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over an existing connection (no plugins, no pragmas of its own)."""
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def prepare(path: Path, lock_timeout_s: float = 30.0) -> Path | None:
    """Make `path` a current Lineside store we can write; returns where a bad file was moved.

    Raises SchemaTooNew when a newer Lineside wrote it, StoreLocked when another process
    kept it locked for lock_timeout_s, StoreUnavailable when it can't be used for another
    reason (I/O, permissions); in all three cases the file is left as it is.
    """
    started = time.monotonic()
    moved: Path | None = None
    waiting = False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            moved = _check(path) or moved
            _create_or_migrate(path)
            return moved
        except OSError as exc:
            raise StoreUnavailable(path, exc.strerror or str(exc)) from exc
        except sqlite3.Error as exc:
            waited = time.monotonic() - started
            if not faults.is_busy(exc):
                raise refusal(path, exc) from exc
            if waited >= lock_timeout_s:
                raise StoreLocked(path, holders(path), waited) from exc
            if not waiting:
                waiting = True
                who = ",".join(str(h.pid) for h in holders(path)) or "unknown"
                log.warning("store.open_waiting path=%s reason=locked holder_pids=%s"
                            " timeout_s=%g", path, who, lock_timeout_s)
        time.sleep(_LOCK_PAUSE_S)


def refusal(path: Path, exc: sqlite3.Error) -> StoreUnavailable:
    """The typed error for a database that can't be used right now (never a reason to move
    it aside): StoreLocked naming the holders for a lock, StoreUnavailable otherwise."""
    if faults.is_busy(exc):
        return StoreLocked(path, holders(path), 0.0)
    return StoreUnavailable(path, faults.describe(exc))


def _check(path: Path) -> Path | None:
    """Move the file aside when it is positively not a usable store; returns where it went."""
    if not path.exists():
        return None
    problem = _problem(path)
    if not problem:
        return None
    moved = _move_aside(path)
    log.error("store.recovered path=%s moved_to=%s reason=%s; a fresh store was created",
              path, moved, _quote(problem))
    return moved


def _create_or_migrate(path: Path) -> None:
    """Create or migrate the schema, having taken the write lock once: a store another
    process keeps locked is found out here, not at the first commit."""
    conn = connect(path, busy_timeout_ms=LOCK_STEP_MS)
    try:
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            conn.execute("PRAGMA page_size = 8192")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        migrate(database(conn))
    finally:
        conn.close()


def _problem(path: Path) -> str | None:
    """Why the file can't be used as our store, or None when it can (or is empty).

    Errors that say nothing about the file (a lock, I/O, permissions) are raised, not
    returned: they must never get a file moved aside.
    """
    with open(path, "rb") as f:
        head = f.read(len(_MAGIC))
    if head and head != _MAGIC:
        # Not SQLite at all: never let SQLite open it (it could delete a -wal beside it).
        return "not an SQLite database (no SQLite header)"
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None,
                           timeout=LOCK_STEP_MS / 1000)
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
        if faults.is_bad_file(exc):
            return f"not a readable SQLite database ({faults.describe(exc)})"
        raise
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
