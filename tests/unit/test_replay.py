"""Backtests: a flow replayed over history does what an engine fed the same samples in time
order does; changed parameters are validated like a deploy and change the outcome."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.contracts import BAD, GOOD, EventKind, Sample, ValidationFailed
from runtime.engine import CaptureSink, Engine
from runtime.engine.replay import CachedHistory, MemoryHistory, backtest, backtest_samples
from runtime.registry import NodeRegistry
from runtime.store import Store, StoreConfig

REGISTRY = NodeRegistry.with_builtins(plugins=False)
T0 = 1_700_000_000.0


def project():
    """Tags a, b (read) and w (written); flows over one tag, joined tags, actions, a grid."""
    source = [{"id": "src", "type": "source.tag", "params": {"tag": "b"}}]
    return {
        "schema": "lineside.project/1", "name": "replay",
        "connections": [{"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"},
                        {"id": "unused", "kind": "modbus", "host": "127.0.0.1"}],
        "tags": [{"id": "spare", "connection": "unused", "address": "hr:5"},
                 {"id": "a", "connection": "plc", "address": "ns=2;s=a", "type": "float64"},
                 {"id": "b", "connection": "plc", "address": "ns=2;s=b", "type": "float64"},
                 {"id": "w", "connection": "plc", "address": "ns=2;s=w", "type": "float64",
                  "writable": True, "envelope": {"min": 0, "max": 100, "max_step": 4,
                                                 "min_interval_s": 2.0}}],
        "flows": [
            {"id": "single", "nodes": [
                *source,
                {"id": "rms", "type": "math.window", "params": {"stat": "rms", "samples": 5}},
                {"id": "hyst", "type": "logic.hysteresis",
                 "params": {"on_above": 11, "off_below": 9}},
                {"id": "alarm", "type": "alarm", "params": {"alarm_id": "B_HIGH",
                                                            "message": "b high"}}],
             "wires": [{"from": "src:out", "to": "rms:in"}, {"from": "rms:out", "to": "hyst:in"},
                       {"from": "hyst:out", "to": "alarm:in"}]},
            {"id": "joined", "nodes": [
                {"id": "a", "type": "source.tag", "params": {"tag": "a"}},
                *source,
                {"id": "diff", "type": "math.expression", "params": {"expression": "a - b"}},
                {"id": "hyst", "type": "logic.hysteresis",
                 "params": {"on_above": 1, "off_below": -1}},
                {"id": "alarm", "type": "alarm", "params": {"alarm_id": "A_ABOVE_B",
                                                            "message": "a above b"}}],
             "wires": [{"from": "a:out", "to": "diff:a"}, {"from": "src:out", "to": "diff:b"},
                       {"from": "diff:out", "to": "hyst:in"},
                       {"from": "hyst:out", "to": "alarm:in"}]},
            {"id": "acts", "enabled": False, "nodes": [
                {"id": "a", "type": "source.tag", "params": {"tag": "a"}},
                *source,
                {"id": "write", "type": "action.write", "params": {"tag": "w"}},
                {"id": "far", "type": "logic.compare", "params": {"op": ">", "threshold": 16}},
                {"id": "manual", "type": "action.line_mode", "params": {"mode": "manual"}}],
             "wires": [{"from": "a:out", "to": "write:in"}, {"from": "src:out", "to": "far:in"},
                       {"from": "far:out", "to": "manual:in"}]},
            {"id": "grid", "nodes": [
                {"id": "score", "type": "ai.baseline", "params": {
                    "features": [{"name": "a", "tag": "a", "stat": "last"},
                                 {"name": "b", "tag": "b", "stat": "mean", "window_s": 5}],
                    "learn_s": 60, "period_s": 1.0}},
                {"id": "hyst", "type": "logic.hysteresis",
                 "params": {"on_above": 2.5, "off_below": 1.5}},
                {"id": "alarm", "type": "alarm", "params": {"alarm_id": "ODD",
                                                            "message": "odd"}}],
             "wires": [{"from": "score:score", "to": "hyst:in"},
                       {"from": "hyst:out", "to": "alarm:in"}]},
            {"id": "mixed", "nodes": [
                {"id": "score", "type": "ai.baseline", "params": {
                    "features": [{"name": "a", "tag": "a", "stat": "last"},
                                 {"name": "b", "tag": "b", "stat": "mean", "window_s": 5}],
                    "learn_s": 60, "period_s": 1.0}},
                {"id": "odd", "type": "logic.hysteresis",
                 "params": {"on_above": 1.5, "off_below": 1.0}},
                *source,
                {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": 10}},
                {"id": "both", "type": "logic.and"},
                {"id": "alarm", "type": "alarm", "params": {"alarm_id": "ODD_AND_HIGH",
                                                            "message": "odd and high"}},
                {"id": "write", "type": "action.write", "params": {"tag": "w", "on_true": 60}}],
             "wires": [{"from": "score:score", "to": "odd:in"},
                       {"from": "odd:out", "to": "both:a"},
                       {"from": "src:out", "to": "high:in"},
                       {"from": "high:out", "to": "both:b"},
                       {"from": "both:out", "to": "alarm:in"},
                       {"from": "both:out", "to": "write:in"}]},
            {"id": "held", "nodes": [  # the grid node reads a only: b meets its output
                {"id": "score", "type": "ai.baseline", "params": {
                    "features": [{"name": "a", "tag": "a", "stat": "last"},
                                 {"name": "a_mean", "tag": "a", "stat": "mean",
                                  "window_s": 5}],
                    "learn_s": 60, "period_s": 0.5}},
                {"id": "odd", "type": "logic.hysteresis",
                 "params": {"on_above": 1.5, "off_below": 1.0}},
                {"id": "calm", "type": "logic.compare", "params": {"op": "<", "threshold": 1}},
                *source,
                {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": 10}},
                {"id": "both", "type": "logic.and"},
                {"id": "alarm", "type": "alarm", "params": {"alarm_id": "ODD_AND_HIGH",
                                                            "message": "odd and high"}},
                {"id": "write", "type": "action.write", "params": {"tag": "w", "on_true": 60}},
                {"id": "calm_alarm", "type": "alarm", "params": {"alarm_id": "CALM",
                                                                 "message": "calm"}}],
             "wires": [{"from": "score:score", "to": "odd:in"},
                       {"from": "score:score", "to": "calm:in"},
                       {"from": "odd:out", "to": "both:a"},
                       {"from": "src:out", "to": "high:in"},
                       {"from": "high:out", "to": "both:b"},
                       {"from": "both:out", "to": "alarm:in"},
                       {"from": "both:out", "to": "write:in"},
                       {"from": "calm:out", "to": "calm_alarm:in"}]},
        ],
    }


def recorded(seed: int = 1, seconds: float = 600.0) -> dict[str, list[Sample]]:
    """Random walks at irregular times; a and b share some timestamps, w changes rarely,
    some samples are BAD without a value."""
    rng = np.random.default_rng(seed)
    data: dict[str, list[Sample]] = {}
    shared = np.sort(rng.uniform(0, seconds, 200))
    for tag, n, level in (("a", 900, 10.0), ("b", 1100, 10.0), ("w", 40, 50.0)):
        ts = np.unique(np.round(np.concatenate([np.sort(rng.uniform(0, seconds, n)),
                                                shared if tag != "w" else []]), 6))
        values = level + np.cumsum(rng.normal(0, 0.6, len(ts)))
        bad = rng.uniform(size=len(ts)) < 0.02
        data[tag] = [Sample(tag, T0 + t, None if b else float(v), BAD if b else GOOD)
                     for t, v, b in zip(ts.tolist(), values.tolist(), bad.tolist(),
                                        strict=True)]
    return data


class LiveLike(CaptureSink):
    """Captures, and applies a rule's line mode as the live runtime does."""

    engine: Engine

    def line_mode(self, mode, event):
        super().line_mode(mode, event)
        self.engine.line_mode = mode


def fed_in_time_order(doc, flow_id, data, step=0.25, lag=1.0):
    """What an engine does with every sample delivered alone, in time order (ties in the
    order of the project's tags), its watermark advanced as a live runtime does: every
    `step` s of (data) time to that time minus `lag`."""
    doc = {**doc, "flows": [{**f, "enabled": True} for f in doc["flows"] if f["id"] == flow_id]}
    sink = LiveLike()
    engine = Engine(REGISTRY, sink)
    sink.engine = engine
    engine.deploy(doc)
    rank = {t["id"]: i for i, t in enumerate(doc["tags"])}
    next_step = -math.inf
    for s in sorted((s for samples in data.values() for s in samples),
                    key=lambda s: (s.ts, rank[s.tag])):
        if next_step == -math.inf:
            next_step = math.floor(s.ts / step) * step
        while next_step <= s.ts:
            engine.advance(next_step - lag)
            next_step += step
        engine.ingest([s])
    engine.advance(T0 + 1e6)
    return sink


@pytest.mark.parametrize("flow_id", ["single", "joined", "acts", "grid", "mixed", "held"])
@pytest.mark.parametrize("slice_s", [600.0, 7.0])
def test_a_backtest_does_what_the_engine_does_with_samples_in_time_order(flow_id, slice_s):
    doc, data = project(), recorded()
    result = backtest_samples(doc, flow_id, data, end=T0 + 1e6, registry=REGISTRY,
                              slice_s=slice_s)
    reference = fed_in_time_order(doc, flow_id, data)
    assert result.events == sorted(reference.events, key=lambda e: e.ts)
    assert result.writes == reference.writes
    assert result.line_modes == reference.modes
    assert len(result.events) >= 3
    if flow_id == "acts":  # clamped by max_step and min_interval, then stopped by manual
        assert set(result.line_modes) == {"manual"} and len(result.writes) >= 3
        assert EventKind.WRITE_REFUSED in {e.kind for e in result.events}
    assert result.samples == sum(len(data[t]) for t in {
        "single": "b", "joined": "ab", "acts": "abw", "grid": "ab", "mixed": "abw",
        "held": "abw"}[flow_id])
    assert result.errors == 0


def test_samples_at_equal_times_arrive_in_the_order_of_the_project_tags():
    data = {tag: [Sample(tag, T0 + 1, 0.0), Sample(tag, T0 + 2, 5.0)] for tag in ("b", "a")}
    result = backtest_samples(project(), "joined", data, registry=REGISTRY)
    # a (listed first) moves first: a - b is 5 for a moment, and the alarm rises
    assert [(e.kind, e.ts) for e in result.events] == [(EventKind.ALARM_RAISED, T0 + 2)]
    doc = project()
    doc["tags"].insert(0, doc["tags"].pop(2))  # b listed first: a - b goes to -5, then 0
    assert backtest_samples(doc, "joined", data, registry=REGISTRY).events == []


def test_the_store_and_memory_give_the_same_backtest(tmp_path):
    doc, data = project(), recorded(seed=4)
    config = StoreConfig(commit_interval_s=0.02, historian_max_age_s=1e10)
    with Store(tmp_path / "db", config) as store:
        for samples in data.values():
            store.append_samples(samples)
        store.flush_future().result(5)
        cached = CachedHistory(store)
        for flow_id in ("joined", "acts"):
            from_store = backtest(doc, flow_id, cached, T0, T0 + 600, registry=REGISTRY)
            in_memory = backtest_samples(doc, flow_id, data, T0, T0 + 600, registry=REGISTRY)
            assert from_store.events == in_memory.events and from_store.events
            assert from_store.writes == in_memory.writes
            again = backtest(doc, flow_id, cached, T0, T0 + 600, registry=REGISTRY)
            assert again.events == from_store.events


def test_the_window_bounds_the_replay_and_stamps_come_from_the_data():
    doc, data = project(), recorded()
    full = backtest_samples(doc, "single", data, registry=REGISTRY)
    part = backtest(doc, "single", MemoryHistory(data), T0 + 100, T0 + 200,
                    registry=REGISTRY)
    assert all(T0 + 100 <= e.ts < T0 + 200 for e in part.events)
    assert part.samples == sum(T0 + 100 <= s.ts < T0 + 200 for s in data["b"])
    assert {e.ts for e in full.events} <= {s.ts for s in data["b"]}
    assert (part.start, part.end) == (T0 + 100, T0 + 200)


def test_raising_the_hysteresis_level_raises_fewer_alarms():
    doc, data = project(), recorded()
    counts = []
    for level in (10.5, 11.0, 12.0, 13.0, 30.0):
        result = backtest_samples(doc, "single", data, registry=REGISTRY,
                                  overrides={"hyst": {"on_above": level}})
        counts.append(sum(e.kind == EventKind.ALARM_RAISED for e in result.events))
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1] == 0
    assert doc == project()  # the document is left as it was


def test_manual_mode_given_refuses_every_write():
    result = backtest_samples(project(), "acts", recorded(), registry=REGISTRY,
                              line_mode="manual")
    assert result.writes == []
    assert [e.data["reason"] for e in result.events if e.kind == EventKind.WRITE_REFUSED
            ][:1] == ["line is in manual mode"]


def test_a_shadow_flow_is_replayed_as_shadow():
    doc = project()
    doc["flows"][2]["mode"] = "shadow"
    result = backtest_samples(doc, "acts", recorded(), registry=REGISTRY)
    assert result.events and all(e.shadow for e in result.events)
    # a shadow flow only records its wish for manual: its writes go on after it
    wish = next(e.ts for e in result.events if e.kind == EventKind.LINE_MODE)
    assert any(w.ts > wish for w in result.writes)


@pytest.mark.parametrize("flow_id,overrides,path,message", [
    ("nope", None, "$.flows",
     "no flow 'nope' in the project; its flows: single, joined, acts, grid, mixed, held"),
    ("joined", {"ghost": {"on_above": 3}}, "$.flows[1].nodes",
     "flow 'joined' has no node 'ghost' to change"),
    ("joined", {"hyst": 5}, "$.flows[1].nodes",
     "the changes of node 'hyst' must map parameter names to values"),
    ("joined", {"hyst": {"on_above": "high"}}, "$.flows[1].nodes[3].params.on_above",
     "must be a number, found 'high'"),
    ("joined", {"hyst": {"off_below": 7}}, "$.flows[1].nodes[3].params.off_below",
     "'off below' must not be above 'on above'"),
    ("joined", {"hyst": {"level": 7}}, "$.flows[1].nodes[3].params.level",
     "node type 'logic.hysteresis' has no parameter 'level'"),
    ("acts", {"write": {"tag": "a"}}, "$.flows[2].nodes[2].params.tag", "tag 'a' is not writable"),
])
def test_bad_requests_are_refused_with_the_path_in_the_document(flow_id, overrides, path,
                                                                 message):
    with pytest.raises(ValidationFailed) as failed:
        backtest_samples(project(), flow_id, recorded(), overrides=overrides,
                         registry=REGISTRY)
    assert [(p.path, p.message) for p in failed.value.problems] == [(path, message)]


def test_a_broken_tag_is_reported_where_it_is_and_only_if_the_flow_uses_it():
    doc = project()
    doc["tags"][2]["address"] = "not an address"  # b
    with pytest.raises(ValidationFailed) as failed:
        backtest_samples(doc, "single", recorded(), registry=REGISTRY)
    assert [p.path for p in failed.value.problems] == ["$.tags[2].address"]
    doc = project()
    doc["tags"][0]["address"] = "not an address"  # spare, used by no flow
    assert backtest_samples(doc, "single", recorded(), registry=REGISTRY).events


def test_no_data_gives_an_empty_result():
    result = backtest_samples(project(), "grid", {}, T0, T0 + 10, registry=REGISTRY)
    assert (result.events, result.writes, result.samples) == ([], [], 0)


def test_a_project_with_assets_over_tags_the_flow_does_not_read_replays():
    # The copy replayed holds only the flow's tags; the overview's assets name others.
    doc = project()
    doc["assets"] = [{"id": "line", "name": "Line", "tags": [{"tag": "spare"}, {"tag": "a"}]}]
    result = backtest_samples(doc, "single", recorded(), registry=REGISTRY)
    assert result.events == backtest_samples(project(), "single", recorded(),
                                             registry=REGISTRY).events
