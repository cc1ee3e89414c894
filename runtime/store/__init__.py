"""The durable store: the only code that touches SQLite.

Historian, events and ISA-18.2 alarms, audit log, project versions, registered models, user
accounts and the outbox, in one SQLite file in WAL mode with synchronous=FULL, written by one
writer thread with group commit. See Store.
"""

from typing import TYPE_CHECKING, Any

from runtime.store.config import StoreConfig
from runtime.store.errors import (
    LastAdmin,
    ModelVersionTaken,
    NotSaved,
    SchemaTooNew,
    StoreClosed,
    StoreError,
    StoreLocked,
    StoreOverloaded,
    StoreUnavailable,
    UnknownAlarm,
    UnknownModelVersion,
    UnknownUser,
    UnknownVersion,
    UserExists,
)
from runtime.store.records import (
    AlarmRecord,
    AlarmState,
    AuditRecord,
    Buckets,
    EventRecord,
    ModelRecord,
    OutboxChunk,
    OutboxStats,
    StoreStatus,
    UserRecord,
    Version,
)

if TYPE_CHECKING:
    from runtime.store.store import Store


def __getattr__(name: str) -> Any:
    # Store (SQLite, sqlite-utils, numpy) is imported on first use, so that a program that
    # needs only the settings or the records (the HMI's start) does not pay for it.
    if name == "Store":
        from runtime.store.store import Store
        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AlarmRecord", "AlarmState", "AuditRecord", "Buckets", "EventRecord", "LastAdmin",
    "ModelRecord", "ModelVersionTaken", "NotSaved", "OutboxChunk", "OutboxStats",
    "SchemaTooNew", "Store", "StoreClosed", "StoreConfig", "StoreError", "StoreLocked",
    "StoreOverloaded", "StoreStatus", "StoreUnavailable", "UnknownAlarm",
    "UnknownModelVersion", "UnknownUser", "UnknownVersion", "UserExists", "UserRecord",
    "Version",
]
