"""The control API's user accounts: names, roles and password rules, scrypt password hashes,
and login checks that lock an account after too many failures in a row.

Every change and every login attempt is audited by the store in the same transaction. Calls
block (a hash takes about 50 ms, a change waits for its commit): the server makes them from
a worker thread. There is no default account and no default password: the first admin is
made with `lineside-runtime user add NAME --role admin`.
"""

from __future__ import annotations

import base64
import builtins
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from runtime.contracts.errors import LinesideError
from runtime.contracts.roles import ROLES, role_at_least
from runtime.store import LastAdmin, UnknownUser, UserExists, UserRecord

if TYPE_CHECKING:
    from runtime.store import Store

__all__ = [
    "ROLES", "AccountLocked", "BadRole", "BadUserName", "LastAdmin", "LoginRefused",
    "UnknownUser", "UserError", "UserExists", "Users", "WeakPassword", "check_name",
    "check_password", "check_password_rules", "check_role", "hash_password", "role_at_least",
]

T = TypeVar("T")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
_MAX_MEMORY = 256 * 1024 * 1024  # the most scrypt may use for an encoding's parameters
MIN_PASSWORD = 8
MAX_NAME = 64
_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_NAME}}}")


class UserError(LinesideError):
    """Base of the errors about user accounts and logins."""


class BadUserName(UserError):
    """A user name outside the allowed characters or length."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user name {name[:MAX_NAME + 1]!r} is not allowed: use 1 to "
                         f"{MAX_NAME} letters (a-z, A-Z), digits, '.', '_' or '-'")


class BadRole(UserError):
    """A role that is not one of ROLES."""

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"role {role!r} is unknown; roles: {', '.join(ROLES)}")


class WeakPassword(UserError):
    """A password the rules refuse; nothing was changed."""

    def __init__(self) -> None:
        super().__init__(f"the password is too weak: use at least {MIN_PASSWORD} characters, "
                         "not only spaces")


class LoginRefused(UserError):
    """A login was refused; the message never says whether the user exists."""

    def __init__(self, message: str = "unknown user or wrong password") -> None:
        super().__init__(message)


class AccountLocked(LoginRefused):
    """The account is locked after too many failed logins in a row, until `until`."""

    def __init__(self, until: float) -> None:
        self.until = until
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(until))
        super().__init__(f"the account is locked after too many failed logins; try again "
                         f"after {when}")


def check_name(name: str) -> str:
    """The name if it is 1-64 letters, digits, '.', '_' or '-'; BadUserName otherwise."""
    if not _NAME.fullmatch(name):
        raise BadUserName(name)
    return name


def check_role(role: str) -> str:
    """The role if it is one of ROLES; BadRole otherwise."""
    if role not in ROLES:
        raise BadRole(role)
    return role


def check_password_rules(password: str) -> None:
    """WeakPassword unless the password has at least 8 characters and not only spaces."""
    if len(password) < MIN_PASSWORD or not password.strip():
        raise WeakPassword()


def hash_password(password: str) -> str:
    """The password's scrypt hash with a fresh 16-byte salt, encoded with its parameters:
    "scrypt$16384$8$1$<salt base64>$<key base64>"; WeakPassword if the rules refuse it."""
    check_password_rules(password)
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt),
                     _b64(key)])


def check_password(password: str, encoded: str) -> bool:
    """True when the password matches the encoded hash (its own parameters and salt are
    used); False for a wrong password and for an encoding this module did not make."""
    try:
        scheme, *numbers, salt_b64, key_b64 = encoded.split("$")
        n, r, p = map(int, numbers)
        salt = base64.b64decode(salt_b64, validate=True)
        key = base64.b64decode(key_b64, validate=True)
    except ValueError:  # binascii.Error is one too
        return False
    if (scheme != "scrypt" or n < 2 or n & (n - 1) or r < 1 or not 0 < p <= 16
            or _memory(n, r, p) > _MAX_MEMORY or not salt or not key):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(key)), key)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # surrogatepass: text from JSON may hold lone surrogates; they must not crash a login
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r,
                          p=p, dklen=length, maxmem=_memory(n, r, p) + 1024 * 1024)


def _memory(n: int, r: int, p: int) -> int:
    """The bytes scrypt needs for these parameters (OpenSSL's reckoning)."""
    return 128 * r * (n + p + 2)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Users:
    """The user accounts of a Store: rules and hashing on the way in, login checks with
    lockout. After `lockout_after` failed logins in a row an account is locked for
    `lockout_s`; once that ends, each further failure locks it again until a successful
    login or a new password resets the count. Store errors (UserExists, UnknownUser,
    LastAdmin, NotSaved when the store can't commit within `save_within_s`) pass through.
    """

    def __init__(self, store: Store, *, lockout_after: int = 5, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.time, save_within_s: float = 10.0) -> None:
        if lockout_after < 1 or not lockout_s > 0:
            raise ValueError("lockout_after must be >= 1 and lockout_s > 0")
        self.store = store
        self.lockout_after = lockout_after
        self.lockout_s = lockout_s
        self.clock = clock
        self.save_within_s = save_within_s

    def add(self, name: str, role: str, password: str, by: str,
            by_role: str = "") -> UserRecord:
        """Add an account; BadUserName, BadRole, WeakPassword, UserExists."""
        check_name(name)
        check_role(role)
        encoded = hash_password(password)
        return self._saved(self.store.add_user(name, role, encoded, by, by_role,
                                               within_s=self.save_within_s))

    def set_password(self, name: str, password: str, by: str,
                     by_role: str = "") -> UserRecord:
        """Give an account a new password (which also unlocks it); WeakPassword, UnknownUser."""
        check_name(name)
        encoded = hash_password(password)
        return self._saved(self.store.set_password(name, encoded, by, by_role,
                                                   within_s=self.save_within_s))

    def set_role(self, name: str, role: str, by: str, by_role: str = "") -> UserRecord:
        """Give an account another role; BadRole, UnknownUser, LastAdmin for the only admin."""
        check_name(name)
        check_role(role)
        return self._saved(self.store.set_role(name, role, by, by_role,
                                               within_s=self.save_within_s))

    def remove(self, name: str, by: str, by_role: str = "") -> UserRecord:
        """Remove an account; UnknownUser, LastAdmin for the only admin."""
        check_name(name)
        return self._saved(self.store.remove_user(name, by, by_role,
                                                  within_s=self.save_within_s))

    def list(self) -> builtins.list[UserRecord]:
        """Every account, by name."""
        return self.store.users()

    def verify(self, name: str, password: str, client: str = "") -> UserRecord:
        """The account, its failed logins reset, when the password is right.

        LoginRefused ("unknown user or wrong password") for an unknown name and a wrong
        password alike, taking about the same time (a dummy hash is checked); AccountLocked
        while the account is locked (the password is not checked). Every attempt is audited.
        """
        record = self.store.user(name) if _NAME.fullmatch(name) else None
        now = self.clock()
        if record is None:
            check_password(password, self._dummy_hash)
            self._login(name[:MAX_NAME + 1], False, None, client)
            raise LoginRefused()
        if record.locked_at(now):
            assert record.locked_until is not None  # locked_at says so
            self._login(name, False, record.locked_until, client, while_locked=True)
            raise AccountLocked(record.locked_until)
        if check_password(password, record.password):
            updated = self._login(name, True, None, client)
            if updated is None:  # removed meanwhile
                raise LoginRefused()
            return updated
        locked_until = (now + self.lockout_s
                        if record.failed_logins + 1 >= self.lockout_after else None)
        self._login(name, False, locked_until, client)
        raise LoginRefused()

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """A hash of a random password, checked for unknown names to take the same time."""
        return hash_password(secrets.token_urlsafe(16))

    def _login(self, name: str, ok: bool, locked_until: float | None, client: str,
               while_locked: bool = False) -> UserRecord | None:
        return self._saved(self.store.record_login(name, ok, locked_until, client,
                                                   while_locked=while_locked,
                                                   within_s=self.save_within_s))

    @staticmethod
    def _saved(future: Future[T]) -> T:
        """The change's result once committed (NotSaved when the store could not in time)."""
        return future.result()
