"""Errors the store raises on purpose, each with a message a plant engineer understands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runtime.contracts.errors import LinesideError
from runtime.store.holders import Holder


class StoreError(LinesideError):
    """Base of the store's errors."""


class SchemaTooNew(StoreError):
    """The database was written by a newer Lineside; it is left untouched."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path}: written by a newer Lineside (store schema version {found}; this version "
            f"reads up to {supported}); the file was left as it is - upgrade Lineside or move "
            f"the file away"
        )


class StoreUnavailable(StoreError):
    """The database file can't be used right now (I/O error, permissions, a lock); the store
    did not start and the file was left as it is."""

    def __init__(self, path: Path, reason: str, message: str | None = None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(message or (
            f"{path}: cannot be used right now ({reason}); the file was left as it is - check "
            f"the disk, its free space and the file's permissions, then start again"
        ))


class StoreLocked(StoreUnavailable):
    """Another process kept a lock on the database file for the whole open_lock_timeout_s."""

    def __init__(self, path: Path, holders: Sequence[Holder], waited_s: float) -> None:
        self.holders = list(holders)
        self.waited_s = waited_s
        who = ", ".join(map(str, holders)) if holders else "another process"
        super().__init__(path, "locked", (
            f"{path}: locked, held by {who}; it was still locked after {waited_s:.1f} s and the "
            f"file was left as it is - stop that process (or give this runtime a data folder "
            f"of its own), then start again"
        ))


class StoreClosed(StoreError):
    """The store was closed; nothing more can be recorded."""


class StoreOverloaded(StoreError):
    """The store's in-memory backlog is full (the disk is slow or full); the record was dropped."""


class UnknownAlarm(StoreError):
    """An alarm id the store has never seen raised."""

    def __init__(self, alarm_id: str) -> None:
        self.alarm_id = alarm_id
        super().__init__(f"alarm {alarm_id!r} is unknown (it was never raised)")


class UnknownVersion(StoreError):
    """A project version number that was never saved."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__(f"project version {number} does not exist")


class ModelVersionTaken(StoreError):
    """Another model file (another hash) is already registered under this id@version."""

    def __init__(self, key: str, registered_hash: str) -> None:
        self.key = key
        self.registered_hash = registered_hash
        super().__init__(
            f"model {key} is already registered with another file (sha256 "
            f"{registered_hash[:12]}...); register the new file under a new version"
        )


class UnknownModelVersion(StoreError):
    """A model id@version that is not registered."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"model {key} is not registered")


class UserExists(StoreError):
    """A user account of that name already exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} already exists")


class UnknownUser(StoreError):
    """No user account has that name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} does not exist")


class LastAdmin(StoreError):
    """The change would leave no admin to manage users; it was refused."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} is the last admin; make another user admin first")


class NotSaved(StoreError):
    """A change was not saved within the time its caller could wait (the store is degraded:
    disk full, locked); it was dropped, not applied, and will not be applied later."""

    def __init__(self, what: str, within_s: float, reason: str) -> None:
        self.within_s = within_s
        self.reason = reason
        why = reason or "the store is busy"
        super().__init__(f"{what} was not saved within {within_s:g} s ({why}); nothing was "
                         "changed")
