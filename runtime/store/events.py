"""The event log: every alarm raise/clear, write, refused write and line-mode change."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from runtime.contracts.messages import Event
from runtime.store.records import EventRecord
from runtime.store.tx import Tx


def encode(event: Event) -> str:
    """The event's data as compact JSON (anything not JSON is written as its str)."""
    return json.dumps(event.data, default=str, separators=(",", ":"), ensure_ascii=False)


def insert(tx: Tx, event: Event, data_json: str) -> int:
    """Store the event; when forwarding, add its outbox record [seq, kind, ts, flow, node,
    data, shadow] to the transaction."""
    alarm = event.data.get("alarm")
    cur = tx.conn.execute(
        "INSERT INTO events (ts, kind, flow, node, alarm, data, shadow)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event.ts, event.kind, event.flow, event.node, None if alarm is None else str(alarm),
         data_json, int(event.shadow)),
    )
    if tx.forward_events:
        tx.event_records.append([tx.take_seq(1), event.kind, event.ts, event.flow, event.node,
                                 json.loads(data_json), event.shadow])
    assert cur.lastrowid is not None  # set by the INSERT
    return cur.lastrowid


def query(conn: sqlite3.Connection, start: float, end: float,
          kinds: Iterable[str] | None = None, limit: int = 1000,
          newest_first: bool = False) -> list[EventRecord]:
    """Events with start <= ts < end, optionally of some kinds, oldest (or newest) first."""
    sql = "SELECT id, kind, ts, flow, node, data, shadow FROM events WHERE ts >= ? AND ts < ?"
    params: list = [start, end]
    if kinds is not None:
        kinds = list(kinds)
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += kinds
    sql += f" ORDER BY ts {'DESC' if newest_first else 'ASC'}, id LIMIT ?"
    params.append(limit)
    return [EventRecord(i, k, ts, f or "", n or "", json.loads(d or "{}"), bool(s))
            for i, k, ts, f, n, d, s in conn.execute(sql, params)]
