"""Errors the store raises on purpose, each with a message a plant engineer understands."""

from __future__ import annotations

from pathlib import Path

from runtime.contracts.errors import LinesideError


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
