"""The local token file: lets the HMI on the same machine in without a password.

`<data_dir>/api-token.json` holds {"token", "role", "created_ts"} and is readable by its
owner only (the service user): it is created with mode 0600 and published complete (written
to a private temporary file, then linked into place), and a file others may read or write is
refused, never used. The token itself is never logged.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import shlex
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime.api.users import check_role
from runtime.contracts.errors import LinesideError
from runtime.contracts.roles import ROLES

log = logging.getLogger("runtime.api")

TOKEN_FILE = "api-token.json"
_MAX_BYTES = 4096
_MIN_TOKEN_CHARS = 32


class TokenError(LinesideError):
    """Base of the local token file's errors."""


class TokenFileMissing(TokenError):
    """There is no token file (the runtime makes one when it starts)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path}: no local token file (the runtime makes it when it starts)")


class TokenFileMalformed(TokenError):
    """The token file can't be used as it is."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: not a valid token file ({reason}); delete it and the "
                         "runtime makes a new one when it starts")


class TokenFileUnsafe(TokenError):
    """The token file can be read or written by other users than its owner."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        self.mode = mode
        super().__init__(f"{path}: other users may read or write it (mode {mode:04o}); make "
                         f"it private with: chmod 600 {shlex.quote(str(path))}")


@dataclass(frozen=True, slots=True)
class LocalToken:
    """The token in the file and the role it grants (the token is not shown by repr)."""

    token: str = field(repr=False)
    role: str


def ensure_token(data_dir: str | Path, role: str = "admin") -> Path:
    """The token file in data_dir, made (mode 0600) if missing; an existing valid one is
    kept as it is. TokenFileUnsafe for a file others may read or write, TokenFileMalformed
    for one that can't be used, BadRole for an unknown role."""
    check_role(role)
    path = Path(data_dir) / TOKEN_FILE
    try:
        read_token(path)
        return path
    except TokenFileMissing:
        pass
    content = json.dumps({"token": secrets.token_urlsafe(32), "role": role,
                          "created_ts": time.time()}).encode("utf-8")
    temporary = path.with_name(f".{TOKEN_FILE}.{secrets.token_hex(8)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # never replaces a file made meanwhile
        except FileExistsError:
            read_token(path)
            return path
    except OSError as exc:
        raise TokenError(f"{path}: cannot create the local token file: "
                         f"{exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    log.info("api.token_created path=%s role=%s", path, role)
    return path


def read_token(path: str | Path) -> LocalToken:
    """The token and role in a token file: TokenFileMissing, TokenFileUnsafe (read or
    writable by others), TokenFileMalformed, or TokenError when it can't be read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise TokenFileMissing(path) from None
    except OSError as exc:
        if os.path.islink(path):
            raise TokenFileMalformed(path, "a symbolic link") from None
        raise TokenError(f"{path}: cannot read the local token file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileMalformed(path, "not a regular file")
        if info.st_mode & 0o077:
            raise TokenFileUnsafe(path, stat.S_IMODE(info.st_mode))
        data = os.read(fd, _MAX_BYTES + 1)
    finally:
        os.close(fd)
    return _parse(path, data)


def token_matches(expected: str, given: object) -> bool:
    """True when `given` is the expected token (compared in constant time)."""
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"),
                               given.encode("utf-8", "surrogatepass"))


def _parse(path: Path, data: bytes) -> LocalToken:
    if len(data) > _MAX_BYTES:
        raise TokenFileMalformed(path, f"larger than {_MAX_BYTES} bytes")
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenFileMalformed(path, "not JSON") from None
    if not isinstance(content, dict):
        raise TokenFileMalformed(path, "not a JSON object")
    token, role = content.get("token"), content.get("role")
    if not isinstance(token, str) or len(token) < _MIN_TOKEN_CHARS:
        raise TokenFileMalformed(path, f"'token' must be text of at least {_MIN_TOKEN_CHARS} "
                                       "characters")
    if role not in ROLES:
        raise TokenFileMalformed(path, f"'role' must be one of {', '.join(ROLES)}")
    return LocalToken(token, role)
