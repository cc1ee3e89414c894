"""Alarms (ISA-18.2 states, shelving), their audit records, the audit log and versions."""

from __future__ import annotations

import time

import pytest

from runtime.contracts.messages import Event, EventKind
from runtime.store import AlarmState, StoreConfig, UnknownAlarm, UnknownVersion
from tests.unit.store_support import T0, Clock, opened_stores

FAST = StoreConfig(commit_interval_s=0.02)
N, AU, AA, RU, SH = (AlarmState.NORMAL, AlarmState.ACTIVE_UNACKED, AlarmState.ACTIVE_ACKED,
                     AlarmState.RETURNED_UNACKED, AlarmState.SHELVED)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def open_store(tmp_path, clock):
    with opened_stores(tmp_path, FAST, clock=clock) as make:
        yield make


def raised(alarm="TT-1.high", ts=T0, shadow=False, priority="high"):
    return Event(EventKind.ALARM_RAISED, ts, "flow1", "alarm1",
                 {"alarm": alarm, "message": "temperature high", "priority": priority}, shadow)


def cleared(alarm="TT-1.high", ts=T0 + 1, shadow=False):
    return Event(EventKind.ALARM_CLEARED, ts, "flow1", "alarm1", {"alarm": alarm}, shadow)


def step(store, action):
    if action == "raise":
        store.record_event(raised())
    elif action == "clear":
        store.record_event(cleared())
    elif action == "ack":
        store.ack("TT-1.high", "olga", "seen it", role="operator").result(5)
    store.flush_future().result(5)
    return store.alarm("TT-1.high").state


@pytest.mark.parametrize(("actions", "states"), [
    (["raise", "ack", "clear"], [AU, AA, N]),
    (["raise", "clear", "ack"], [AU, RU, N]),
    (["raise", "clear", "raise", "ack", "clear"], [AU, RU, AU, AA, N]),
    (["raise", "raise", "ack", "ack"], [AU, AU, AA, AA]),
    (["raise", "ack", "clear", "clear", "ack"], [AU, AA, N, N, N]),
])
def test_isa_18_2_transitions(open_store, actions, states):
    store = open_store()
    assert [step(store, a) for a in actions] == states


def test_active_alarms_show_state_priority_times_and_ack(open_store):
    store = open_store()
    store.record_event(raised("A", T0, priority="low"))
    store.record_event(raised("B", T0 + 1, priority="critical"))
    store.record_event(raised("C", T0 + 2, priority="low"))
    store.record_event(cleared("C", T0 + 3))
    store.record_event(raised("D", T0 + 4))
    store.record_event(cleared("D", T0 + 5))
    store.ack("D", "olga", "ok").result(5)
    store.ack("A", "olga", "looking").result(5)
    active = store.active_alarms()
    assert [(a.alarm, a.state) for a in active] == [("B", AU), ("C", RU), ("A", AA)]
    a = active[-1]
    assert (a.priority, a.message, a.raised_ts, a.ack_user, a.ack_note, a.active) == (
        "low", "temperature high", T0, "olga", "looking", True)
    assert store.alarm("D").state == N and store.alarm("D").cleared_ts == T0 + 5
    assert store.alarm("nope") is None


def test_shadow_events_are_stored_but_move_no_alarm(open_store):
    store = open_store()
    store.record_event(raised(shadow=True))
    store.flush_future().result(5)
    assert store.alarm("TT-1.high") is None
    [ev] = store.events(T0 - 1, T0 + 1)
    assert ev.shadow and ev.kind == EventKind.ALARM_RAISED and ev.data["priority"] == "high"


def test_shelve_hides_unshelve_returns_and_both_are_audited(open_store, clock):
    store = open_store()
    store.record_event(raised())
    rec = store.shelve("TT-1.high", "olga", 600, "chattering", role="operator").result(5)
    assert rec.state == SH and rec.shelved_until == T0 + 600 and rec.shelved_by == "olga"
    assert store.active_alarms() == []
    assert [a.alarm for a in store.active_alarms(include_shelved=True)] == ["TT-1.high"]
    assert [a.alarm for a in store.shelved_alarms()] == ["TT-1.high"]
    store.record_event(cleared())  # condition returns while shelved
    store.record_event(raised(ts=T0 + 2))
    assert store.unshelve("TT-1.high", "olga", role="operator").result(5).state == AU
    assert [a.state for a in store.active_alarms()] == [AU]
    records = store.audit_records(T0 - 1, T0 + 1)
    assert [(r.action, r.user, r.role, r.target, r.result) for r in records] == [
        ("alarm.shelve", "olga", "operator", "TT-1.high", "ok"),
        ("alarm.unshelve", "olga", "operator", "TT-1.high", "ok")]
    assert records[0].cause == "chattering" and records[0].details["until"] == T0 + 600


def test_unshelving_a_cleared_alarm_returns_it_to_normal(open_store):
    store = open_store()
    store.record_event(raised())
    store.shelve("TT-1.high", "olga", 60).result(5)
    store.record_event(cleared())
    assert store.unshelve("TT-1.high", "olga").result(5).state == N


def test_a_shelf_expires_on_its_own(open_store, clock):
    store = open_store()
    store.record_event(raised())
    store.shelve("TT-1.high", "olga", 30).result(5)
    clock.now = T0 + 31
    store.flush_future().result(5)
    deadline = time.monotonic() + 5
    while store.alarm("TT-1.high").state == SH and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.alarm("TT-1.high").state == AU
    [last] = store.audit_records(T0, T0 + 100, action="alarm.unshelve")
    assert (last.user, last.cause) == ("system", "shelve time ran out")


def test_ack_is_audited_in_the_same_transaction_and_unknown_alarms_are_refused(open_store):
    store = open_store()
    store.record_event(raised())
    store.ack("TT-1.high", "olga", "seen", role="operator").result(5)
    store.ack("TT-1.high", "olga", "again").result(5)
    with pytest.raises(UnknownAlarm):
        store.ack("XX", "mallory", "").result(5)
    with pytest.raises(UnknownAlarm):
        store.shelve("XX", "mallory", 10).result(5)
    with pytest.raises(ValueError):
        store.shelve("TT-1.high", "olga", 10 * 86_400)
    rows = [(r.action, r.user, r.target, r.result, r.details)
            for r in store.audit_records(T0 - 1, T0 + 1, action="alarm.ack")]
    assert rows == [
        ("alarm.ack", "olga", "TT-1.high", "ok", {"from": AU, "to": AA}),
        ("alarm.ack", "olga", "TT-1.high", "unchanged (active-acked)", {"from": AA, "to": AA}),
        ("alarm.ack", "mallory", "XX", "refused: unknown alarm", {})]
    assert store.audit_records(T0 - 1, T0 + 1, action="alarm.shelve")[0].result.startswith(
        "refused")


def test_alarm_state_survives_a_restart(open_store):
    store = open_store()
    store.record_event(raised("A"))
    store.record_event(raised("B"))
    store.ack("A", "olga", "").result(5)
    store.shelve("B", "olga", 3600).result(5)
    store.close()
    again = open_store()
    assert again.alarm("A").state == AA and again.alarm("A").ack_user == "olga"
    assert again.alarm("B").state == SH and again.alarm("B").shelved_until == T0 + 3600
    again.record_event(cleared("A"))
    again.flush_future().result(5)
    assert again.alarm("A").state == N


def test_every_event_kind_is_stored_and_queried_by_kind_and_time(open_store):
    store = open_store()
    kinds = [EventKind.ALARM_RAISED, EventKind.WRITE, EventKind.WRITE_REFUSED,
             EventKind.LINE_MODE, EventKind.ALARM_CLEARED]
    for i, kind in enumerate(kinds):
        data = {"alarm": "A"} if kind.startswith("alarm") else {"tag": "SP", "value": i}
        store.record_event(Event(kind, T0 + i, "f", "n", data))
    store.flush_future().result(5)
    assert [e.kind for e in store.events(T0, T0 + 10)] == kinds
    assert [e.kind for e in store.events(T0, T0 + 10, kinds=["write", "line_mode"])] == [
        "write", "line_mode"]
    assert [e.ts for e in store.events(T0 + 1, T0 + 3)] == [T0 + 1, T0 + 2]
    assert [e.ts for e in store.events(T0, T0 + 10, limit=2, newest_first=True)] == [
        T0 + 4, T0 + 3]
    assert store.events(T0, T0 + 10)[1].to_event() == Event(
        EventKind.WRITE, T0 + 1, "f", "n", {"tag": "SP", "value": 1})


def test_audit_records_keep_everything_given(open_store):
    store = open_store()
    rid = store.audit("eve", "engineer", "deploy", "project", "ok", cause="new limits",
                      details={"version": 3}, ts=T0 + 5).result(5)
    store.audit("olga", "operator", "plc.write", "FIC-101.SP", "refused", "outside envelope",
                ts=T0 + 6).result(5)
    [rec] = store.audit_records(T0, T0 + 5.5)
    assert (rec.id, rec.user, rec.role, rec.action, rec.target, rec.result, rec.cause,
            rec.details) == (rid, "eve", "engineer", "deploy", "project", "ok", "new limits",
                             {"version": 3})
    assert [r.action for r in store.audit_records(T0, T0 + 10, action="plc.write")] == [
        "plc.write"]


def test_versions_are_numbered_hashed_and_read_back(open_store):
    from runtime.contracts.project import document_hash

    store = open_store()
    assert store.latest_version() is None
    doc1 = {"schema": "lineside.project/1", "tags": [], "flows": [], "name": "pump line"}
    doc2 = dict(doc1, name="pump line v2")
    v1 = store.save_version(doc1, "eve", "first").result(5)
    v2 = store.save_version(doc2, "eve", "rename").result(5)
    assert (v1.number, v2.number) == (1, 2)
    assert v1.hash == document_hash(doc1) and v1.ts == T0 and v1.comment == "first"
    assert store.versions() == [v1, v2]
    assert store.latest_version() == v2
    assert store.version(1) == doc1
    with pytest.raises(UnknownVersion):
        store.version(7)
