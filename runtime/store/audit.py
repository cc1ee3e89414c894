"""The audit log: who wrote to a PLC, deployed, rolled back, acked, shelved, changed mode or
logged in, with the result and the cause. Records are inserted through Tx.audit."""

from __future__ import annotations

import json
import sqlite3

from runtime.store.records import AuditRecord


def records(conn: sqlite3.Connection, start: float, end: float, action: str | None = None,
            limit: int = 1000, newest_first: bool = False) -> list[AuditRecord]:
    """Audit records with start <= ts < end, optionally of one action, oldest (or newest) first."""
    sql = ("SELECT id, ts, user, role, action, target, result, cause, details FROM audit"
           " WHERE ts >= ? AND ts < ?")
    params: list = [start, end]
    if action is not None:
        sql += " AND action = ?"
        params.append(action)
    sql += f" ORDER BY ts {'DESC' if newest_first else 'ASC'}, id LIMIT ?"
    params.append(limit)
    return [AuditRecord(i, ts, u or "", r or "", a, t or "", res or "", c or "",
                        json.loads(d or "{}"))
            for i, ts, u, r, a, t, res, c, d in conn.execute(sql, params)]
