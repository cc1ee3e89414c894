"""Retention: the historian by age and by bytes (oldest first), events and audit by age."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from runtime.contracts.messages import Event, EventKind
from runtime.store import StoreConfig
from runtime.store.retention import historian_bytes
from tests.unit.store_support import T0, Clock, opened_stores

DAY = 86_400.0
FAST = StoreConfig(commit_interval_s=0.02, forward_samples=False, retention_batch_rows=1000)


@pytest.fixture
def open_store(tmp_path):
    with opened_stores(tmp_path, FAST) as make:
        yield make


def count(store, tag):
    return len(store.history(tag, 0, 4e9))


def test_historian_events_and_audit_are_kept_for_their_own_ages(open_store):
    clock = Clock(T0 + 10 * DAY)
    config = replace(FAST, historian_max_age_s=2 * DAY, events_max_age_s=5 * DAY,
                     audit_max_age_s=8 * DAY)
    store = open_store(config, clock=clock)
    for day in range(10):
        ts = T0 + day * DAY
        store.append_columns("a", [ts + i for i in range(500)], [float(day)] * 500)
        store.record_event(Event(EventKind.WRITE, ts, "f", "n", {}))
        store.audit("olga", "operator", "plc.write", "SP", "ok", ts=ts)
    store.flush_future().result(5)
    deleted = store.run_retention().result(10)
    assert (deleted.samples, deleted.events, deleted.audit) == (8 * 500, 5, 2)
    assert store.history("a", 0, 4e9)[0].ts == T0 + 8 * DAY
    assert store.events(0, 4e9)[0].ts == T0 + 5 * DAY
    assert store.audit_records(0, 4e9)[0].ts == T0 + 2 * DAY
    status = store.status()
    assert (status.deleted_samples, status.deleted_events, status.deleted_audit) == (
        4000, 5, 2)
    store.close()
    assert open_store(config, clock=clock).status().deleted_samples == 4000


def test_shadow_events_are_kept_for_their_own_shorter_age(open_store):
    clock = Clock(T0 + 10 * DAY)
    store = open_store(replace(FAST, events_max_age_s=8 * DAY, shadow_max_age_s=3 * DAY),
                       clock=clock)
    for day in range(10):
        ts = T0 + day * DAY
        store.record_event(Event(EventKind.WRITE, ts, "live", "n", {}))
        store.record_event(Event(EventKind.WRITE, ts, "candidate", "n", {}, shadow=True))
    store.flush_future().result(5)
    deleted = store.run_retention().result(10)
    assert deleted.events == 2 + 7  # live before day 2, shadow before day 7
    kept = store.events(0, 4e9)
    assert [e.ts for e in kept if not e.shadow] == [T0 + d * DAY for d in range(2, 10)]
    assert [e.ts for e in kept if e.shadow] == [T0 + d * DAY for d in (7, 8, 9)]


def test_historian_over_its_byte_budget_loses_its_oldest_samples_first(open_store, tmp_path):
    budget = 600_000
    store = open_store(replace(FAST, historian_max_bytes=budget), clock=Clock(T0 + 6000))
    for tag in range(10):
        store.append_columns(f"t{tag}", [T0 + i for i in range(6000)],
                             [tag + i / 7 for i in range(6000)])
    store.flush_future().result(5)
    deleted = store.run_retention().result(30)
    assert deleted.samples > 0
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert historian_bytes(conn, 0) <= budget
    for tag in range(10):
        kept = store.history(f"t{tag}", 0, 4e9)
        assert kept[-1].ts == T0 + 5999  # the newest stay
        assert len(kept) < 6000
    firsts = [store.history(f"t{tag}", 0, 4e9, limit=1)[0].ts for tag in range(10)]
    assert max(firsts) - min(firsts) <= 6000 / 50 + 1  # one cut-off for all tags
    assert store.status().deleted_samples == deleted.samples == 60_000 - sum(
        count(store, f"t{tag}") for tag in range(10))


def test_ingest_goes_on_when_a_budget_is_hit(open_store):
    store = open_store(replace(FAST, historian_max_bytes=200_000, retention_interval_s=0.05),
                       clock=Clock(T0 + 20_000))
    for k in range(5):
        store.append_columns("a", [T0 + k * 4000 + i for i in range(4000)], [1.5] * 4000)
        store.flush_future().result(5)
    store.run_retention().result(10)
    assert store.status().degraded == ""
    assert store.history("a", 0, 4e9)[-1].ts == T0 + 19_999
