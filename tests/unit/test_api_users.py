"""User accounts of the control API over a real store: scrypt hashes, names, roles and
password rules, login checks with lockout on a clock moved by hand, the last admin kept,
one message for an unknown user and a wrong password, and an audit record for every change
and every login attempt."""

from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest

from runtime.api.users import (
    AccountLocked,
    BadRole,
    BadUserName,
    LastAdmin,
    LoginRefused,
    UnknownUser,
    UserExists,
    Users,
    WeakPassword,
    check_password,
    hash_password,
)
from runtime.store import Store, StoreConfig
from tests.unit.store_support import T0, Clock

FAST = StoreConfig(commit_interval_s=0.01)
PASSWORD = "pump-line-3 ok"
ENCODED = re.compile(r"scrypt\$16384\$8\$1\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    with Store(tmp_path / "store.db", FAST, clock=clock) as s:
        yield s


@pytest.fixture
def users(store, clock):
    users = Users(store, clock=clock)
    users.add("olga", "admin", PASSWORD, by="root")
    return users


def audit(store: Store, action: str | None = None) -> list[tuple[str, str, str, str]]:
    return [(r.action, r.user, r.target, r.result)
            for r in store.audit_records(0, float("inf"), action=action)]


# --- hashing ---


def test_a_hash_checks_its_own_password_and_no_other():
    encoded = hash_password(PASSWORD)
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "!", encoded)
    assert not check_password("", encoded)


def test_a_hash_carries_its_parameters_a_16_byte_salt_and_a_32_byte_key():
    match = ENCODED.fullmatch(hash_password(PASSWORD))
    assert match is not None
    salt, key = (base64.b64decode(part) for part in match.groups())
    assert (len(salt), len(key)) == (16, 32)
    assert key == hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


def test_the_same_password_gets_a_new_salt_each_time():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.split("$")[4] != second.split("$")[4]
    assert check_password(PASSWORD, first) and check_password(PASSWORD, second)


def test_the_parameters_written_in_an_encoding_are_the_ones_used():
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**10, r=4, p=2, dklen=24)
    salt64, key64 = base64.b64encode(salt).decode(), base64.b64encode(key).decode()
    assert check_password(PASSWORD, f"scrypt$1024$4$2${salt64}${key64}")
    assert not check_password(PASSWORD, f"scrypt$2048$4$2${salt64}${key64}")
    assert not check_password(PASSWORD, f"scrypt$1024$8$2${salt64}${key64}")
    assert not check_password(PASSWORD, f"scrypt$1024$4$1${salt64}${key64}")


@pytest.mark.parametrize("encoded", [
    "", "plain text", "scrypt$16384$8$1$c2FsdA==", "bcrypt$16384$8$1$c2FsdA==$a2V5",
    "scrypt$1000$8$1$c2FsdA==$a2V5", "scrypt$16384$8$1$not base64!$a2V5",
    "scrypt$16384$8$1$$a2V5", "scrypt$1073741824$8$1$c2FsdA==$a2V5",
])
def test_an_encoding_not_made_here_matches_nothing(encoded):
    assert not check_password(PASSWORD, encoded)


@pytest.mark.parametrize("password", ["", "short", "1234567", "        ", " \t  \n   "])
def test_a_weak_password_is_refused(password):
    with pytest.raises(WeakPassword, match="at least 8 characters, not only spaces"):
        hash_password(password)


# --- accounts ---


def test_an_account_is_added_and_its_password_verified(users, store, clock):
    clock.now = T0 + 10
    record = users.verify("olga", PASSWORD, client="ws 127.0.0.1:5000")
    assert (record.name, record.role, record.created_by, record.failed_logins) == (
        "olga", "admin", "root", 0)
    assert check_password(PASSWORD, record.password)
    assert PASSWORD not in store.user("olga").password
    assert users.list() == [store.user("olga")]
    logins = store.audit_records(0, float("inf"), action="auth.login")
    assert [(r.ts, r.user, r.role, r.result, r.details) for r in logins] == [
        (T0 + 10, "olga", "admin", "ok", {"client": "ws 127.0.0.1:5000"})]


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(users, store):
    with pytest.raises(LoginRefused) as unknown:
        users.verify("ghost", PASSWORD, client="ws:1")
    with pytest.raises(LoginRefused) as wrong:
        users.verify("olga", "not the password", client="ws:2")
    assert type(unknown.value) is type(wrong.value) is LoginRefused
    assert str(unknown.value) == str(wrong.value) == "unknown user or wrong password"
    assert audit(store, "auth.login") == [
        ("auth.login", "ghost", "ghost", "refused: unknown user"),
        ("auth.login", "olga", "olga", "refused: bad password")]


def test_an_unknown_user_takes_as_long_as_a_wrong_password(users):
    def seconds(name: str) -> float:
        started = time.perf_counter()
        with pytest.raises(LoginRefused):
            users.verify(name, "not the password")
        return time.perf_counter() - started

    seconds("ghost")  # the dummy hash is made on first use
    wrong = min(seconds("olga") for _ in range(3))
    unknown = min(seconds("ghost") for _ in range(3))
    assert unknown > 0.5 * wrong  # without the dummy hash it would take ~1/50 of it


def test_any_text_is_a_wrong_password_not_a_crash(users):
    for password in ("", "\ud800 lone surrogate from JSON", "\x00" * 9, "ü" * 10_000):
        with pytest.raises(LoginRefused, match="unknown user or wrong password"):
            users.verify("olga", password)
    assert check_password("\ud800 is a password", hash_password("\ud800 is a password"))


def test_a_name_that_cannot_exist_is_an_unknown_user(users, store):
    with pytest.raises(LoginRefused, match="unknown user or wrong password"):
        users.verify("x" * 500 + "; DROP TABLE users", PASSWORD)
    assert store.audit_records(0, float("inf"), action="auth.login")[0].user == "x" * 65
    assert len(users.list()) == 1


def test_the_account_locks_after_5_failures_in_a_row_for_300_s(users, store, clock):
    for attempt in range(5):
        clock.now = T0 + attempt
        with pytest.raises(LoginRefused) as refused:
            users.verify("olga", "guess")
        assert type(refused.value) is LoginRefused
    assert store.user("olga").failed_logins == 5
    assert store.user("olga").locked_until == T0 + 4 + 300
    clock.now = T0 + 303.9
    with pytest.raises(AccountLocked, match="locked after too many failed logins; try again "
                                            "after") as locked:
        users.verify("olga", PASSWORD)  # the right password is not even checked
    assert locked.value.until == T0 + 304
    assert store.user("olga").failed_logins == 5
    clock.now = T0 + 304
    assert users.verify("olga", PASSWORD).failed_logins == 0
    assert store.user("olga").locked_until is None
    assert [r.result for r in store.audit_records(0, float("inf"), action="auth.login")] == [
        *["refused: bad password"] * 5, "refused: locked", "ok"]
    locking = store.audit_records(0, float("inf"), action="auth.login")[4]
    assert locking.cause == "locked after 5 failed logins in a row"


def test_a_successful_login_resets_the_count(store, clock):
    users = Users(store, clock=clock, lockout_after=3, lockout_s=60)
    users.add("olga", "admin", PASSWORD, "root")
    for _ in range(2):
        with pytest.raises(LoginRefused):
            users.verify("olga", "guess")
    users.verify("olga", PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            users.verify("olga", "guess")
    assert store.user("olga").failed_logins == 2
    assert users.verify("olga", PASSWORD).name == "olga"  # not locked


def test_after_a_lock_ends_each_failure_locks_again_until_a_login_succeeds(store, clock):
    users = Users(store, clock=clock, lockout_after=2, lockout_s=60)
    users.add("olga", "admin", PASSWORD, "root")
    for _ in range(2):
        with pytest.raises(LoginRefused):
            users.verify("olga", "guess")
    clock.now = T0 + 60
    with pytest.raises(LoginRefused):
        users.verify("olga", "guess")
    with pytest.raises(AccountLocked) as locked:
        users.verify("olga", PASSWORD)
    assert locked.value.until == T0 + 120
    clock.now = T0 + 120
    users.verify("olga", PASSWORD)
    with pytest.raises(LoginRefused):
        users.verify("olga", "guess")
    assert users.verify("olga", PASSWORD).failed_logins == 0


def test_a_new_password_unlocks_the_account(store, clock):
    users = Users(store, clock=clock, lockout_after=1)
    users.add("olga", "admin", PASSWORD, "root")
    with pytest.raises(LoginRefused):
        users.verify("olga", "guess")
    with pytest.raises(AccountLocked):
        users.verify("olga", PASSWORD)
    record = users.set_password("olga", "a new password", "olga", "admin")
    assert (record.failed_logins, record.locked_until) == (0, None)
    assert users.verify("olga", "a new password").name == "olga"
    with pytest.raises(LoginRefused):
        users.verify("olga", PASSWORD)


def test_roles_change_and_the_last_admin_stays(users, store):
    users.add("ivan", "operator", PASSWORD, by="olga", by_role="admin")
    assert users.set_role("ivan", "admin", "olga", "admin").role == "admin"
    assert users.remove("olga", "ivan", "admin").name == "olga"
    with pytest.raises(LastAdmin, match="'ivan' is the last admin"):
        users.remove("ivan", "ivan", "admin")
    with pytest.raises(LastAdmin):
        users.set_role("ivan", "viewer", "ivan", "admin")
    assert [(u.name, u.role) for u in users.list()] == [("ivan", "admin")]


def test_every_change_and_login_is_audited(users, store):
    users.add("ivan", "viewer", PASSWORD, by="olga", by_role="admin")
    users.set_password("ivan", "another password", by="olga", by_role="admin")
    users.set_role("ivan", "engineer", by="olga", by_role="admin")
    users.verify("ivan", "another password", client="ws:7")
    with pytest.raises(LoginRefused):
        users.verify("ivan", PASSWORD, client="ws:7")
    users.remove("ivan", by="olga", by_role="admin")
    with pytest.raises(UserExists):
        users.add("olga", "viewer", PASSWORD, by="ivan")
    with pytest.raises(UnknownUser):
        users.remove("ivan", by="olga", by_role="admin")
    assert [(r.action, r.user, r.role, r.target, r.result)
            for r in store.audit_records(0, float("inf"))] == [
        ("user.add", "root", "", "olga", "ok"),
        ("user.add", "olga", "admin", "ivan", "ok"),
        ("user.passwd", "olga", "admin", "ivan", "ok"),
        ("user.role", "olga", "admin", "ivan", "ok"),
        ("auth.login", "ivan", "engineer", "ivan", "ok"),
        ("auth.login", "ivan", "engineer", "ivan", "refused: bad password"),
        ("user.remove", "olga", "admin", "ivan", "ok"),
        ("user.add", "ivan", "", "olga", "refused: name taken"),
        ("user.remove", "olga", "admin", "ivan", "refused: unknown user"),
    ]
    texts = str(store.audit_records(0, float("inf")))
    assert PASSWORD not in texts and "another password" not in texts and "scrypt" not in texts


@pytest.mark.parametrize("name", ["", "x" * 65, "olga smith", "olga/1", "jürgen", "a:b",
                                  "name\n", "ü"])
def test_a_bad_name_is_refused_and_nothing_changes(users, store, name):
    before = audit(store)
    with pytest.raises(BadUserName, match=re.escape("use 1 to 64 letters (a-z, A-Z), digits, "
                                                    "'.', '_' or '-'")):
        users.add(name, "viewer", PASSWORD, "olga")
    for change in (lambda: users.set_password(name, PASSWORD, "olga"),
                   lambda: users.set_role(name, "viewer", "olga"),
                   lambda: users.remove(name, "olga")):
        with pytest.raises(BadUserName):
            change()
    assert [u.name for u in users.list()] == ["olga"]
    assert audit(store) == before


@pytest.mark.parametrize("name", ["a", "x" * 64, "line-3.operator_2", "OLGA"])
def test_names_of_letters_digits_dots_underscores_and_dashes_are_allowed(users, name):
    assert users.add(name, "viewer", PASSWORD, "olga").name == name
    assert users.verify(name, PASSWORD).name == name


@pytest.mark.parametrize("role", ["", "root", "Admin", "superuser"])
def test_an_unknown_role_is_refused(users, role):
    with pytest.raises(BadRole, match=f"role '{role}' is unknown; roles: viewer, operator, "
                                      "engineer, admin"):
        users.add("ivan", role, PASSWORD, "olga")
    with pytest.raises(BadRole):
        users.set_role("olga", role, "olga")
    assert [(u.name, u.role) for u in users.list()] == [("olga", "admin")]


def test_a_weak_password_changes_nothing(users, store):
    before = store.user("olga")
    with pytest.raises(WeakPassword):
        users.add("ivan", "viewer", "short", "olga")
    with pytest.raises(WeakPassword):
        users.set_password("olga", "        ", "olga")
    assert users.list() == [before]


def test_lockout_settings_are_checked(store):
    with pytest.raises(ValueError, match="lockout_after must be >= 1"):
        Users(store, lockout_after=0)
    with pytest.raises(ValueError):
        Users(store, lockout_s=0)
