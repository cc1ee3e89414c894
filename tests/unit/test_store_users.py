"""The store's users table: add, change password or role, remove, record login attempts, each
with its audit record written in the same transaction (refusals too); the last admin kept;
the migration of a version 5 store; accounts kept across reopening."""

from __future__ import annotations

import sqlite3
import time

import pytest

from runtime.store import LastAdmin, Store, StoreConfig, UnknownUser, UserExists, UserRecord
from runtime.store.opening import connect, database
from runtime.store.schema import SCHEMA_VERSION, migrate, schema_version

T0 = 1_700_000_000.0
FAST = StoreConfig(commit_interval_s=0.02)
HASH = "scrypt$16384$8$1$c2FsdA==$a2V5"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db", FAST, clock=lambda: T0) as s:
        yield s


def audit(store: Store) -> list[tuple[str, str, str, str, str]]:
    return [(r.action, r.user, r.role, r.target, r.result)
            for r in store.audit_records(0, float("inf"))]


def add(store: Store, name: str = "olga", role: str = "admin") -> UserRecord:
    return store.add_user(name, role, HASH, "root", "admin").result(5)


def test_a_user_is_added_read_and_audited(store):
    record = add(store)
    assert record == UserRecord("olga", "admin", HASH, 0, None, T0, T0, "root")
    assert store.user("olga") == record
    assert store.user("nobody") is None
    assert store.users() == [record]
    assert audit(store) == [("user.add", "root", "admin", "olga", "ok")]
    assert store.audit_records(0, float("inf"))[0].details == {"role": "admin"}


def test_users_are_listed_by_name(store):
    for name in ("zoe", "adam", "mia"):
        add(store, name, "viewer")
    assert [u.name for u in store.users()] == ["adam", "mia", "zoe"]


def test_a_record_never_shows_its_password_hash(store):
    record = add(store)
    assert HASH not in repr(record) and HASH not in str(record)
    assert "olga" in repr(record)


def test_a_taken_name_is_refused_and_audited(store):
    add(store)
    with pytest.raises(UserExists, match="user 'olga' already exists"):
        store.add_user("olga", "viewer", "other", "eve").result(5)
    assert store.user("olga").role == "admin"
    assert audit(store)[-1] == ("user.add", "eve", "", "olga", "refused: name taken")


def test_a_new_password_clears_failed_logins_and_the_lock(store):
    add(store)
    store.record_login("olga", False, T0 + 300, "ws:1").result(5)
    assert store.user("olga").locked_until == T0 + 300
    record = store.set_password("olga", "scrypt$new", "root", "admin").result(5)
    assert (record.password, record.failed_logins, record.locked_until) == (
        "scrypt$new", 0, None)
    assert store.user("olga") == record
    assert audit(store)[-1] == ("user.passwd", "root", "admin", "olga", "ok")
    assert store.audit_records(0, float("inf"))[-1].details == {"cleared_failed_logins": 1}
    assert "scrypt$new" not in str(store.audit_records(0, float("inf")))


def test_a_role_is_changed_and_audited(store):
    add(store)
    add(store, "ivan", "viewer")
    assert store.set_role("ivan", "engineer", "olga", "admin").result(5).role == "engineer"
    assert store.user("ivan").role == "engineer"
    assert audit(store)[-1] == ("user.role", "olga", "admin", "ivan", "ok")
    assert store.audit_records(0, float("inf"))[-1].details == {"from": "viewer",
                                                                "to": "engineer"}


def test_a_user_is_removed_and_audited(store):
    add(store)
    ivan = add(store, "ivan", "operator")
    assert store.remove_user("ivan", "olga", "admin").result(5) == ivan
    assert store.user("ivan") is None
    assert audit(store)[-1] == ("user.remove", "olga", "admin", "ivan", "ok")


@pytest.mark.parametrize("change", ["passwd", "role", "remove"])
def test_changing_an_unknown_user_is_refused_and_audited(store, change):
    calls = {"passwd": lambda: store.set_password("ghost", HASH, "olga"),
             "role": lambda: store.set_role("ghost", "admin", "olga"),
             "remove": lambda: store.remove_user("ghost", "olga")}
    with pytest.raises(UnknownUser, match="user 'ghost' does not exist"):
        calls[change]().result(5)
    assert store.users() == []
    assert audit(store) == [(f"user.{change}", "olga", "", "ghost", "refused: unknown user")]


def test_the_last_admin_is_neither_removed_nor_demoted(store):
    add(store)
    with pytest.raises(LastAdmin, match="'olga' is the last admin; make another user admin"):
        store.remove_user("olga", "olga", "admin").result(5)
    with pytest.raises(LastAdmin):
        store.set_role("olga", "engineer", "olga", "admin").result(5)
    assert store.user("olga").role == "admin"
    assert audit(store)[-2:] == [("user.remove", "olga", "admin", "olga", "refused: last admin"),
                                 ("user.role", "olga", "admin", "olga", "refused: last admin")]
    add(store, "ivan")
    assert store.set_role("olga", "engineer", "ivan", "admin").result(5).role == "engineer"
    with pytest.raises(LastAdmin):
        store.remove_user("ivan", "ivan", "admin").result(5)
    assert store.remove_user("olga", "ivan", "admin").result(5).name == "olga"


def test_login_attempts_count_lock_reset_and_are_audited(store):
    add(store)
    assert store.record_login("olga", False, None, "ws:1").result(5).failed_logins == 1
    locked = store.record_login("olga", False, T0 + 300, "ws:2").result(5)
    assert (locked.failed_logins, locked.locked_until) == (2, T0 + 300)
    assert store.record_login("olga", False, None, "ws:3", while_locked=True).result(5) == locked
    assert store.user("olga") == locked  # an attempt while locked changes nothing
    ok = store.record_login("olga", True, None, "ws:4").result(5)
    assert (ok.failed_logins, ok.locked_until) == (0, None)
    assert store.user("olga") == ok
    assert store.record_login("ghost", False, None, "ws:5").result(5) is None
    records = store.audit_records(0, float("inf"), action="auth.login")
    assert [(r.user, r.role, r.target, r.result, r.cause, r.details) for r in records] == [
        ("olga", "admin", "olga", "refused: bad password", "", {"client": "ws:1"}),
        ("olga", "admin", "olga", "refused: bad password",
         "locked after 2 failed logins in a row", {"client": "ws:2", "locked_until": T0 + 300}),
        ("olga", "admin", "olga", "refused: locked", "", {"client": "ws:3",
                                                          "locked_until": T0 + 300}),
        ("olga", "admin", "olga", "ok", "", {"client": "ws:4"}),
        ("ghost", "", "ghost", "refused: unknown user", "", {"client": "ws:5"}),
    ]
    assert store.user("ghost") is None


def test_a_record_knows_while_it_is_locked(store):
    add(store)
    record = store.record_login("olga", False, T0 + 300, "ws").result(5)
    assert record.locked_at(T0) and record.locked_at(T0 + 299.9)
    assert not record.locked_at(T0 + 300)
    assert store.user("olga").locked_at(T0)
    assert not add(store, "ivan").locked_at(T0)


def test_accounts_are_kept_across_reopening(tmp_path):
    with Store(tmp_path / "store.db", FAST) as store:
        record = add(store)
    with Store(tmp_path / "store.db", FAST) as store:
        assert store.users() == [record]


def test_a_version_5_store_is_upgraded_with_a_users_table(tmp_path):
    path = tmp_path / "store.db"
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrate(database(conn), target=5) == 5
    conn.execute("INSERT INTO versions (number, hash, user, ts, comment, document)"
                 " VALUES (1, 'h', 'eve', 1.0, 'first', '{}')")
    conn.execute("INSERT INTO audit (ts, user, action, target, result) VALUES"
                 " (?, 'eve', 'deploy', 'project', 'ok')", (time.time(),))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "users" not in tables
    conn.close()
    with Store(path, FAST) as store:
        assert store.recovered_from is None
        assert store.latest_version().comment == "first"
        assert store.users() == []
        add(store)
        assert [r.action for r in store.audit_records(0, float("inf"))] == ["deploy",
                                                                              "user.add"]
    with sqlite3.connect(path) as conn:
        assert schema_version(database(conn)) == SCHEMA_VERSION == 6
        assert conn.execute("SELECT name, role, password, failed_logins, locked_until"
                            " FROM users").fetchall() == [("olga", "admin", HASH, 0, None)]
    conn.close()
