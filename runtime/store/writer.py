"""The one writer of a store: a thread that owns the write connection and group-commits.

Everything that changes the database arrives on a queue. Samples are filtered (deadband) and
laid out in columns as they arrive; the writer commits them, with their outbox chunks and
every other queued change, in one transaction every commit_interval_s or when commit_rows
are pending, whichever comes first, and at once when someone waits on a flush. A future is
resolved only after its transaction committed. When a commit fails (disk full, I/O error,
a lock held by another process) the writer keeps what it holds in memory, reports itself
degraded and retries. Stopping is bounded: one last commit attempt, which gives up (SQLite
interrupted) when the caller's time is up; what could not be saved is counted and logged.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.contracts.messages import Event, Sample
from runtime.store import alarms, events, faults, outbox, retention
from runtime.store.config import StoreConfig
from runtime.store.errors import NotSaved, StoreClosed, StoreError
from runtime.store.historian import INSERT_SQL, SampleBuffer, TagRegistry
from runtime.store.opening import connect_writer
from runtime.store.schema import COUNTERS
from runtime.store.tx import Tx

log = logging.getLogger("runtime.store")

_MAX_PAGES = 4_294_967_294
LOCKED_REASON = "locked by another process"
_INTERRUPT_GRACE_S = 0.5  # of a stop's time, kept to interrupt a commit that runs too long
_INTERRUPT_EVERY_S = 0.05


def resolve(future: Future | None, result: Any) -> None:
    """Set a future's result, or its exception when `result` is one; ignore cancelled ones."""
    if future is None or future.done():
        return
    try:
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class Backlog:
    """Rows queued or held by the writer but not yet committed, bounded by max_backlog_rows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows = 0
        self.dropped = 0
        self.closed = False
        self._lock = threading.Lock()
        self._last_warning = 0.0

    def admit(self, n: int, force: bool = False) -> bool:
        """Count n rows in, unless the backlog is full (then they are counted as dropped)."""
        with self._lock:
            if self.closed:
                raise StoreClosed("the store is closed")
            if force or self.rows + n <= self.limit:
                self.rows += n
                return True
            self.dropped += n
        now = time.monotonic()
        if now - self._last_warning > 5.0:
            self._last_warning = now
            log.warning("store.backlog_full dropped=%d pending=%d limit=%d",
                        self.dropped, self.rows, self.limit)
        return False

    def close(self) -> None:
        """Refuse everything from now on."""
        with self._lock:
            self.closed = True

    def add(self, n: int) -> None:
        """Count rows the writer made itself."""
        with self._lock:
            self.rows += n

    def done(self, n: int) -> None:
        """n rows were committed or filtered out."""
        with self._lock:
            self.rows -= n


# --- what goes on the queue ------------------------------------------------------------


@dataclass(slots=True)
class SamplesItem:
    """Samples as objects."""

    samples: Sequence[Sample]


@dataclass(slots=True)
class ColumnsItem:
    """One tag's samples as columns."""

    tag: str
    ts: Sequence[float]
    values: Sequence[Any]
    qualities: Sequence[int] | int


class Op:
    """A change applied inside the next transaction; its future gets the result after COMMIT.

    With a `deadline` (time.monotonic()), a change not committed by then is dropped, never
    applied later, and its future fails with NotSaved: its caller gets a definite answer."""

    __slots__ = ("deadline", "future", "what", "within_s")

    def __init__(self) -> None:
        self.future: Future | None = None
        self.deadline: float | None = None
        self.within_s = 0.0
        self.what = "the change"

    def due_within(self, what: str, within_s: float) -> None:
        """Give the change a deadline `within_s` from now (see the class)."""
        self.what, self.within_s = what, within_s
        self.deadline = time.monotonic() + within_s

    def apply(self, tx: Tx) -> Any:
        """Do the change in tx; a StoreError raised here is an audited refusal."""
        raise NotImplementedError


class EventOp(Op):
    """Store an event (and its outbox record); apply alarm raise/clear."""

    __slots__ = ("data_json", "event")

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        self.data_json = events.encode(event)

    def apply(self, tx: Tx) -> Any:
        row_id = events.insert(tx, self.event, self.data_json)
        alarms.apply_event(tx, self.event)
        return row_id


class CallOp(Op):
    """Any other change: a function of the transaction."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Tx], Any]) -> None:
        super().__init__()
        self.fn = fn

    def apply(self, tx: Tx) -> Any:
        return self.fn(tx)


@dataclass(slots=True)
class Control:
    """Done by the writer as soon as it is dequeued, outside any transaction."""

    fn: Callable[[Writer], Any]
    future: Future


@dataclass(slots=True)
class Barrier:
    """Resolved once everything queued before it is committed."""

    future: Future


_STOP = object()


# --- the writer -------------------------------------------------------------------------


class Writer:
    """The writer thread and everything it owns; the Store talks to it through submit()."""

    def __init__(self, path: Path, config: StoreConfig, backlog: Backlog, *,
                 clock: Callable[[], float] = time.time, log_commits: bool = False) -> None:
        self.path = path
        self.config = config
        self.backlog = backlog
        self.clock = clock
        self.log_commits = log_commits
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=f"store-writer:{path.name}",
                                       daemon=True)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._conn_lock = threading.Lock()
        self._conn_open = False
        self._stop_by = 0.0

        self.buffer: SampleBuffer
        self.ops: list[Op] = []
        self.waiters: list[Future] = []
        self.held_rows = 0
        self.first_held: float | None = None
        self.deadbands: dict[str, float] = {}
        self.last: dict[str, tuple[Any, int]] = {}

        self.committed_samples = 0
        self.commits = 0
        self.last_commit_ts: float | None = None
        self.commit_ms: deque[float] = deque(maxlen=1000)
        self.rejected_samples = 0
        self.degraded = ""
        self._retry_at = 0.0
        self._last_degraded_log = 0.0
        self._next_retention = 0.0
        self._next_summary = 0.0
        self._summary_mark = (0, 0)
        self._next_expiry: float | None = None

    # --- lifecycle (called from the Store) ---

    def start(self) -> None:
        """Start the thread; raise what went wrong if it could not open the database."""
        self.thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self.thread.join()
            raise self._start_error

    def submit(self, item: Any) -> None:
        """Queue an item (never blocks)."""
        self.queue.put(item)

    def stop(self, timeout_s: float) -> bool:
        """Commit what is held (one attempt) and end the thread, within about timeout_s.

        The last commit waits for a lock until shortly before the time is up; a commit still
        running then is interrupted (rolled back) and what it held counted as lost. Returns
        False when the thread did not end in time (stuck in the operating system).
        """
        deadline = time.monotonic() + timeout_s
        self._stop_by = deadline - min(_INTERRUPT_GRACE_S, timeout_s / 4)
        self.queue.put(_STOP)
        self.thread.join(max(0.0, self._stop_by - time.monotonic()))
        while self.thread.is_alive() and time.monotonic() < deadline:
            self._interrupt()  # a no-op between statements, so again until it ends
            self.thread.join(min(_INTERRUPT_EVERY_S, max(0.0, deadline - time.monotonic())))
        if self.thread.is_alive():
            log.error("store.close_abandoned path=%s timeout_s=%g (the writer did not stop;"
                      " nothing acknowledged was lost)", self.path, timeout_s)
            return False
        return True

    def _interrupt(self) -> None:
        with self._conn_lock:
            if self._conn_open:
                self.conn.interrupt()

    # --- the thread ---

    def _run(self) -> None:
        try:
            self._open()
        except BaseException as exc:
            self._start_error = exc
            self._close_conn()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop()
        except BaseException as exc:
            log.exception("store.writer_crashed path=%s", self.path)
            self.degraded = f"writer stopped: {exc!r}"
            self._fail_waiting(StoreClosed("the store's writer stopped on an error"))
            raise
        finally:
            self._close_conn()

    def _close_conn(self) -> None:
        with self._conn_lock:
            if self._conn_open:
                self._conn_open = False
                self.conn.close()

    def _open(self) -> None:
        conn = connect_writer(self.path, self.config.cache_mb)
        with self._conn_lock:
            self.conn, self._conn_open = conn, True
        self.page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        self._set_max_bytes(self.config.max_db_bytes)
        meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        self.meta = {k: int(meta.get(k, v)) for k, v in COUNTERS.items()}
        self.incarnation = str(meta["incarnation"])
        self.registry = TagRegistry(self.conn.execute("SELECT key, tag, kind FROM tags"))
        self.buffer = SampleBuffer(self.registry)
        self.outbox = outbox.OutboxCounters.load(self.conn)
        self._next_expiry = alarms.next_expiry(self.conn)

    def _loop(self) -> None:
        stopping = False
        while True:
            item = self._next_item(self._wait_s())
            while item is not None:
                if item is _STOP:
                    stopping = True
                    break
                self._take(item)
                if self.held_rows >= self.config.commit_rows and not self.degraded:
                    break
                item = self._next_item(0)
            if stopping:
                self._final_commit()
                return
            now = time.monotonic()
            self._expire_ops(now)
            if self._commit_due(now):
                self._commit()
            self._housekeeping(now)

    def _next_item(self, timeout: float) -> Any:
        try:
            if timeout <= 0:
                return self.queue.get_nowait()
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _wait_s(self) -> float:
        now = time.monotonic()
        deadline = min(now + 1.0, self._next_retention, self._next_summary)
        if self.degraded:
            deadline = min(deadline, self._retry_at, *(
                op.deadline for op in self.ops if op.deadline is not None))
        elif self.waiters:
            return 0.0
        elif self.first_held is not None:
            deadline = min(deadline, self.first_held + self.config.commit_interval_s)
        return max(0.0, deadline - now)

    def _commit_due(self, now: float) -> bool:
        if self.degraded:
            return now >= self._retry_at
        if self.waiters:
            return True
        if self.first_held is None:
            return False
        return (self.held_rows >= self.config.commit_rows
                or now >= self.first_held + self.config.commit_interval_s)

    def _hold(self, rows: int) -> None:
        self.held_rows += rows
        if self.first_held is None:
            self.first_held = time.monotonic()

    def _take(self, item: Any) -> None:
        if isinstance(item, SamplesItem | ColumnsItem):
            if isinstance(item, SamplesItem):
                n = len(item.samples)
                filtered, rejected = self.buffer.add_samples(
                    item.samples, self.deadbands, self.last)
            else:
                n = len(item.ts)
                filtered, rejected = self.buffer.add_columns(
                    item.tag, item.ts, item.values, item.qualities, self.deadbands, self.last)
            if rejected:
                self.rejected_samples += rejected
                log.warning("store.samples_rejected count=%d"
                            " reason=value_type_or_timestamp_not_storable", rejected)
            self.backlog.done(filtered + rejected)
            self._hold(n - filtered - rejected)
        elif isinstance(item, Op):
            self.ops.append(item)
            self._hold(1)
        elif isinstance(item, Barrier):
            if self.first_held is None and not self.degraded:
                resolve(item.future, None)
            else:
                self.waiters.append(item.future)
        elif isinstance(item, Control):
            try:
                resolve(item.future, item.fn(self))
            except Exception as exc:
                resolve(item.future, exc)

    # --- commit ---

    def _commit(self) -> bool:
        if self.first_held is None:
            self._resolve_waiters()
            return True
        started = time.perf_counter()
        conn = self.conn
        tx = Tx(conn, self.clock(), self.meta["next_seq"], self.config.forward_events)
        results: list[Any] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            self.registry.save(conn)
            n = len(self.buffer)
            if n:
                conn.executemany(INSERT_SQL, self.buffer.rows())
                tx.samples = n
                if self.config.forward_samples:
                    outbox.add_samples(tx, self.buffer, self.config.outbox_chunk_records)
            results = [self._apply(tx, op) for op in self.ops]
            if tx.event_records:
                outbox.add_events(tx, self.config.outbox_chunk_records)
            outbox.enforce(tx, self.outbox, self.config)
            self._save_meta(next_seq=tx.next_seq, **self._dropped(tx))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._failed(exc)
            return False
        ms = (time.perf_counter() - started) * 1000.0
        self._adopt(tx, ms)
        for op, result in zip(self.ops, results, strict=True):
            resolve(op.future, result)
        self.backlog.done(self.held_rows)
        self.buffer = SampleBuffer(self.registry)
        self.ops = []
        self.held_rows = 0
        self.first_held = None
        self._resolve_waiters()
        return True

    def _expire_ops(self, now: float) -> None:
        """Drop the changes whose deadline passed (only a degraded store holds them that
        long); their futures fail with NotSaved."""
        if not self.degraded or not any(
                op.deadline is not None and now >= op.deadline for op in self.ops):
            return
        keep = []
        for op in self.ops:
            if op.deadline is not None and now >= op.deadline:
                resolve(op.future, NotSaved(op.what, op.within_s, self.degraded))
                self.held_rows -= 1
                self.backlog.done(1)
                log.error("store.change_dropped what=%s reason=%s", _quote(op.what),
                          _quote(self.degraded))
            else:
                keep.append(op)
        self.ops = keep
        if self.held_rows == 0:
            self.first_held = None
            self._resolve_waiters()

    def _apply(self, tx: Tx, op: Op) -> Any:
        mark = (tx.next_seq, len(tx.event_records))
        self.conn.execute("SAVEPOINT op")
        try:
            result = op.apply(tx)
        except StoreError as exc:
            result = exc
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and (
                    faults.is_transient(exc) or not self.conn.in_transaction):
                raise  # the whole commit fails and is retried; not this op's fault
            self.conn.execute("ROLLBACK TO op")
            tx.next_seq = mark[0]
            del tx.event_records[mark[1]:]
            log.error("store.op_failed op=%s error=%r", type(op).__name__, exc)
            result = exc
        self.conn.execute("RELEASE op")
        return result

    def _adopt(self, tx: Tx, ms: float) -> None:
        was = self.degraded
        self.meta.update(next_seq=tx.next_seq, **self._dropped(tx))
        self.registry.saved()
        self.outbox.adopt(tx, self.conn)
        if tx.shelves_changed:
            self._next_expiry = alarms.next_expiry(self.conn)
        self.committed_samples += tx.samples
        self.commits += 1
        self.last_commit_ts = tx.now
        self.commit_ms.append(ms)
        self.degraded = ""
        if was:
            log.warning("store.recovered_from_degraded was=%s committed_rows=%d",
                        _quote(was), self.held_rows)
        seq_last = tx.next_seq - 1
        if self.log_commits:
            log.info("store.commit seq_last=%d samples=%d", seq_last, tx.samples)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("store.committed rows=%d samples=%d seq_last=%d ms=%.1f",
                      self.held_rows, tx.samples, seq_last, ms)

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("store.rollback_failed error=%r", exc)

    def _failed(self, exc: sqlite3.Error) -> None:
        if faults.is_busy(exc):
            # Each attempt already waited LOCK_STEP_MS for the lock: try again soon.
            reason, retry_s = LOCKED_REASON, self.config.commit_interval_s
        elif faults.is_disk_full(exc):
            reason, retry_s = "disk full", self.config.disk_full_retry_s
        else:
            reason, retry_s = f"write failed: {exc}", self.config.disk_full_retry_s
        now = time.monotonic()
        if reason != self.degraded or now - self._last_degraded_log > 60.0:
            self._last_degraded_log = now
            log.error("store.degraded reason=%s pending=%d retry_s=%.2f error=%s",
                      _quote(reason), self.held_rows, retry_s, _quote(faults.describe(exc)))
        self.degraded = reason
        self._retry_at = now + retry_s

    def _resolve_waiters(self) -> None:
        waiters, self.waiters = self.waiters, []
        for future in waiters:
            resolve(future, None)

    def _final_commit(self) -> None:
        """One last commit attempt, waiting for a lock only until the stop's time is up;
        what it could not save is counted, logged once, and its futures fail."""
        while (item := self._next_item(0)) is not None:  # queued as the store closed
            if item is not _STOP:
                self._take(item)
        wait_s = self._stop_by - time.monotonic()
        if wait_s > 0:
            self.conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
            self._retry_at = 0.0
            if self._commit():
                return
        elif self.first_held is None:
            self._resolve_waiters()
            return
        samples = len(self.buffer)
        events = sum(isinstance(op, EventOp) for op in self.ops)
        others = len(self.ops) - events
        reason = self.degraded or "no time left to commit"
        log.error("store.close_lost samples=%d events=%d other=%d reason=%s path=%s"
                  " (nothing acknowledged was lost)", samples, events, others, _quote(reason),
                  self.path)
        self._fail_waiting(StoreClosed(
            f"store {self.path} closed before this was saved ({reason}); {samples} samples,"
            f" {events} events and {others} other changes were not saved"))

    def _fail_waiting(self, exc: StoreError) -> None:
        for op in self.ops:
            resolve(op.future, exc)
        for future in self.waiters:
            resolve(future, exc)
        self.ops, self.waiters = [], []

    def _dropped(self, tx: Tx) -> dict[str, int]:
        """The drop counters once tx is committed."""
        return {"dropped_records": self.meta["dropped_records"] + tx.dropped_records,
                "dropped_event_records": (self.meta["dropped_event_records"]
                                          + tx.dropped_event_records)}

    def _save_meta(self, **values: int) -> None:
        self.conn.executemany("UPDATE meta SET value = ? WHERE key = ?",
                              [(v, k) for k, v in values.items() if v != self.meta.get(k)])

    # --- housekeeping between commits ---

    def _housekeeping(self, now: float) -> None:
        if self._next_expiry is not None and self.clock() >= self._next_expiry:
            self._next_expiry = None
            self.backlog.add(1)
            self.ops.append(CallOp(alarms.expire_shelves))
            self._hold(1)
        if now >= self._next_retention and not self.degraded:
            done = self.retention_pass()
            delay = 0.05 if done is not None and done.more else self.config.retention_interval_s
            self._next_retention = time.monotonic() + delay
        if now >= self._next_summary:
            self._summary(now)

    def retention_pass(self) -> retention.Deleted | None:
        """One bounded retention pass in its own transaction (and the outbox age budget)."""
        conn = self.conn
        tx = Tx(conn, self.clock(), self.meta["next_seq"])
        try:
            conn.execute("BEGIN IMMEDIATE")
            done = retention.run_pass(conn, self.config, tx.now, self.outbox.bytes)
            outbox.enforce(tx, self.outbox, self.config)
            counts = {
                "deleted_samples": self.meta["deleted_samples"] + done.samples,
                "deleted_events": self.meta["deleted_events"] + done.events,
                "deleted_audit": self.meta["deleted_audit"] + done.audit,
                **self._dropped(tx),
            }
            self._save_meta(**counts)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            log.warning("store.retention_failed error=%s", _quote(str(exc)))
            return None
        self.meta.update(counts)
        self.outbox.adopt(tx, conn)
        if done.samples or done.events or done.audit:
            log.info("store.retention deleted_samples=%d deleted_events=%d deleted_audit=%d"
                     " more=%s", done.samples, done.events, done.audit, done.more)
        return done

    def _summary(self, now: float) -> None:
        self._next_summary = now + self.config.summary_interval_s
        mark = (self.commits, self.committed_samples)
        if mark == self._summary_mark and not self.degraded:
            return
        samples = mark[1] - self._summary_mark[1]
        self._summary_mark = mark
        p50, p99 = self.percentiles()
        log.info("store.summary samples=%d commits=%d pending=%d seq_last=%d outbox_records=%d"
                 " outbox_bytes=%d commit_ms_p50=%.1f commit_ms_p99=%.1f degraded=%s",
                 samples, mark[0], self.backlog.rows, self.meta["next_seq"] - 1,
                 self.outbox.records, self.outbox.bytes, p50 or 0.0, p99 or 0.0,
                 _quote(self.degraded))

    def percentiles(self) -> tuple[float | None, float | None]:
        """Commit time p50 and p99 in ms over the last 1000 commits."""
        times = sorted(self.commit_ms)
        if not times:
            return None, None
        return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]

    # --- controls (run on the writer thread through Control items) ---

    def set_deadbands(self, deadbands: Mapping[str, float | None]) -> None:
        """Merge deadbands; None removes a tag's deadband."""
        for tag, band in deadbands.items():
            if band is None:
                self.deadbands.pop(tag, None)
            else:
                self.deadbands[tag] = float(band)
            self.last.pop(tag, None)

    def _set_max_bytes(self, max_bytes: int | None) -> None:
        pages = _MAX_PAGES if max_bytes is None else max(1, max_bytes // self.page_size)
        self.conn.execute(f"PRAGMA max_page_count = {pages}")
        self._retry_at = 0.0

    def set_max_db_bytes(self, max_bytes: int | None) -> int:
        """Cap the database size (None: no cap); returns the cap in pages now in force."""
        self._set_max_bytes(max_bytes)
        return self.conn.execute("PRAGMA max_page_count").fetchone()[0]


def _quote(text: str) -> str:
    return json.dumps(text)
