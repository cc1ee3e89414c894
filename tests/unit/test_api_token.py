"""The local token file on a real file system: made private (0600) from the start, kept once
made, refused when others may read or write it or when it is not a token file."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.api.token import (
    TOKEN_FILE,
    LocalToken,
    TokenError,
    TokenFileMalformed,
    TokenFileMissing,
    TokenFileUnsafe,
    ensure_token,
    read_token,
    token_matches,
)
from runtime.api.users import BadRole


@pytest.fixture
def open_umask():
    """A umask that takes no permission away, so only the mode given when creating counts."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_the_token_file_is_made_private_from_the_start(tmp_path, open_umask, caplog):
    caplog.set_level(logging.INFO, "runtime.api")
    before = time.time()
    path = ensure_token(tmp_path)
    assert path == tmp_path / TOKEN_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    content = json.loads(path.read_text(encoding="utf-8"))
    assert set(content) == {"token", "role", "created_ts"}
    assert len(content["token"]) >= 43 and content["role"] == "admin"
    assert before <= content["created_ts"] <= time.time()
    assert read_token(path) == LocalToken(content["token"], "admin")
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOKEN_FILE]  # no temporary left
    assert "api.token_created" in caplog.text and content["token"] not in caplog.text


def test_an_existing_token_file_is_kept(tmp_path):
    path = ensure_token(tmp_path, role="operator")
    before, inode = path.read_bytes(), os.stat(path).st_ino
    assert ensure_token(tmp_path) == path
    assert path.read_bytes() == before and os.stat(path).st_ino == inode
    assert read_token(path).role == "operator"


def test_processes_starting_together_all_get_the_same_token(tmp_path):
    script = ("import sys; from runtime.api.token import ensure_token, read_token;"
              " print(read_token(ensure_token(sys.argv[1])).token)")
    root = Path(__file__).resolve().parents[2]
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=root,
                                  stdout=subprocess.PIPE, text=True) for _ in range(4)]
    tokens = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert [p.returncode for p in processes] == [0] * 4
    assert tokens == {read_token(tmp_path / TOKEN_FILE).token}
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOKEN_FILE]


def test_each_data_folder_gets_its_own_token(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = read_token(ensure_token(tmp_path / "a")).token
    assert read_token(ensure_token(tmp_path / "b")).token != first


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o666], ids=oct)
def test_a_file_others_may_read_or_write_is_refused(tmp_path, mode):
    path = ensure_token(tmp_path)
    os.chmod(path, mode)
    before = path.read_bytes()
    message = f"other users may read or write it (mode 0{mode:o}); make it private with: " \
              f"chmod 600 {path}"
    with pytest.raises(TokenFileUnsafe, match=re.escape(message)):
        read_token(path)
    with pytest.raises(TokenFileUnsafe):
        ensure_token(tmp_path)
    assert path.read_bytes() == before and os.stat(path).st_mode & 0o777 == mode
    os.chmod(path, 0o600)  # what the message says to do
    assert ensure_token(tmp_path) == path and read_token(path).role == "admin"


def test_the_chmod_advice_is_quoted_for_the_shell(tmp_path):
    folder = tmp_path / "data dir"
    folder.mkdir()
    path = ensure_token(folder)
    os.chmod(path, 0o644)
    with pytest.raises(TokenFileUnsafe, match=re.escape(f"chmod 600 '{path}'")):
        read_token(path)


def _private(path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)


BAD_FILES = {
    "empty": ("", "not JSON"),
    "not JSON": ("token=abc", "not JSON"),
    "a list": ('["x"]', "not a JSON object"),
    "no token": ('{"role": "admin"}', "'token' must be text of at least 32 characters"),
    "short token": ('{"token": "abc", "role": "admin"}', "at least 32 characters"),
    "token not text": ('{"token": 12345678901234567890123456789012345, "role": "admin"}',
                       "'token' must be text"),
    "unknown role": ('{"token": "%s", "role": "root"}' % ("x" * 43),
                     "'role' must be one of viewer, operator, engineer, admin"),
    "role not text": ('{"token": "%s", "role": ["admin"]}' % ("x" * 43), "'role' must be"),
    "too large": ('{"token": "%s", "role": "admin"}' % ("x" * 5000), "larger than 4096"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_file_that_is_not_a_token_file_is_refused_and_left_alone(tmp_path, case):
    text, reason = BAD_FILES[case]
    path = tmp_path / TOKEN_FILE
    _private(path, text)
    with pytest.raises(TokenFileMalformed, match=reason) as refused:
        read_token(path)
    assert "delete it and the runtime makes a new one when it starts" in str(refused.value)
    with pytest.raises(TokenFileMalformed):
        ensure_token(tmp_path)
    assert path.read_text(encoding="utf-8") == text


def test_a_link_or_a_folder_in_its_place_is_refused(tmp_path):
    target = tmp_path / "elsewhere.json"
    _private(target, json.dumps({"token": "x" * 43, "role": "admin"}))
    (tmp_path / TOKEN_FILE).symlink_to(target)
    with pytest.raises(TokenFileMalformed, match="a symbolic link"):
        ensure_token(tmp_path)
    (tmp_path / TOKEN_FILE).unlink()
    (tmp_path / TOKEN_FILE).mkdir(mode=0o700)
    with pytest.raises(TokenFileMalformed, match="not a regular file"):
        ensure_token(tmp_path)


def test_a_missing_file_is_said_so(tmp_path):
    with pytest.raises(TokenFileMissing, match="no local token file"):
        read_token(tmp_path / TOKEN_FILE)


def test_a_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TokenError, match="cannot create the local token file: No such file"):
        ensure_token(tmp_path / "missing")


def test_an_unknown_role_makes_no_file(tmp_path):
    with pytest.raises(BadRole):
        ensure_token(tmp_path, role="root")
    assert list(tmp_path.iterdir()) == []


def test_tokens_are_compared_whole():
    token = "Zx" * 22
    assert token_matches(token, "".join(["Zx"] * 22))
    assert not token_matches(token, token[:-1])
    assert not token_matches(token, token + "x")
    assert not token_matches(token, "")
    assert not token_matches(token, None)
    assert not token_matches(token, 42)
    assert not token_matches(token, "ä" * 44)
    assert not token_matches(token, "\ud800" * 44)  # a lone surrogate, as JSON allows
    assert not token_matches("", "")


def test_a_token_is_not_shown_by_repr(tmp_path):
    token = read_token(ensure_token(tmp_path))
    assert token.token not in repr(token) and "admin" in repr(token)
