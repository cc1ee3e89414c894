"""Outbox: one sequence with no gaps and no reuse across restarts, the store's incarnation,
peek/ack, the budgets (samples dropped before events), and events accepted when the backlog
is full of samples."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.contracts.messages import BAD, Event, EventKind, Sample
from runtime.store import AlarmState, StoreConfig, outbox
from runtime.store.historian import SampleBuffer, TagRegistry
from tests.unit.store_support import T0, Clock, opened_stores

FAST = StoreConfig(commit_interval_s=0.02, outbox_chunk_records=100)


@pytest.fixture
def open_store(tmp_path):
    with opened_stores(tmp_path, FAST) as make:
        yield make


def alarm_event(i: int, pad: int = 0) -> Event:
    return Event(EventKind.ALARM_RAISED, T0 + i, "f", "n", {"alarm": f"A{i}", "pad": "x" * pad})


def drain(store, max_records=10_000):
    """All chunks, oldest first, decoded."""
    return [(c, c.records()) for c in store.outbox_peek(max_records)]


def test_samples_and_events_enter_the_outbox_with_consecutive_sequence_numbers(open_store):
    store = open_store()
    store.append_samples([Sample("a", T0 + i, float(i)) for i in range(250)])
    store.record_event(Event(EventKind.WRITE, T0, "f", "n", {"tag": "SP", "value": 3}))
    store.append_samples([Sample("b", T0, "text", BAD)])
    store.flush_future().result(5)
    chunks = drain(store)
    assert [(c.kind, c.seq_first, c.seq_last, c.count) for c, _ in chunks] == [
        ("samples", 0, 99, 100), ("samples", 100, 199, 100), ("samples", 200, 250, 51),
        ("events", 251, 251, 1)]
    assert chunks[0][1][0] == [0, "a", T0, 0.0, 0]
    assert chunks[2][1][-1] == [250, "b", T0, "text", BAD]
    assert chunks[3][1] == [[251, "write", T0, "f", "n", {"tag": "SP", "value": 3}, False]]
    assert all(len(c.payload) > 0 and c.created_ts > 0 for c, _ in chunks)
    stats = store.outbox_stats()
    assert (stats.records, stats.chunks, stats.next_seq, stats.dropped_records) == (
        252, 4, 252, 0)
    assert stats.bytes == sum(len(c.payload) for c, _ in chunks)


def test_peek_returns_whole_chunks_up_to_max_records_and_ack_deletes_them(open_store):
    store = open_store()
    store.append_columns("a", [T0 + i for i in range(350)], list(range(350)))
    store.flush_future().result(5)
    assert [c.count for c in store.outbox_peek(250)] == [100, 100]
    assert [c.count for c in store.outbox_peek(50)] == [100]  # at least one chunk
    first = store.outbox_peek(250)
    assert store.outbox_ack([c.id for c in first]).result(5) == 200
    assert [c.seq_first for c in store.outbox_peek(1000)] == [200, 300]
    assert store.outbox_ack([first[0].id, 999_999]).result(5) == 0  # already gone, unknown
    stats = store.outbox_stats()
    assert (stats.records, stats.chunks) == (150, 2)
    assert stats.oldest_ts is not None


def test_sequence_continues_across_restarts_without_gaps_or_reuse(open_store):
    seen = []
    for round_ in range(3):
        store = open_store()
        store.append_columns("a", [T0 + round_ * 100 + i for i in range(30)], [1.0] * 30)
        store.record_event(Event(EventKind.LINE_MODE, T0, "f", "n", {"mode": "manual"}))
        store.flush_future().result(5)
        chunks = store.outbox_peek(10_000)
        seen += [r[0] for c in chunks for r in c.records()]
        store.outbox_ack([c.id for c in chunks]).result(5)  # an empty outbox must not reset
        store.close()
    assert seen == list(range(93))
    store = open_store()
    assert store.outbox_stats().next_seq == 93
    assert store.status().next_seq == 93


def test_a_store_keeps_its_incarnation_across_restarts(open_store):
    store = open_store()
    first = store.incarnation
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert store.outbox_stats().incarnation == store.status().incarnation == first
    store.close()
    assert open_store().incarnation == first


def test_a_store_created_afresh_after_a_bad_file_starts_at_0_under_a_new_incarnation(
        open_store, tmp_path):
    store = open_store()
    old = store.incarnation
    store.append_columns("a", [T0 + i for i in range(50)], [1.0] * 50)
    store.flush_future().result(5)
    assert store.outbox_stats().next_seq == 50
    store.close()
    (tmp_path / "store.db").write_bytes(os.urandom(8192))  # the file is lost to the disk
    fresh = open_store()
    assert fresh.recovered_from is not None
    assert fresh.incarnation != old and re.fullmatch(r"[0-9a-f]{32}", fresh.incarnation)
    fresh.append_columns("a", [T0], [2.0])
    fresh.flush_future().result(5)
    assert [r[0] for c in fresh.outbox_peek(10) for r in c.records()] == [0]
    assert fresh.outbox_stats().incarnation == fresh.incarnation


def test_chunk_ids_are_never_reused(open_store):
    store = open_store()
    store.append_columns("a", [T0], [1.0])
    store.flush_future().result(5)
    [first] = store.outbox_peek(10)
    store.outbox_ack([first.id]).result(5)
    store.append_columns("a", [T0 + 1], [2.0])
    store.flush_future().result(5)
    [second] = store.outbox_peek(10)
    assert second.id > first.id


def test_forwarding_can_be_off(open_store):
    store = open_store(replace(FAST, forward_samples=False))
    store.append_columns("a", [T0], [1.0])
    store.record_event(Event(EventKind.WRITE, T0, "f", "n", {}))
    store.flush_future().result(5)
    assert [c.kind for c in store.outbox_peek(10)] == ["events"]
    assert len(store.history("a", T0, T0 + 1)) == 1


def test_over_the_byte_budget_the_oldest_chunks_are_dropped_and_counted(open_store, caplog):
    store = open_store(replace(FAST, outbox_max_bytes=20_000))
    caplog.set_level(logging.WARNING, "runtime.store")
    for k in range(10):
        store.append_columns("line1/a", [T0 + k * 100 + i for i in range(100)], [0.5] * 100)
        store.flush_future().result(5)
    stats = store.outbox_stats()
    assert stats.bytes <= 20_000
    assert stats.dropped_records > 0
    assert stats.records + stats.dropped_records == 1000
    first = store.outbox_peek(1)[0]
    assert first.seq_first == stats.dropped_records  # exactly the oldest went
    assert "store.outbox_dropped records=" in caplog.text and "reason=bytes" in caplog.text
    store.close()
    assert open_store().outbox_stats().dropped_records == stats.dropped_records


def test_records_older_than_the_age_budget_are_dropped_and_counted(open_store):
    clock = Clock()
    store = open_store(replace(FAST, outbox_max_age_s=60), clock=clock)
    store.append_columns("a", [T0 + i for i in range(150)], [1.0] * 150)
    store.record_event(alarm_event(0))
    store.flush_future().result(5)
    clock.now = T0 + 61
    store.append_columns("a", [T0 + 200], [2.0])
    store.flush_future().result(5)
    stats = store.outbox_stats()
    assert (stats.records, stats.dropped_records, stats.oldest_ts) == (1, 151, T0 + 61)
    assert stats.dropped_event_records == 1  # old events go too: retention, counted
    assert json.loads(store.outbox_peek(10)[0].payload)[0][0] == 151
    assert len(store.history("a", T0, T0 + 300)) == 151  # the historian keeps them


def test_over_the_byte_budget_samples_are_dropped_before_events(open_store, caplog):
    store = open_store(replace(FAST, outbox_max_bytes=20_000))
    caplog.set_level(logging.WARNING, "runtime.store")
    for i in range(3):
        store.record_event(alarm_event(i))
    store.flush_future().result(5)
    for k in range(10):
        store.append_columns("line1/a", [T0 + k * 100 + i for i in range(100)], [0.5] * 100)
        store.flush_future().result(5)
    stats = store.outbox_stats()
    assert stats.bytes <= 20_000 and stats.dropped_records > 0
    assert stats.dropped_event_records == 0 == store.status().dropped_event_records
    chunks = drain(store)
    assert chunks[0][0].kind == "events" and [r[0] for r in chunks[0][1]] == [0, 1, 2]
    assert chunks[1][0].seq_first == 3 + stats.dropped_records  # the oldest samples went
    assert stats.records + stats.dropped_records == 1003
    assert "reason=bytes" in caplog.text and "store.outbox_dropped_events" not in caplog.text


def test_events_are_dropped_for_bytes_only_when_no_sample_is_left_and_logged_as_errors(
        open_store, caplog):
    store = open_store(replace(FAST, outbox_max_bytes=3_000))
    caplog.set_level(logging.WARNING, "runtime.store")
    store.append_columns("a", [T0 + i for i in range(10)], [1.0] * 10)
    store.flush_future().result(5)
    for i in range(20):  # one chunk of about 260 bytes each
        store.record_event(alarm_event(i, pad=200))
        store.flush_future().result(5)
    stats = store.outbox_stats()
    seqs = [r[0] for _c, records in drain(store) for r in records]
    assert stats.bytes <= 3_000 and stats.dropped_event_records > 0
    assert stats.dropped_records == 10 + stats.dropped_event_records  # the samples went first
    assert seqs == list(range(10 + stats.dropped_event_records, 30))  # then the oldest events
    errors = [r for r in caplog.records if r.getMessage().startswith("store.outbox_dropped_events")]
    assert errors and all(r.levelno == logging.ERROR for r in errors)
    store.close()
    reopened = open_store()
    assert reopened.outbox_stats().dropped_event_records == stats.dropped_event_records
    assert reopened.status().dropped_event_records == stats.dropped_event_records


def test_events_and_alarm_changes_are_accepted_when_the_backlog_is_full_of_samples(open_store):
    store = open_store(replace(FAST, max_backlog_rows=20_000, disk_full_retry_s=0.05))
    store.set_max_db_bytes(1).result(5)  # nothing commits: the backlog fills up
    assert store.append_columns("a", [T0 + i for i in range(20_000)], [1.0] * 20_000)
    assert not store.append_columns("a", [T0 + 20_000], [1.0])  # samples give way
    assert store.record_event(alarm_event(0))
    assert store.record_events([Event(EventKind.WRITE, T0, "f", "n", {"tag": "SP"}),
                                Event(EventKind.LINE_MODE, T0, "f", "n", {"mode": "manual"})]) == 2
    acked = store.ack("A0", "olga")
    assert store.status().dropped_pending == 1
    store.set_max_db_bytes(None).result(5)  # space is back
    store.flush_future().result(10)
    assert acked.result(5).state == AlarmState.ACTIVE_ACKED
    assert [e.kind for e in store.events(0, 2e9)] == [
        EventKind.ALARM_RAISED, EventKind.WRITE, EventKind.LINE_MODE]
    assert len(store.history("a", 0, 2e9)) == 20_000


def _json_number(value):
    """What a value reads back as from the payload: JSON has no NaN or infinity."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


_VALUES = st.one_of(
    st.floats(width=64), st.integers(-2**70, 2**70), st.booleans(), st.none(),
    st.text(max_size=6), st.sampled_from([0.0, -0.0, 1e16, 1e-5, 5e-324, 100.0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b/é", 'q"x\\']),
                          st.one_of(st.floats(-1e12, 1e12), st.integers(0, 2**40)),
                          _VALUES, st.integers(0, 3)), min_size=1, max_size=30),
       st.integers(1, 7))
def test_sample_payloads_are_the_records_as_json_with_non_finite_numbers_null(samples, chunk):
    buf = SampleBuffer(TagRegistry([]))
    assert buf.add_samples([Sample(*s) for s in samples], {}, {}) == (0, 0)
    rows = outbox.sample_rows(buf, 7, chunk, T0)
    records = [[7 + i, tag, ts, _json_number(value), q]
               for i, (tag, ts, value, q) in enumerate(samples)]
    assert [json.loads(row[5]) for row in rows] == [
        records[a:a + chunk] for a in range(0, len(records), chunk)]
    assert all(b"NaN" not in row[5] and b"Infinity" not in row[5] for row in rows)
    assert [row[1:4] for row in rows] == [
        (7 + a, 7 + min(len(records), a + chunk) - 1, min(len(records), a + chunk) - a)
        for a in range(0, len(records), chunk)]
