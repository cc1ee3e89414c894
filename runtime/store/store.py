"""The Store: the runtime's one door to SQLite (historian, events and alarms, audit, project
versions, registered models, user accounts, outbox), usable from asyncio without blocking the
loop.

Recording (append_samples, append_columns, record_event) only queues and never blocks;
samples are refused (False, counted as dropped) when the in-memory backlog is full, events
are always accepted. Changes
that need an answer return a concurrent.futures.Future resolved after their transaction
committed (`await asyncio.wrap_future(f)`); `await store.flush()` waits until everything
queued so far is committed. A record counts as stored once its transaction committed.

Queries run on reader connections of their own (WAL lets them run beside the writer); call
them directly from a thread, or `await store.read(store.history, tag, t0, t1)` from asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from runtime.contracts.messages import GOOD, Event, Sample
from runtime.contracts.project import canonical_json, document_hash
from runtime.store import alarms, events, historian, models, opening, outbox, users, versions
from runtime.store import audit as audit_log
from runtime.store.config import StoreConfig
from runtime.store.errors import StoreClosed
from runtime.store.records import (
    AlarmRecord,
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
from runtime.store.retention import Deleted
from runtime.store.tx import Tx
from runtime.store.writer import (
    Backlog,
    Barrier,
    CallOp,
    ColumnsItem,
    Control,
    EventOp,
    Op,
    SamplesItem,
    Writer,
)

T = TypeVar("T")


class Store:
    """A durable store in one SQLite file; one writer thread, readers on their own connections.

    Opening checks the file: a newer schema raises SchemaTooNew; a corrupt or foreign file is
    moved aside (see `recovered_from`) and a fresh store created; a file another process
    keeps locked for config.open_lock_timeout_s raises StoreLocked, and one that can't be
    used for another reason (I/O, permissions) StoreUnavailable, both leaving it untouched.
    """

    def __init__(self, path: str | Path, config: StoreConfig | None = None, *,
                 log_commits: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.config = config or StoreConfig()
        self.recovered_from: Path | None = opening.prepare(self.path,
                                                           self.config.open_lock_timeout_s)
        self._clock = clock
        self._backlog = Backlog(self.config.max_backlog_rows)
        self._writer = Writer(self.path, self.config, self._backlog, clock=clock,
                              log_commits=log_commits)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._writer.start()
        except sqlite3.Error as exc:
            raise opening.refusal(self.path, exc) from exc

    @property
    def incarnation(self) -> str:
        """This store's random id (hex), made when the file was created: a store created
        afresh (first start, or after a bad file was moved aside) starts its sequence at 0
        again under a new incarnation, so (node, incarnation, seq) is unique for good."""
        return self._writer.incarnation

    # --- recording (never blocks) ---

    def append_samples(self, samples: Sequence[Sample]) -> bool:
        """Queue samples for the historian (and the outbox); False if the backlog is full."""
        if not samples:
            return True
        if not self._backlog.admit(len(samples)):
            return False
        self._writer.submit(SamplesItem(samples))
        return True

    def append_columns(self, tag: str, ts: Sequence[float], values: Sequence[Any],
                       qualities: Sequence[int] | int = GOOD) -> bool:
        """Queue one tag's samples as columns (lists or numpy arrays; ts in epoch seconds;
        qualities one per sample or one for all); False if the backlog is full."""
        n = len(ts)
        if n == 0:
            return True
        if not self._backlog.admit(n):
            return False
        self._writer.submit(ColumnsItem(tag, ts, values, qualities))
        return True

    def record_event(self, event: Event) -> bool:
        """Queue an event for the event log (and the outbox); alarm events move alarm states
        (shadow ones don't). Always accepted (True): events and alarm changes are never
        dropped to make room for samples; they count in the backlog, so samples give way."""
        self._backlog.admit(1, force=True)
        self._writer.submit(EventOp(event))
        return True

    def record_events(self, batch: Iterable[Event]) -> int:
        """Queue several events; returns how many were accepted (all of them)."""
        return sum(self.record_event(e) for e in batch)

    def set_deadbands(self, deadbands: Mapping[str, float | None]) -> Future[None]:
        """Set per-tag historian deadbands (None removes one); applies to samples queued after.

        A sample is stored when its quality changed or its value moved more than the
        deadband from the last stored one (with 0: when it changed at all). Tags without a
        deadband store every sample.
        """
        bands = {tag: (None if b is None else float(b)) for tag, b in deadbands.items()}
        for tag, band in bands.items():
            if band is not None and not (band >= 0 and math.isfinite(band)):
                raise ValueError(f"deadband of {tag} must be a finite number >= 0, got {band}")
        return self._control(lambda w: w.set_deadbands(bands))

    # --- acknowledged changes ---

    def flush_future(self) -> Future[None]:
        """A future resolved once everything queued before this call is committed."""
        future: Future[None] = Future()
        self._check_open()
        self._writer.submit(Barrier(future))
        return future

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (durable)."""
        await asyncio.wrap_future(self.flush_future())

    def audit(self, user: str, role: str, action: str, target: str, result: str,
              cause: str = "", details: dict[str, Any] | None = None,
              ts: float | None = None) -> Future[int]:
        """Record who did what (PLC write, deploy, rollback, mode change, login...); the
        future gives the record's id once committed."""
        details = dict(details or {})
        return self._op(lambda tx: tx.audit(user, role, action, target, result, cause,
                                            details, ts))

    def ack(self, alarm_id: str, user: str, note: str = "", role: str = "") -> Future[AlarmRecord]:
        """Acknowledge an alarm (audited in the same transaction); UnknownAlarm if never raised."""
        return self._op(lambda tx: alarms.ack(tx, alarm_id, user, note, role))

    def shelve(self, alarm_id: str, user: str, duration_s: float, note: str = "",
               role: str = "") -> Future[AlarmRecord]:
        """Shelve an alarm for duration_s (at most config.max_shelve_s), audited."""
        if not 0 < duration_s <= self.config.max_shelve_s:
            raise ValueError(f"shelve duration must be > 0 and <= {self.config.max_shelve_s} s,"
                             f" got {duration_s}")
        return self._op(lambda tx: alarms.shelve(tx, alarm_id, user, duration_s, note, role))

    def unshelve(self, alarm_id: str, user: str, role: str = "") -> Future[AlarmRecord]:
        """Return a shelved alarm (active-unacked if still active, else normal), audited."""
        return self._op(lambda tx: alarms.unshelve(tx, alarm_id, user, role))

    def save_version(self, document: dict[str, Any], user: str, comment: str = "",
                     within_s: float | None = None) -> Future[Version]:
        """Save a project document as the next version (hash: SHA-256 of canonical JSON).

        With `within_s`, a version not committed that soon (a degraded store) is dropped,
        never saved later, and the future fails with NotSaved: a deploy waiting on it gets
        a definite answer."""
        canonical, digest = canonical_json(document), document_hash(document)
        return self._op(lambda tx: versions.save(tx, canonical, digest, user, comment),
                        within_s, "the project version")

    def add_model(self, model_id: str, version: int, digest: str, file: str, info_json: str,
                  user: str, role: str = "") -> Future[ModelRecord]:
        """Register a model version (its file's SHA-256 and name, its metadata as a JSON
        object), audited; the same hash again is a no-op, another one ModelVersionTaken."""
        return self._op(lambda tx: models.add(tx, model_id, version, digest, file, info_json,
                                              user, role))

    def remove_model(self, key: str, user: str, role: str = "") -> Future[ModelRecord]:
        """Unregister model "id@version", audited; the future gives the removed record
        (UnknownModelVersion if it is not registered)."""
        return self._op(lambda tx: models.remove(tx, key, user, role))

    def add_user(self, name: str, role: str, password_hash: str, by: str, by_role: str = "",
                 within_s: float | None = None) -> Future[UserRecord]:
        """Add a user account (the password already hashed), audited as user.add by `by`;
        UserExists (audited) if the name is taken. runtime.api.users checks names, roles and
        passwords; the store keeps what it is given."""
        return self._op(lambda tx: users.add(tx, name, role, password_hash, by, by_role),
                        within_s, "the user change")

    def set_password(self, name: str, password_hash: str, by: str, by_role: str = "",
                     within_s: float | None = None) -> Future[UserRecord]:
        """Replace a user's password hash and clear their failed logins and lock, audited as
        user.passwd; UnknownUser (audited) if there is no such user."""
        return self._op(lambda tx: users.set_password(tx, name, password_hash, by, by_role),
                        within_s, "the user change")

    def set_role(self, name: str, role: str, by: str, by_role: str = "",
                 within_s: float | None = None) -> Future[UserRecord]:
        """Give a user another role, audited as user.role; UnknownUser, or LastAdmin for the
        only admin (both audited)."""
        return self._op(lambda tx: users.set_role(tx, name, role, by, by_role),
                        within_s, "the user change")

    def remove_user(self, name: str, by: str, by_role: str = "",
                    within_s: float | None = None) -> Future[UserRecord]:
        """Remove a user account, audited as user.remove; the future gives the removed record
        (UnknownUser, or LastAdmin for the only admin, both audited)."""
        return self._op(lambda tx: users.remove(tx, name, by, by_role),
                        within_s, "the user change")

    def record_login(self, name: str, ok: bool, locked_until: float | None, client: str,
                     *, while_locked: bool = False,
                     within_s: float | None = None) -> Future[UserRecord | None]:
        """Record a login attempt, audited as auth.login (user: the name tried; result "ok",
        "refused: bad password", "refused: locked" or "refused: unknown user"; details: the
        client). ok resets the failed logins, a refusal counts one more; locked_until is the
        lock in force after it. An attempt refused `while_locked` changes nothing. The future
        gives the account as it is now (None for an unknown name)."""
        return self._op(lambda tx: users.record_login(tx, name, ok, locked_until, client,
                                                      while_locked),
                        within_s, "the login record")

    def outbox_ack(self, chunk_ids: Iterable[int]) -> Future[int]:
        """Delete chunks the broker acknowledged; the future gives how many records went."""
        ids = [int(i) for i in chunk_ids]
        return self._op(lambda tx: outbox.ack(tx, ids))

    def run_retention(self) -> Future[Deleted]:
        """Run retention passes now until nothing more is due; the future gives the total."""
        def run(writer: Writer) -> Deleted:
            total = Deleted()
            while True:
                done = writer.retention_pass()
                if done is None:
                    return total
                total.samples += done.samples
                total.events += done.events
                total.audit += done.audit
                if not done.more:
                    return total
        return self._control(run)

    def set_max_db_bytes(self, max_bytes: int | None) -> Future[int]:
        """Cap the database size (None lifts the cap); reaching it behaves as a full disk."""
        return self._control(lambda w: w.set_max_db_bytes(max_bytes))

    # --- queries (reader connections; from asyncio use `await store.read(...)`) ---

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a query method in a worker thread: `await store.read(store.events, t0, t1)`."""
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    def history(self, tag: str, start: float, end: float,
                limit: int | None = None) -> list[Sample]:
        """The tag's samples with start <= ts < end (epoch seconds), oldest first."""
        with self._reader() as conn:
            return historian.history(conn, tag, start, end, limit)

    def history_columns(self, tag: str, start: float, end: float) -> historian.Columns:
        """The tag's samples with start <= ts < end as columns (ts float64 array, values
        list, quality int array): the fast read for replays and backtests."""
        with self._reader() as conn:
            return historian.history_columns(conn, tag, start, end)

    def history_downsampled(self, tag: str, start: float, end: float,
                            width: int) -> Buckets:
        """Min/max per bucket over `width` equal buckets of [start, end), computed in SQL."""
        with self._reader() as conn:
            return historian.history_downsampled(conn, tag, start, end, width)

    def tags(self) -> list[str]:
        """Every tag the historian has seen."""
        with self._reader() as conn:
            return historian.tags(conn)

    def alarm(self, alarm_id: str) -> AlarmRecord | None:
        """One alarm's state, or None if it was never raised."""
        with self._reader() as conn:
            return alarms.get(conn, alarm_id)

    def active_alarms(self, include_shelved: bool = False) -> list[AlarmRecord]:
        """Every alarm not normal (not shelved unless asked), most important, newest first."""
        with self._reader() as conn:
            return alarms.active(conn, include_shelved)

    def shelved_alarms(self) -> list[AlarmRecord]:
        """Shelved alarms, soonest to return first."""
        with self._reader() as conn:
            return alarms.shelved(conn)

    def events(self, start: float, end: float, kinds: Iterable[str] | None = None,
               limit: int = 1000, newest_first: bool = False) -> list[EventRecord]:
        """Events with start <= ts < end, optionally of some kinds."""
        with self._reader() as conn:
            return events.query(conn, start, end, kinds, limit, newest_first)

    def audit_records(self, start: float, end: float, action: str | None = None,
                      limit: int = 1000, newest_first: bool = False) -> list[AuditRecord]:
        """Audit records with start <= ts < end, optionally of one action."""
        with self._reader() as conn:
            return audit_log.records(conn, start, end, action, limit, newest_first)

    def versions(self) -> list[Version]:
        """Every saved project version, oldest first."""
        with self._reader() as conn:
            return versions.all_versions(conn)

    def version(self, number: int) -> dict[str, Any]:
        """The document of one version (UnknownVersion if there is none)."""
        with self._reader() as conn:
            return versions.document(conn, number)

    def latest_version(self) -> Version | None:
        """The newest project version, or None."""
        with self._reader() as conn:
            return versions.latest(conn)

    def models(self) -> list[ModelRecord]:
        """Every registered model version, by id then version."""
        with self._reader() as conn:
            return models.all_models(conn)

    def model(self, key: str) -> ModelRecord | None:
        """The registered model "id@version", or None."""
        model_id, version = models.split_key(key)
        with self._reader() as conn:
            return models.get(conn, model_id, version)

    def users(self) -> list[UserRecord]:
        """Every user account, by name."""
        with self._reader() as conn:
            return users.all_users(conn)

    def user(self, name: str) -> UserRecord | None:
        """One user account, or None."""
        with self._reader() as conn:
            return users.get(conn, name)

    def outbox_peek(self, max_records: int) -> list[OutboxChunk]:
        """Oldest chunks holding up to max_records records (always one chunk if there is any)."""
        with self._reader() as conn:
            return outbox.peek(conn, max_records)

    def outbox_stats(self) -> OutboxStats:
        """The committed outbox backlog (kept in memory, cheap to poll)."""
        w = self._writer
        c = w.outbox
        return OutboxStats(records=c.records, bytes=c.bytes, chunks=c.chunks,
                           oldest_ts=c.oldest_ts, dropped_records=w.meta["dropped_records"],
                           next_seq=w.meta["next_seq"], incarnation=w.incarnation,
                           dropped_event_records=w.meta["dropped_event_records"])

    def status(self) -> StoreStatus:
        """What the store committed, holds, dropped and deleted, and whether it is degraded."""
        w = self._writer
        p50, p99 = w.percentiles()
        return StoreStatus(
            path=self.path, committed_samples=w.committed_samples, pending=self._backlog.rows,
            last_commit_ts=w.last_commit_ts, commit_ms_p50=p50, commit_ms_p99=p99,
            degraded=w.degraded, recovered_from=self.recovered_from,
            incarnation=w.incarnation,
            next_seq=w.meta["next_seq"], dropped_records=w.meta["dropped_records"],
            dropped_event_records=w.meta["dropped_event_records"],
            dropped_pending=self._backlog.dropped, rejected_samples=w.rejected_samples,
            deleted_samples=w.meta["deleted_samples"], deleted_events=w.meta["deleted_events"],
            deleted_audit=w.meta["deleted_audit"],
        )

    # --- lifecycle ---

    def close(self, timeout_s: float | None = None) -> None:
        """Commit what is pending, stop the writer thread and close every connection, within
        timeout_s (default config.close_timeout_s) even when the disk is full or another
        process holds the file locked: then what could not be saved is counted, logged once
        (`store.close_lost`) and its futures fail with StoreClosed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._backlog.close()
        self._writer.stop(self.config.close_timeout_s if timeout_s is None else timeout_s)
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    async def aclose(self, timeout_s: float | None = None) -> None:
        """close() without blocking the event loop."""
        await asyncio.to_thread(self.close, timeout_s)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- internals ---

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"store {self.path} is closed")

    def _op(self, fn: Callable[[Tx], T], within_s: float | None = None,
            what: str = "the change") -> Future[T]:
        op: Op = CallOp(fn)
        op.future = Future()
        if within_s is not None:
            op.due_within(what, within_s)
        self._backlog.admit(1, force=True)
        self._writer.submit(op)
        return op.future

    def _control(self, fn: Callable[[Writer], T]) -> Future[T]:
        self._check_open()
        future: Future[T] = Future()
        self._writer.submit(Control(fn, future))
        return future

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        self._check_open()
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = opening.connect(self.path, cache_mb=8, read_only=True)
            with self._lock:
                self._readers.append(conn)
        try:
            yield conn
        finally:
            self._idle.put(conn)
