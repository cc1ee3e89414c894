"""Durability and faults with real SQLite files: reopen, kill -9, group commit, corrupt and
foreign files, a newer schema, migration from version 1, a full disk, and a database locked
by another process."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.contracts.messages import BAD, Event, EventKind, Sample
from runtime.store import (
    AlarmState,
    NotSaved,
    SchemaTooNew,
    Store,
    StoreClosed,
    StoreConfig,
    StoreLocked,
)
from runtime.store.opening import connect, database
from runtime.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate
from tests.unit.store_support import LockHolder

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0
FAST = StoreConfig(commit_interval_s=0.02, historian_max_age_s=1e10)


def wait_for(predicate, what: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def count_samples(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM samples").fetchone()[0]


def test_everything_flushed_is_there_after_reopening(tmp_path):
    path = tmp_path / "store.db"
    with Store(path, FAST) as store:
        store.append_columns("a", [T0 + i for i in range(5000)], [i * 0.5 for i in range(5000)])
        store.append_samples([Sample("b", T0, False, BAD)])
        store.record_event(Event(EventKind.ALARM_RAISED, T0, "f", "n", {"alarm": "A"}))
        store.save_version({"schema": "lineside.project/1"}, "eve", "v1").result(5)
        store.flush_future().result(5)
    with Store(path, FAST) as store:
        assert len(store.history("a", T0, T0 + 5000)) == 5000
        assert store.history("b", T0, T0 + 1) == [Sample("b", T0, False, BAD)]
        assert store.alarm("A").state == AlarmState.ACTIVE_UNACKED
        assert store.latest_version().number == 1
        assert store.outbox_stats().records == 5002
        assert store.status().recovered_from is None


async def test_flush_and_close_from_asyncio(tmp_path):
    store = Store(tmp_path / "store.db", FAST)
    store.append_columns("a", [T0, T0 + 1], [1.0, 2.0])
    await store.flush()
    assert len(await store.read(store.history, "a", T0, T0 + 2)) == 2
    await store.aclose()


CHILD = r"""
import sys
from runtime.store import Store, StoreConfig
store = Store(sys.argv[1], StoreConfig(commit_interval_s=0.05, historian_max_age_s=1e10))
i = 0
while True:
    store.append_columns("k", [1.7e9 + (i + j) * 0.001 for j in range(500)],
                         [float(i + j) for j in range(500)])
    i += 500
    if i % 2000 == 0:
        store.flush_future().result()
        print(i, flush=True)
"""


def test_acknowledged_samples_survive_kill_9(tmp_path):
    path = tmp_path / "store.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        acked = 0
        while acked < 30_000:
            line = child.stdout.readline()
            assert line, f"child ended early with {child.wait()}"
            acked = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store(path, FAST) as store:
        got = store.history("k", 0, 4e9)
        assert len(got) >= acked
        assert [s.value for s in got] == [float(i) for i in range(len(got))]
        seqs = [r[0] for c in store.outbox_peek(10**9) for r in c.records()]
        assert seqs == list(range(len(got)))
        assert store.outbox_stats().next_seq == len(got)


def test_group_commit_without_flush_within_the_commit_interval(tmp_path, caplog):
    caplog.set_level(logging.INFO, "runtime.store")
    path = tmp_path / "store.db"
    with Store(path, StoreConfig(historian_max_age_s=1e10), log_commits=True) as store:
        started = time.monotonic()
        store.append_samples([Sample("a", T0, 1.0)])
        wait_for(lambda: count_samples(path) == 1, "a commit")
        assert time.monotonic() - started < 0.25 + 0.2
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("store.commit ")]
    assert lines and all(re.fullmatch(r"store\.commit seq_last=\d+ samples=\d+", m) for m in lines)
    assert lines[0] == "store.commit seq_last=0 samples=1"


def test_commit_rows_pending_commit_before_the_interval(tmp_path):
    path = tmp_path / "store.db"
    config = StoreConfig(commit_interval_s=30, commit_rows=1000, historian_max_age_s=1e10)
    with Store(path, config) as store:
        store.append_columns("a", [T0 + i for i in range(1000)], [1.0] * 1000)
        wait_for(lambda: count_samples(path) == 1000, "a commit on commit_rows", within=3)


def _assert_fresh_store_works(store: Store) -> None:
    store.append_columns("a", [T0], [1.0])
    store.flush_future().result(5)
    assert store.history("a", T0, T0 + 1) == [Sample("a", T0, 1.0)]


def test_a_file_of_random_bytes_is_moved_aside_and_a_fresh_store_created(tmp_path, caplog):
    path = tmp_path / "store.db"
    junk = os.urandom(64 * 1024)
    path.write_bytes(junk)
    Path(f"{path}-wal").write_bytes(b"wal junk")
    with Store(path, FAST) as store:
        moved = store.recovered_from
        assert moved is not None and re.fullmatch(r"store\.db\.corrupt-\d{8}T\d{6}", moved.name)
        assert store.status().recovered_from == moved
        _assert_fresh_store_works(store)
    assert moved.read_bytes() == junk
    assert Path(f"{moved}-wal").read_bytes() == b"wal junk"
    assert "store.recovered" in caplog.text and "not an SQLite database" in caplog.text


def test_a_foreign_sqlite_database_is_moved_aside_never_overwritten(tmp_path):
    path = tmp_path / "store.db"
    moved = []
    for _ in range(2):
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE customers (name TEXT)")
            conn.execute("INSERT INTO customers VALUES ('acme')")
        conn.close()
        with Store(path, FAST) as store:
            moved.append(store.recovered_from)
            _assert_fresh_store_works(store)
        path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert moved[0] != moved[1] and all(m.exists() for m in moved)
    for m in moved:
        with sqlite3.connect(m) as conn:
            assert conn.execute("SELECT name FROM customers").fetchall() == [("acme",)]
        conn.close()


def test_our_application_id_without_a_meta_table_is_moved_aside(tmp_path):
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("CREATE TABLE other (x)")
    conn.close()
    with Store(path, FAST) as store:
        assert store.recovered_from is not None
        _assert_fresh_store_works(store)


def test_a_store_that_fails_quick_check_is_moved_aside(tmp_path):
    path = tmp_path / "store.db"
    with Store(path, FAST) as store:
        for tag in range(20):
            store.append_columns(f"t{tag}", [T0 + i for i in range(2000)], [1.5] * 2000)
        store.flush_future().result(5)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:  # scribble over the middle pages, header left intact
        f.seek(page_size * 3)
        f.write(os.urandom(page_size * (pages // 2)))
    with Store(path, FAST) as store:
        assert store.recovered_from is not None
        _assert_fresh_store_works(store)


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "store.db"
    Store(path, FAST).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer Lineside"):
        Store(path, FAST)
    assert path.read_bytes() == before
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_a_version_1_store_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "store.db"
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrate(database(conn), target=1) == 1
    conn.execute("INSERT INTO tags (key, tag, kind) VALUES (1, 'a', 'number')")
    conn.execute("INSERT INTO samples VALUES (1, ?, 2.5, 0)", (round(T0 * 1e6),))
    conn.execute("INSERT INTO alarms (alarm, state, active, priority, message, flow, node,"
                 " raised_ts, updated_ts) VALUES ('A', 'active-unacked', 1, 'high', 'm', 'f',"
                 " 'n', ?, ?)", (T0, T0))
    conn.execute("UPDATE meta SET value = 7 WHERE key = 'next_seq'")
    conn.close()
    with Store(path, FAST) as store:
        assert store.recovered_from is None
        assert store.history("a", T0, T0 + 1) == [Sample("a", T0, 2.5)]
        assert store.alarm("A").shelved_until is None
        assert store.shelve("A", "olga", 60).result(5).state == AlarmState.SHELVED
        assert store.outbox_stats().next_seq == 7
        incarnation = store.incarnation
        assert re.fullmatch(r"[0-9a-f]{32}", incarnation)  # given one by the migration
    with Store(path, FAST) as store:
        assert store.incarnation == incarnation
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        assert meta["dropped_event_records"] == 0 and meta["incarnation"] == incarnation
    conn.close()


def test_disk_full_degrades_keeps_everything_acknowledged_and_resumes(tmp_path, caplog):
    path = tmp_path / "store.db"
    caplog.set_level(logging.INFO, "runtime.store")
    config = replace(FAST, disk_full_retry_s=0.05, max_backlog_rows=30_000)
    with Store(path, config) as store:
        store.append_columns("a", [T0 + i for i in range(1000)], [float(i) for i in range(1000)])
        store.flush_future().result(5)  # acknowledged
        store.set_max_db_bytes(1).result(5)  # the file can't grow any more
        ts = [T0 + 1000 + i for i in range(20_000)]
        assert store.append_columns("a", ts, [float(i) for i in range(1000, 21_000)])
        flushed = store.flush_future()
        wait_for(lambda: store.status().degraded == "disk full", "degraded")
        assert not flushed.done()
        assert not store.append_columns("b", [T0 + i for i in range(20_000)], [0.0] * 20_000)
        assert store.status().dropped_pending == 20_000
        assert count_samples(path) == 1000
        assert "store.degraded reason=\"disk full\"" in caplog.text
        store.set_max_db_bytes(None).result(5)  # space is back
        flushed.result(10)
        assert store.status().degraded == ""
        got = store.history("a", 0, 4e9)
        assert [s.value for s in got] == [float(i) for i in range(21_000)]
        assert store.outbox_stats().next_seq == 21_000
    assert "store.recovered_from_degraded" in caplog.text
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_version_not_saved_by_its_deadline_is_dropped_for_good(tmp_path, caplog):
    doc = {"schema": "lineside.project/1", "connections": [], "tags": [], "flows": []}
    config = replace(FAST, disk_full_retry_s=0.05)
    with Store(tmp_path / "store.db", config) as store:
        store.set_max_db_bytes(1).result(5)  # the file can't grow any more
        store.append_columns("a", [T0 + i for i in range(5000)], [0.0] * 5000)
        wait_for(lambda: store.status().degraded == "disk full", "degraded")
        started = time.monotonic()
        saving = store.save_version(doc, "erik", "change", within_s=0.3)
        with pytest.raises(NotSaved, match=r"^the project version was not saved within 0\.3 s "
                                           r"\(disk full\); nothing was changed$"):
            saving.result(5)
        assert time.monotonic() - started < 2.0
        waiting = store.save_version(doc, "anna", "no deadline")  # waits as long as it takes
        store.set_max_db_bytes(None).result(5)  # space is back
        assert waiting.result(10).number == 1
        assert [(v.user, v.comment) for v in store.versions()] == [("anna", "no deadline")]
        assert len(store.history("a", 0, 4e9)) == 5000  # the samples waited and were kept
    assert "store.change_dropped what=\"the project version\"" in caplog.text


def _store_with_one_sample(path: Path) -> None:
    with Store(path, FAST) as store:
        store.append_columns("a", [T0], [1.0])
        store.flush_future().result(5)


@pytest.mark.parametrize("mode", ["immediate", "exclusive"])
def test_a_store_locked_by_another_process_is_refused_naming_it_and_never_moved(tmp_path,
                                                                               mode):
    path = tmp_path / "store.db"
    _store_with_one_sample(path)
    with LockHolder(path, mode) as holder:
        with pytest.raises(StoreLocked) as locked:
            Store(path, replace(FAST, open_lock_timeout_s=0.3))
        assert locked.value.path == path
        assert [h.pid for h in locked.value.holders] == [holder.pid]
        text = str(locked.value)
        assert str(path) in text and f"held by pid {holder.pid} (" in text
        assert "left as it is" in text
        assert list(tmp_path.glob("*.corrupt-*")) == []
    with Store(path, FAST) as store:  # the holder let go: the same file opens as it was
        assert store.recovered_from is None
        assert store.history("a", T0, T0 + 1) == [Sample("a", T0, 1.0)]
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_opening_waits_for_a_lock_to_be_released(tmp_path, caplog):
    path = tmp_path / "store.db"
    _store_with_one_sample(path)
    caplog.set_level(logging.WARNING, "runtime.store")
    outcome: list[Store | BaseException] = []

    def open_store() -> None:
        try:
            outcome.append(Store(path, replace(FAST, open_lock_timeout_s=60)))
        except BaseException as exc:
            outcome.append(exc)

    opener = threading.Thread(target=open_store)
    with LockHolder(path, "exclusive") as holder:
        opener.start()
        wait_for(lambda: "store.open_waiting" in caplog.text or outcome, "the opener waiting")
        assert not outcome, f"opened or failed while locked: {outcome}"
        assert f"holder_pids={holder.pid} " in caplog.text
    opener.join(30)
    assert not opener.is_alive()
    [store] = outcome
    assert isinstance(store, Store), f"did not open after the lock was released: {store!r}"
    with store:
        assert store.recovered_from is None
        assert store.history("a", T0, T0 + 1) == [Sample("a", T0, 1.0)]


def test_a_lock_taken_mid_run_degrades_keeps_everything_and_recovers(tmp_path, caplog):
    path = tmp_path / "store.db"
    caplog.set_level(logging.INFO, "runtime.store")
    with Store(path, FAST) as store:
        store.append_columns("a", [T0], [0.0])
        store.flush_future().result(5)
        with LockHolder(path, "immediate"):
            store.append_columns("a", [T0 + i for i in range(1, 100)],
                                 [float(i) for i in range(1, 100)])
            store.record_event(Event(EventKind.ALARM_RAISED, T0, "f", "n", {"alarm": "A"}))
            saved = store.save_version({"schema": "lineside.project/1"}, "eve", "v1")
            flushed = store.flush_future()
            wait_for(lambda: store.status().degraded == "locked by another process",
                     "degraded by the lock")
            assert not flushed.done() and not saved.done()
            assert count_samples(path) == 1
        flushed.result(10)  # the holder let go: everything held in memory is committed
        assert saved.result(5).number == 1
        assert store.status().degraded == ""
        assert [s.value for s in store.history("a", 0, 4e9)] == [float(i) for i in range(100)]
        assert store.alarm("A").state == AlarmState.ACTIVE_UNACKED
        assert store.outbox_stats().next_seq == 101
    assert list(tmp_path.glob("*.corrupt-*")) == []
    assert 'store.degraded reason="locked by another process"' in caplog.text
    assert "store.recovered_from_degraded" in caplog.text


def closed_within(store: Store, seconds: float) -> None:
    """Close the store in another thread; fail unless close() returned within `seconds`."""
    closer = threading.Thread(target=store.close, name="test-closer")
    closer.start()
    closer.join(seconds)
    assert not closer.is_alive(), f"close() was still running after {seconds} s"


def close_lost_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.getMessage().startswith("store.close_lost")]


def test_closing_with_a_full_disk_counts_and_logs_what_was_not_saved(tmp_path, caplog):
    path = tmp_path / "store.db"
    caplog.set_level(logging.INFO, "runtime.store")
    config = replace(FAST, disk_full_retry_s=0.05, max_backlog_rows=30_000, close_timeout_s=2)
    store = Store(path, config)
    try:
        store.append_columns("a", [T0], [0.0])
        store.flush_future().result(5)
        store.set_max_db_bytes(1).result(5)  # the file can't grow any more
        store.append_columns("a", [T0 + 1 + i for i in range(20_000)], [1.0] * 20_000)
        store.record_event(Event(EventKind.ALARM_RAISED, T0, "f", "n", {"alarm": "A"}))
        saved = store.save_version({"schema": "lineside.project/1"}, "eve", "v1")
        flushed = store.flush_future()
        wait_for(lambda: store.status().degraded == "disk full", "degraded")
    finally:
        closed_within(store, 10)
    for future in (saved, flushed):
        with pytest.raises(StoreClosed, match="closed before this was saved"):
            future.result(0)
    assert close_lost_lines(caplog) == [
        f'store.close_lost samples=20000 events=1 other=1 reason="disk full" path={path}'
        " (nothing acknowledged was lost)"]
    with Store(path, FAST) as store:
        assert store.history("a", 0, 4e9) == [Sample("a", T0, 0.0)]
        assert store.alarm("A") is None and store.latest_version() is None


def test_closing_while_another_process_holds_the_lock_is_bounded(tmp_path, caplog):
    path = tmp_path / "store.db"
    caplog.set_level(logging.INFO, "runtime.store")
    store = Store(path, replace(FAST, close_timeout_s=1))
    try:
        store.append_columns("a", [T0], [0.0])
        store.flush_future().result(5)
        with LockHolder(path, "immediate"):
            store.append_columns("a", [T0 + 1 + i for i in range(100)], [1.0] * 100)
            store.record_event(Event(EventKind.ALARM_RAISED, T0, "f", "n", {"alarm": "A"}))
            flushed = store.flush_future()
            closed_within(store, 5)  # well within SQLite's 10 s wait for a lock
            with pytest.raises(StoreClosed, match="100 samples, 1 events"):
                flushed.result(0)
    finally:
        store.close()
    [line] = close_lost_lines(caplog)
    assert line.startswith('store.close_lost samples=100 events=1 other=0 reason="locked by')
    assert list(tmp_path.glob("*.corrupt-*")) == []
    with Store(path, FAST) as store:
        assert store.history("a", 0, 4e9) == [Sample("a", T0, 0.0)]
