"""What real SQLite errors say about the file: only corrupt or non-SQLite files are "bad";
locks, a full disk, a read-only or unopenable file are transient and never move a file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.store import faults
from runtime.store.holders import holders


def _error(action: Callable[[], object]) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        action()
    return caught.value


def _db(path: Path, pages: int = 0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    if pages:
        conn.executemany("INSERT INTO t VALUES (?)", [(os.urandom(900),)] * pages * 8)
    return conn


def test_a_lock_held_by_another_connection_is_busy_and_transient(tmp_path):
    path = tmp_path / "a.db"
    holder = _db(path)
    other = _db(path)
    try:
        holder.execute("BEGIN IMMEDIATE")
        exc = _error(lambda: other.execute("BEGIN IMMEDIATE"))
        assert faults.is_busy(exc) and faults.is_transient(exc) and not faults.is_bad_file(exc)
        assert "SQLITE_BUSY" in faults.describe(exc)
    finally:
        holder.close()
        other.close()


def test_a_full_database_is_disk_full_and_transient(tmp_path):
    conn = _db(tmp_path / "a.db")
    try:
        conn.execute("PRAGMA max_page_count = 3")
        exc = _error(lambda: conn.executemany("INSERT INTO t VALUES (?)",
                                              [(os.urandom(900),)] * 100))
        assert faults.is_disk_full(exc) and faults.is_transient(exc)
        assert not faults.is_bad_file(exc) and not faults.is_busy(exc)
    finally:
        conn.close()


def test_read_only_and_unopenable_files_are_transient(tmp_path):
    _db(tmp_path / "a.db").close()
    ro = sqlite3.connect(f"file:{tmp_path / 'a.db'}?mode=ro", uri=True)
    try:
        exc = _error(lambda: ro.execute("INSERT INTO t VALUES (1)"))
        assert faults.code(exc) == faults.READONLY and faults.is_transient(exc)
    finally:
        ro.close()
    exc = _error(lambda: sqlite3.connect(tmp_path / "no-such-folder" / "a.db"))
    assert faults.code(exc) == faults.CANTOPEN and faults.is_transient(exc)
    assert not faults.is_bad_file(exc)


def test_a_file_that_is_not_a_database_or_is_corrupt_is_bad(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    conn = sqlite3.connect(junk)
    try:
        exc = _error(lambda: conn.execute("SELECT * FROM sqlite_master").fetchall())
    finally:
        conn.close()
    assert faults.is_bad_file(exc) and not faults.is_transient(exc)

    scribbled = tmp_path / "scribbled.db"
    conn = _db(scribbled, pages=40)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(scribbled, "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(4096 * 20))
    conn = sqlite3.connect(scribbled)
    try:
        exc = _error(lambda: conn.execute("SELECT count(*), sum(length(x)) FROM t").fetchall())
    finally:
        conn.close()
    assert faults.is_bad_file(exc) and not faults.is_transient(exc)


def test_a_constraint_error_is_neither_bad_nor_transient(tmp_path):
    conn = sqlite3.connect(tmp_path / "a.db")
    try:
        conn.execute("CREATE TABLE k (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO k VALUES (1)")
        exc = _error(lambda: conn.execute("INSERT INTO k VALUES (1)"))
    finally:
        conn.close()
    assert not faults.is_bad_file(exc) and not faults.is_transient(exc)


def test_holders_names_this_process_while_it_has_the_file_open(tmp_path):
    path = tmp_path / "a.db"
    conn = _db(path)
    try:
        found = holders(path)
    finally:
        conn.close()
    assert [h.pid for h in found] == [os.getpid()]
    assert "this process" in str(found[0]) and found[0].command
    assert holders(path) == []
