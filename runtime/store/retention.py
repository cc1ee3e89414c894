"""Retention: the historian bounded by age and bytes, events, shadow events and audit by age.

Deletes go oldest first in small batches (at most StoreConfig.retention_batch_rows rows a
pass), so the writer never stalls long; the writer runs another pass soon while more is due.
Historian bytes are the database's used pages less the outbox payload; events, audit and
versions are small next to the samples and count against the historian's budget.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from runtime.store.config import StoreConfig
from runtime.store.historian import US

_DELETE_TAG_BEFORE = """
DELETE FROM samples WHERE tag_key = :k AND ts < min(:cut, coalesce(
    (SELECT ts FROM samples WHERE tag_key = :k ORDER BY ts LIMIT 1 OFFSET :n), :cut))
"""


@dataclass
class Deleted:
    """What one retention pass deleted, and whether more is due."""

    samples: int = 0
    events: int = 0
    audit: int = 0
    more: bool = False


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database file in use (pages not on the freelist)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * conn.execute("PRAGMA page_size").fetchone()[0]


def historian_bytes(conn: sqlite3.Connection, outbox_bytes: int) -> int:
    """The historian's share of the database, as this module measures it."""
    return max(0, used_bytes(conn) - outbox_bytes)


def _delete_before(conn: sqlite3.Connection, cutoff_us: int, budget: int) -> tuple[int, bool]:
    """Delete samples older than cutoff_us, at most `budget`; returns (deleted, more)."""
    deleted = 0
    for (key,) in conn.execute("SELECT key FROM tags ORDER BY key").fetchall():
        deleted += conn.execute(_DELETE_TAG_BEFORE,
                                {"k": key, "cut": cutoff_us, "n": budget - deleted}).rowcount
        if deleted >= budget:
            return deleted, True
    return deleted, False


def _oldest_span(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """Oldest and newest sample timestamp across all tags."""
    lo: int | None = None
    hi: int | None = None
    for (key,) in conn.execute("SELECT key FROM tags").fetchall():
        a, b = conn.execute("SELECT min(ts), max(ts) FROM samples WHERE tag_key = ?",
                            (key,)).fetchone()
        if a is not None:
            lo = a if lo is None else min(lo, a)
            hi = b if hi is None else max(hi, b)
    return None if lo is None or hi is None else (lo, hi)


def _delete_old(conn: sqlite3.Connection, table: str, cutoff: float, budget: int,
                where: str = "1") -> int:
    return conn.execute(
        f"DELETE FROM {table} WHERE id IN"
        f" (SELECT id FROM {table} WHERE ts < ? AND {where} ORDER BY ts LIMIT ?)",
        (cutoff, budget)
    ).rowcount


def run_pass(conn: sqlite3.Connection, config: StoreConfig, now: float,
             outbox_bytes: int) -> Deleted:
    """One bounded retention pass inside the caller's transaction."""
    budget = config.retention_batch_rows
    done = Deleted()
    done.samples, done.more = _delete_before(
        conn, round((now - config.historian_max_age_s) * US), budget)
    if not done.more and historian_bytes(conn, outbox_bytes) > config.historian_max_bytes:
        span = _oldest_span(conn)
        if span is not None:
            lo, hi = span
            cutoff = lo + max((hi - lo) // 50, 1)
            n, _ = _delete_before(conn, cutoff, budget - done.samples)
            done.samples += n
            done.more = n > 0
    done.events = _delete_old(conn, "events", now - config.events_max_age_s, budget)
    if done.events < budget and config.shadow_max_age_s < config.events_max_age_s:
        done.events += _delete_old(conn, "events", now - config.shadow_max_age_s,
                                   budget - done.events, where="shadow = 1")
    done.audit = _delete_old(conn, "audit", now - config.audit_max_age_s, budget)
    done.more = done.more or done.events >= budget or done.audit >= budget
    return done
