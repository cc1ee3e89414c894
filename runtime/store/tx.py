"""One write transaction of the writer: the connection, the clock, the sequence counter and
what the transaction changed, applied to the writer's state only once it committed."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tx:
    """What one transaction did; the writer adopts it after COMMIT and forgets it on rollback."""

    conn: sqlite3.Connection
    now: float
    next_seq: int
    forward_events: bool = True
    samples: int = 0
    event_records: list[list[Any]] = field(default_factory=list)
    outbox_records: int = 0
    outbox_bytes: int = 0
    outbox_chunks: int = 0
    outbox_oldest_changed: bool = False
    dropped_records: int = 0
    dropped_event_records: int = 0
    shelves_changed: bool = False

    def take_seq(self, n: int) -> int:
        """Reserve n consecutive sequence numbers; returns the first."""
        first = self.next_seq
        self.next_seq += n
        return first

    def audit(self, user: str, role: str, action: str, target: str, result: str,
              cause: str = "", details: dict[str, Any] | None = None,
              ts: float | None = None) -> int:
        """Insert an audit record in this transaction; returns its id."""
        cur = self.conn.execute(
            "INSERT INTO audit (ts, user, role, action, target, result, cause, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.now if ts is None else ts, user, role, action, target, result, cause,
             json.dumps(details or {}, default=str, separators=(",", ":"))),
        )
        assert cur.lastrowid is not None  # set by the INSERT
        return cur.lastrowid
