"""Shadow comparison: alarms and writes of a live and a shadow flow, summarised."""

from __future__ import annotations

import pytest

from runtime.contracts import Event, EventKind, WriteRequest
from runtime.engine.compare import compare, shadow_comparison, writes_from_events
from runtime.store import Store, StoreConfig

RAISED, CLEARED, WRITE = EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED, EventKind.WRITE


def alarm(kind, ts, alarm_id, flow="live", node="alarm", shadow=False):
    return Event(kind, ts, flow, node, {"alarm": alarm_id, "priority": "high"}, shadow)


def write(ts, tag, value, flow="live"):
    return WriteRequest(tag, value, ts, flow, "write")


def test_alarms_writes_and_leads_are_summarised():
    live = [alarm(RAISED, 110.0, "T"), alarm(CLEARED, 130.0, "T"), alarm(RAISED, 150.0, "T"),
            alarm(RAISED, 140.0, "V")]
    shadow = [alarm(RAISED, 104.5, "T", "cand", shadow=True),
              alarm(CLEARED, 133.0, "T", "cand", shadow=True),
              alarm(RAISED, 120.0, "S", "cand", shadow=True),
              alarm(CLEARED, 125.0, "W", "cand", shadow=True)]
    result = compare(live, [write(111.0, "sp", 40.0), write(151.0, "sp", 40.0)], shadow,
                     [write(105.0, "sp", 45.0), write(106.0, "sp", 40.0), write(1, "x", 1)])
    assert result.live_alarms["T"].raised == 2 and result.live_alarms["T"].cleared == 1
    assert result.live_alarms["T"].raised_ts == (110.0, 150.0)
    assert result.shadow_alarms["T"].first_raised == 104.5
    assert result.leads["T"].shadow_earlier_s == pytest.approx(5.5)
    assert list(result.leads) == ["T"]
    assert (result.only_live, result.only_shadow) == (("V",), ("S",))
    assert result.shadow_alarms["W"].raised == 0  # cleared only: raised before the period
    sp = result.shadow_writes["sp"]
    assert (sp.count, sp.values, sp.first_ts, sp.last_ts) == (2, (45.0, 40.0), 105.0, 106.0)
    assert result.live_writes["sp"].values == (40.0, 40.0)
    assert "T: shadow raised it 5.5 s earlier (shadow 1x, live 2x)" in result.lines()


def test_a_shadow_alarm_under_another_id_can_be_paired():
    live = [alarm(RAISED, 10.0, "live.alarm")]
    shadow = [alarm(RAISED, 12.0, "cand.alarm", "cand")]
    assert compare(live, [], shadow, []).only_shadow == ("cand.alarm",)
    paired = compare(live, [], shadow, [], alarm_pairs={"cand.alarm": "live.alarm"})
    assert paired.leads["live.alarm"].shadow_earlier_s == -2.0
    assert "live.alarm: shadow raised it 2.0 s later (shadow 1x, live 1x)" in paired.lines()


def test_writes_come_from_write_events():
    events = [Event(WRITE, 5.0, "f", "w", {"tag": "sp", "requested": 38.0, "value": 40.0,
                                           "clamped": True}), alarm(RAISED, 6.0, "T")]
    assert writes_from_events(events) == [WriteRequest("sp", 40.0, 5.0, "f", "w")]


def test_both_sides_from_the_store(tmp_path):
    recorded = (
        alarm(RAISED, 98.0, "cand.alarm", "cand", shadow=True),  # before the period
        alarm(RAISED, 103.0, "cand.alarm", "cand", shadow=True),
        Event(WRITE, 103.0, "cand", "write", {"tag": "sp", "value": 45.0}, True),
        alarm(RAISED, 108.0, "live.alarm"), alarm(RAISED, 109.0, "other", "x"),
        Event(WRITE, 108.0, "live", "write", {"tag": "sp", "value": 40.0}),
        # a shadow event of another flow, and a live one of the candidate's id: not counted
        alarm(RAISED, 104.0, "cand.alarm", "other", shadow=True),
        Event(WRITE, 104.0, "cand", "write", {"tag": "sp", "value": 99.0}),
    )
    with Store(tmp_path / "db", StoreConfig(commit_interval_s=0.02)) as store:
        for e in recorded:
            store.record_event(e)
        store.flush_future().result(5)
        result = shadow_comparison(store, "cand", "live", 100.0, 200.0)
    assert result.leads["live.alarm"].shadow_earlier_s == 5.0  # paired by node id
    assert result.shadow_alarms["live.alarm"].raised == 1
    assert (result.only_live, result.only_shadow) == ((), ())
    assert result.live_writes["sp"].values == (40.0,)
    assert result.shadow_writes["sp"].values == (45.0,)
