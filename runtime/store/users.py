"""User accounts of the control API: role, password hash, consecutive failed logins and
lockout, who made them and when. The store keeps what it is given (hashing, names, roles and
the lockout policy are runtime.api.users'); every change and every login attempt writes its
audit record in the same transaction, refusals included. No change leaves the accounts
without an admin once there is one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from runtime.contracts.roles import ADMIN
from runtime.store.errors import LastAdmin, UnknownUser, UserExists
from runtime.store.records import UserRecord
from runtime.store.tx import Tx

ADD, PASSWD, ROLE, REMOVE = "user.add", "user.passwd", "user.role", "user.remove"
LOGIN = "auth.login"
_SELECT = ("SELECT name, role, password, failed_logins, locked_until, created_ts, changed_ts,"
           " created_by FROM users")


def get(conn: sqlite3.Connection, name: str) -> UserRecord | None:
    """One user account, or None."""
    row = conn.execute(f"{_SELECT} WHERE name = ?", (name,)).fetchone()
    return None if row is None else UserRecord(*row)


def all_users(conn: sqlite3.Connection) -> list[UserRecord]:
    """Every user account, by name."""
    return [UserRecord(*row) for row in conn.execute(f"{_SELECT} ORDER BY name")]


def add(tx: Tx, name: str, role: str, password: str, by: str, by_role: str) -> UserRecord:
    """Add an account and audit it; UserExists (audited as refused) if the name is taken."""
    if get(tx.conn, name) is not None:
        tx.audit(by, by_role, ADD, name, "refused: name taken", "", {"role": role})
        raise UserExists(name)
    record = UserRecord(name, role, password, 0, None, tx.now, tx.now, by)
    tx.conn.execute(
        "INSERT INTO users (name, role, password, failed_logins, locked_until, created_ts,"
        " changed_ts, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (name, role, password, 0, None, tx.now, tx.now, by),
    )
    tx.audit(by, by_role, ADD, name, "ok", "", {"role": role})
    return record


def set_password(tx: Tx, name: str, password: str, by: str, by_role: str) -> UserRecord:
    """Replace an account's password hash and clear its failed logins and lock, audited."""
    old = _existing(tx, name, PASSWD, by, by_role)
    tx.conn.execute("UPDATE users SET password = ?, failed_logins = 0, locked_until = NULL,"
                    " changed_ts = ? WHERE name = ?", (password, tx.now, name))
    tx.audit(by, by_role, PASSWD, name, "ok", "",
             {"cleared_failed_logins": old.failed_logins} if old.failed_logins else None)
    return replace(old, password=password, failed_logins=0, locked_until=None,
                   changed_ts=tx.now)


def set_role(tx: Tx, name: str, role: str, by: str, by_role: str) -> UserRecord:
    """Give an account another role, audited; LastAdmin (audited) for the last admin."""
    old = _existing(tx, name, ROLE, by, by_role)
    details = {"from": old.role, "to": role}
    if role != ADMIN:
        _keep_an_admin(tx, old, ROLE, by, by_role, details)
    tx.conn.execute("UPDATE users SET role = ?, changed_ts = ? WHERE name = ?",
                    (role, tx.now, name))
    tx.audit(by, by_role, ROLE, name, "ok", "", details)
    return replace(old, role=role, changed_ts=tx.now)


def remove(tx: Tx, name: str, by: str, by_role: str) -> UserRecord:
    """Remove an account, audited; UnknownUser or LastAdmin (both audited) if it can't be."""
    old = _existing(tx, name, REMOVE, by, by_role)
    details = {"role": old.role}
    _keep_an_admin(tx, old, REMOVE, by, by_role, details)
    tx.conn.execute("DELETE FROM users WHERE name = ?", (name,))
    tx.audit(by, by_role, REMOVE, name, "ok", "", details)
    return old


def record_login(tx: Tx, name: str, ok: bool, locked_until: float | None, client: str,
                 while_locked: bool) -> UserRecord | None:
    """Record a login attempt on `name` and audit it (auth.login, user: the name tried).

    ok resets the failed logins, a refusal counts one more; locked_until is the lock in force
    after the attempt (None: none). An attempt refused `while_locked` changes nothing (its
    password was not checked). Returns the account as it is now, None for an unknown name.
    """
    old = get(tx.conn, name)
    details: dict[str, Any] = {"client": client}
    if old is None:
        tx.audit(name, "", LOGIN, name, "refused: unknown user", "", details)
        return None
    if while_locked:
        tx.audit(name, old.role, LOGIN, name, "refused: locked", "",
                 {**details, "locked_until": old.locked_until})
        return old
    failed = 0 if ok else old.failed_logins + 1
    tx.conn.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?",
                    (failed, locked_until, name))
    cause = ""
    if not ok and locked_until is not None:
        cause = f"locked after {failed} failed logins in a row"
        details["locked_until"] = locked_until
    tx.audit(name, old.role, LOGIN, name, "ok" if ok else "refused: bad password", cause,
             details)
    return replace(old, failed_logins=failed, locked_until=locked_until)


def _existing(tx: Tx, name: str, action: str, by: str, by_role: str) -> UserRecord:
    """The account to change; UnknownUser, audited as a refused `action`, if there is none."""
    old = get(tx.conn, name)
    if old is None:
        tx.audit(by, by_role, action, name, "refused: unknown user")
        raise UnknownUser(name)
    return old


def _keep_an_admin(tx: Tx, old: UserRecord, action: str, by: str, by_role: str,
                   details: dict[str, Any]) -> None:
    """LastAdmin, audited as a refused `action`, when `old` is the only admin left."""
    if old.role != ADMIN:
        return
    admins = tx.conn.execute("SELECT COUNT(*) FROM users WHERE role = ?", (ADMIN,)).fetchone()[0]
    if admins <= 1:
        tx.audit(by, by_role, action, old.name, "refused: last admin", "", details)
        raise LastAdmin(old.name)
