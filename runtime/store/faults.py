"""What an SQLite error says about the store: the file is bad, or it can't be used right now.

Only positive evidence that a file is not a usable database (SQLITE_CORRUPT, SQLITE_NOTADB)
may move it aside. A lock held by another process, an I/O error, a full disk or a permission
problem says nothing about the file: the store refuses to start, or the writer keeps what it
holds and retries, but the file is never touched.
"""

from __future__ import annotations

PERM, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR = 3, 5, 6, 7, 8, 9, 10
CORRUPT, FULL, CANTOPEN, PROTOCOL, AUTH, NOTADB = 11, 13, 14, 15, 23, 26

_BAD_FILE = frozenset({CORRUPT, NOTADB})
_TRANSIENT = frozenset({PERM, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, FULL, CANTOPEN,
                        PROTOCOL, AUTH})


def code(exc: BaseException) -> int | None:
    """The primary SQLite result code of an sqlite3 error (extended codes folded), or None."""
    value = getattr(exc, "sqlite_errorcode", None)
    return None if value is None else value & 0xFF


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED: another connection holds a lock we need."""
    return code(exc) in (BUSY, LOCKED)


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLITE_FULL ("database or disk is full")."""
    found = code(exc)
    return found == FULL or (found is None and "full" in str(exc))


def is_bad_file(exc: BaseException) -> bool:
    """True when the file itself is not a usable database (corrupt, or not SQLite at all)."""
    return code(exc) in _BAD_FILE


def is_transient(exc: BaseException) -> bool:
    """True when the database can't be used right now (lock, I/O, space, permissions, an
    interrupt): the same work may succeed later and the file is not to blame."""
    return code(exc) in _TRANSIENT or is_disk_full(exc)


def describe(exc: BaseException) -> str:
    """One line naming the error and its SQLite code, e.g. "database is locked (SQLITE_BUSY)"."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else str(exc)
