"""What the store hands out: frozen records for chunks, alarms, events, audit, versions, models,
users, status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.contracts.api import BUCKET_COLUMNS
from runtime.contracts.messages import Event


class AlarmState:
    """ISA-18.2 alarm states (plain strings, stable on the wire), plus shelved."""

    NORMAL = "normal"
    ACTIVE_UNACKED = "active-unacked"
    ACTIVE_ACKED = "active-acked"
    RETURNED_UNACKED = "returned-unacked"
    SHELVED = "shelved"
    ALL = (NORMAL, ACTIVE_UNACKED, ACTIVE_ACKED, RETURNED_UNACKED, SHELVED)


@dataclass(frozen=True, slots=True)
class OutboxChunk:
    """Consecutive records bound for the cloud; payload is compact JSON: a list of records.

    A sample record is [seq, tag, ts, value, quality]; an event record is
    [seq, kind, ts, flow, node, data, shadow]; ts in epoch seconds.
    """

    id: int
    kind: str
    seq_first: int
    seq_last: int
    count: int
    created_ts: float
    payload: bytes

    def records(self) -> list[list[Any]]:
        """The payload decoded."""
        return json.loads(self.payload)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The outbox backlog; dropped_records counts every record the capacity policy dropped,
    dropped_event_records the events (alarms, writes, mode changes) among them.

    Sequence numbers are unique within an incarnation (the store's life; a store created
    afresh starts again at 0 under a new incarnation).
    """

    records: int
    bytes: int
    chunks: int
    oldest_ts: float | None
    dropped_records: int
    next_seq: int
    incarnation: str
    dropped_event_records: int


@dataclass(frozen=True, slots=True)
class Buckets:
    """Downsampling buckets as columns (the form a plot wants), one entry per bucket: first
    and last timestamp, min, max, last value, worst quality and sample count."""

    first_ts: list[float] = field(default_factory=list)
    last_ts: list[float] = field(default_factory=list)
    min: list[Any] = field(default_factory=list)
    max: list[Any] = field(default_factory=list)
    last: list[Any] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.count)

    def to_dict(self) -> dict[str, list[Any]]:
        """The columns by name (the lists themselves, not copies)."""
        return {name: getattr(self, name) for name in BUCKET_COLUMNS}



@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm's ISA-18.2 state; `active` is the process condition, also while shelved."""

    alarm: str
    state: str
    active: bool
    priority: str
    message: str
    flow: str
    node: str
    raised_ts: float | None
    cleared_ts: float | None
    acked_ts: float | None
    ack_user: str
    ack_note: str
    shelved_until: float | None
    shelved_by: str
    shelve_note: str
    updated_ts: float

    @property
    def shelved(self) -> bool:
        """True while the alarm is shelved."""
        return self.state == AlarmState.SHELVED


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as stored, with its row id."""

    id: int
    kind: str
    ts: float
    flow: str
    node: str
    data: dict[str, Any]
    shadow: bool

    def to_event(self) -> Event:
        """The event as the engine emitted it."""
        return Event(self.kind, self.ts, self.flow, self.node, dict(self.data), self.shadow)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to what, with which result and why."""

    id: int
    ts: float
    user: str
    role: str
    action: str
    target: str
    result: str
    cause: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Version:
    """A saved project version; hash is the SHA-256 of the document's canonical JSON."""

    number: int
    hash: str
    user: str
    ts: float
    comment: str


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A registered model version: its file (SHA-256, name in the models folder), its
    metadata as registered (a JSON object), and when and by whom it was added."""

    id: str
    version: int
    hash: str
    file: str
    info: dict[str, Any]
    added_ts: float
    user: str

    @property
    def key(self) -> str:
        """How a project names the model: "id@version"."""
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account of the control API. `password` is the encoded hash (never shown by
    repr); failed_logins counts consecutive failures since the last successful login."""

    name: str
    role: str
    password: str = field(repr=False)
    failed_logins: int
    locked_until: float | None
    created_ts: float
    changed_ts: float
    created_by: str

    def locked_at(self, now: float) -> bool:
        """True while the account is locked after too many failed logins."""
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The store's health: what it committed, what waits, what it dropped or deleted and why.

    degraded is "" when healthy, "disk full" while commits fail for lack of space, or
    "write failed: ..." for another write error; pending counts rows not yet committed.
    """

    path: Path
    committed_samples: int
    pending: int
    last_commit_ts: float | None
    commit_ms_p50: float | None
    commit_ms_p99: float | None
    degraded: str
    recovered_from: Path | None
    incarnation: str
    next_seq: int
    dropped_records: int
    dropped_event_records: int
    dropped_pending: int
    rejected_samples: int
    deleted_samples: int
    deleted_events: int
    deleted_audit: int
