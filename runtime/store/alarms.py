"""Alarms with ISA-18.2 states, driven by alarm.raised / alarm.cleared events and by people.

    normal --raise--> active-unacked --ack--> active-acked --clear--> normal
                      active-unacked --clear--> returned-unacked --ack--> normal
                      returned-unacked --raise--> active-unacked
    any --shelve--> shelved (the process condition is still tracked in `active`)
    shelved --unshelve or expiry--> active-unacked if active, else normal

Shadow events never change an alarm. Acks and shelving write their audit record in the same
transaction as the state change.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields, replace

from runtime.contracts.messages import Event, EventKind
from runtime.store.errors import UnknownAlarm
from runtime.store.records import AlarmRecord, AlarmState
from runtime.store.tx import Tx

_COLUMNS = [f.name for f in fields(AlarmRecord)]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM alarms"
_SAVE = (f"INSERT OR REPLACE INTO alarms ({', '.join(_COLUMNS)})"
         f" VALUES ({', '.join('?' * len(_COLUMNS))})")
_PRIORITY_ORDER = ("CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
                   "WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END")

ACK, SHELVE, UNSHELVE = "alarm.ack", "alarm.shelve", "alarm.unshelve"


def _record(row: tuple) -> AlarmRecord:
    rec = AlarmRecord(*row)
    return replace(rec, active=bool(rec.active), ack_user=rec.ack_user or "",
                   ack_note=rec.ack_note or "", shelved_by=rec.shelved_by or "",
                   shelve_note=rec.shelve_note or "", flow=rec.flow or "", node=rec.node or "",
                   message=rec.message or "", priority=rec.priority or "")


def get(conn: sqlite3.Connection, alarm_id: str) -> AlarmRecord | None:
    """One alarm's record, or None if it was never raised."""
    row = conn.execute(f"{_SELECT} WHERE alarm = ?", (alarm_id,)).fetchone()
    return None if row is None else _record(row)


def active(conn: sqlite3.Connection, include_shelved: bool = False) -> list[AlarmRecord]:
    """Every alarm not normal (shelved ones only when asked), most important, newest first."""
    where = "state != 'normal'" if include_shelved else "state NOT IN ('normal', 'shelved')"
    rows = conn.execute(f"{_SELECT} WHERE {where} ORDER BY {_PRIORITY_ORDER}, raised_ts DESC")
    return [_record(r) for r in rows]


def shelved(conn: sqlite3.Connection) -> list[AlarmRecord]:
    """Shelved alarms, soonest to return first."""
    rows = conn.execute(f"{_SELECT} WHERE state = 'shelved' ORDER BY shelved_until")
    return [_record(r) for r in rows]


def next_expiry(conn: sqlite3.Connection) -> float | None:
    """When the first shelved alarm returns."""
    return conn.execute("SELECT min(shelved_until) FROM alarms WHERE state = 'shelved'"
                        ).fetchone()[0]


def _save(tx: Tx, rec: AlarmRecord) -> AlarmRecord:
    rec = replace(rec, updated_ts=tx.now)
    tx.conn.execute(_SAVE, [getattr(rec, c) for c in _COLUMNS])
    return rec


def apply_event(tx: Tx, event: Event) -> AlarmRecord | None:
    """Update the alarm an alarm.raised / alarm.cleared event names; others are ignored."""
    if event.shadow or event.kind not in (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED):
        return None
    alarm_id = str(event.data.get("alarm", ""))
    if not alarm_id:
        return None
    rec = get(tx.conn, alarm_id)
    if event.kind == EventKind.ALARM_RAISED:
        return _save(tx, raised(rec, alarm_id, event))
    if rec is None:
        return None
    return _save(tx, cleared(rec, event.ts))


def raised(rec: AlarmRecord | None, alarm_id: str, event: Event) -> AlarmRecord:
    """The alarm after its condition became active."""
    data = event.data
    if rec is None:
        rec = AlarmRecord(alarm_id, AlarmState.NORMAL, False, "", "", "", "", None, None, None,
                          "", "", None, "", "", event.ts)
    rec = replace(rec, priority=str(data.get("priority", rec.priority or "medium")),
                  message=str(data.get("message", rec.message)), flow=event.flow,
                  node=event.node)
    if rec.state == AlarmState.SHELVED:
        return replace(rec, active=True, raised_ts=event.ts, cleared_ts=None)
    if rec.state in (AlarmState.ACTIVE_UNACKED, AlarmState.ACTIVE_ACKED):
        return rec
    return replace(rec, state=AlarmState.ACTIVE_UNACKED, active=True, raised_ts=event.ts,
                   cleared_ts=None, acked_ts=None, ack_user="", ack_note="")


def cleared(rec: AlarmRecord, ts: float) -> AlarmRecord:
    """The alarm after its condition returned to normal."""
    if not rec.active:
        return rec
    state = {AlarmState.ACTIVE_UNACKED: AlarmState.RETURNED_UNACKED,
             AlarmState.ACTIVE_ACKED: AlarmState.NORMAL}.get(rec.state, rec.state)
    return replace(rec, state=state, active=False, cleared_ts=ts)


def acked(rec: AlarmRecord, user: str, note: str, ts: float) -> AlarmRecord:
    """The alarm after an operator acknowledged it (unchanged when nothing was unacked)."""
    state = {AlarmState.ACTIVE_UNACKED: AlarmState.ACTIVE_ACKED,
             AlarmState.RETURNED_UNACKED: AlarmState.NORMAL}.get(rec.state)
    if state is None:
        return rec
    return replace(rec, state=state, acked_ts=ts, ack_user=user, ack_note=note)


def unshelved(rec: AlarmRecord) -> AlarmRecord:
    """The alarm back from the shelf: annunciated again if its condition is still active."""
    if rec.state != AlarmState.SHELVED:
        return rec
    state = AlarmState.ACTIVE_UNACKED if rec.active else AlarmState.NORMAL
    return replace(rec, state=state, shelved_until=None, shelved_by="", shelve_note="",
                   acked_ts=None, ack_user="", ack_note="")


def ack(tx: Tx, alarm_id: str, user: str, note: str, role: str) -> AlarmRecord:
    """Acknowledge an alarm and audit it; UnknownAlarm (audited too) if never raised."""
    rec = _known(tx, ACK, alarm_id, user, role, note)
    new = acked(rec, user, note, tx.now)
    result = "ok" if new.state != rec.state else f"unchanged ({rec.state})"
    if new is not rec:
        new = _save(tx, new)
    tx.audit(user, role, ACK, alarm_id, result, note,
             {"from": rec.state, "to": new.state})
    return new


def shelve(tx: Tx, alarm_id: str, user: str, duration_s: float, note: str,
           role: str) -> AlarmRecord:
    """Shelve an alarm for duration_s and audit it; UnknownAlarm (audited) if never raised."""
    rec = _known(tx, SHELVE, alarm_id, user, role, note)
    until = tx.now + duration_s
    new = _save(tx, replace(rec, state=AlarmState.SHELVED, shelved_until=until,
                            shelved_by=user, shelve_note=note))
    tx.shelves_changed = True
    tx.audit(user, role, SHELVE, alarm_id, "ok", note,
             {"from": rec.state, "until": until, "duration_s": duration_s})
    return new


def unshelve(tx: Tx, alarm_id: str, user: str, role: str, cause: str = "") -> AlarmRecord:
    """Return a shelved alarm and audit it; UnknownAlarm (audited) if never raised."""
    rec = _known(tx, UNSHELVE, alarm_id, user, role, cause)
    new = unshelved(rec)
    result = "ok" if new is not rec else f"unchanged ({rec.state})"
    if new is not rec:
        new = _save(tx, new)
        tx.shelves_changed = True
    tx.audit(user, role, UNSHELVE, alarm_id, result, cause, {"to": new.state})
    return new


def expire_shelves(tx: Tx) -> int:
    """Return every alarm whose shelf time ran out (audited as user "system")."""
    due = [r[0] for r in tx.conn.execute(
        "SELECT alarm FROM alarms WHERE state = 'shelved' AND shelved_until <= ?", (tx.now,))]
    for alarm_id in due:
        unshelve(tx, alarm_id, "system", "system", "shelve time ran out")
    tx.shelves_changed = True
    return len(due)


def _known(tx: Tx, action: str, alarm_id: str, user: str, role: str,
           cause: str) -> AlarmRecord:
    rec = get(tx.conn, alarm_id)
    if rec is None:
        tx.audit(user, role, action, alarm_id, "refused: unknown alarm", cause)
        raise UnknownAlarm(alarm_id)
    return rec
