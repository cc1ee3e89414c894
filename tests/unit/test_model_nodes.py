"""Model nodes on the time grid: features, batching per model, validation of mappings."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.contracts import BAD, GOOD
from runtime.contracts.models import ModelInfo
from runtime.contracts.validation import validate_project
from runtime.engine import CaptureSink, Engine
from runtime.registry import NodeRegistry
from tests.unit.test_nodes import Collect, make_registry  # noqa: F401  (Collect is loaded by name)

SUM = ModelInfo(id="sum", version=1, hash="0" * 64, input_name="features",
                features=("a_last", "b_rms"), units=("", ""), outputs=("score",))


class SumModel:
    """A model runner computing the row sums in numpy, counting its batches."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def run(self, model: str, rows):
        assert model == "sum@1"
        self.calls.append(len(rows))
        return {"score": rows.sum(axis=1)}

    def catalogue(self):
        return {SUM.key: SUM}

    def prepare(self, models):
        assert set(models) <= {SUM.key}


def project(nodes_per_model: int = 1, node_type: str = "ai.onnx", **params):
    features = [{"name": "a_last", "tag": "a", "stat": "last"},
                {"name": "b_rms", "tag": "b", "stat": "rms", "window_s": 3}]
    nodes, wires = [], []
    for i in range(nodes_per_model):
        model_params = {"features": features, "period_s": 1.0, **params}
        if node_type == "ai.onnx":
            model_params["model"] = "sum@1"
        nodes += [{"id": f"m{i}", "type": node_type, "params": model_params},
                  {"id": f"out{i}", "type": "test.collect"}]
        wires.append({"from": f"m{i}:score", "to": f"out{i}:in"})
    return {"schema": "lineside.project/1", "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}],
        "tags": [{"id": t, "connection": "plc", "address": f"ns=2;s={t}", "type": "float64"}
                 for t in ("a", "b")],
        "flows": [{"id": "f", "nodes": nodes, "wires": wires}]}


def engine_for(doc, runner=None) -> Engine:
    engine = Engine(make_registry(), CaptureSink(), inference=runner or SumModel())
    engine.deploy(doc)
    return engine


def test_features_at_each_grid_time_use_only_earlier_samples():
    engine = engine_for(project())
    engine.ingest_columns("a", [10.2, 11.5, 12.0], [1.0, 2.0, 3.0], [GOOD] * 3)
    engine.ingest_columns("b", [10.0, 11.0, 12.0], [3.0, 4.0, 0.0], [GOOD] * 3)
    engine.advance(12.0)  # grid 11 and 12: samples at ts < 11, ts < 12
    got = engine.flows["f"].nodes["out0"].got
    assert [t for t, _, _ in got] == [11.0, 12.0]
    assert got[0][1] == pytest.approx(1.0 + 3.0)
    assert got[1][1] == pytest.approx(2.0 + np.sqrt((9 + 16) / 2))
    engine.advance(12.5)  # no new grid time
    assert len(got) == 2


def test_scores_do_not_depend_on_how_the_samples_were_batched():
    rng = np.random.default_rng(3)
    a_ts, b_ts = np.sort(rng.uniform(0, 100, 300)), np.sort(rng.uniform(0, 100, 300))
    a_v, b_v = rng.normal(5, 1, 300), rng.normal(2, 1, 300)

    def run(batches: int, advance_every: float):
        engine = engine_for(project())
        events = sorted([(t, "a", v) for t, v in zip(a_ts, a_v, strict=True)]
                        + [(t, "b", v) for t, v in zip(b_ts, b_v, strict=True)])
        watermark = 0.0
        for chunk in np.array_split(np.arange(len(events)), batches):
            for i in chunk:
                t, tag, v = events[i]
                engine.ingest_columns(tag, [float(t)], [float(v)], [GOOD])
                if t - watermark > advance_every:
                    watermark = float(t)
                    engine.advance(watermark)
        engine.advance(100.0)
        return engine.flows["f"].nodes["out0"].got

    live = run(batches=600, advance_every=0.25)
    replay = run(batches=3, advance_every=40.0)
    assert live == replay
    assert len(live) == 100


def test_rows_of_all_nodes_using_a_model_run_in_one_batch():
    runner = SumModel()
    engine = engine_for(project(nodes_per_model=3), runner)
    for tag in ("a", "b"):
        engine.ingest_columns(tag, [0.5, 1.5, 2.5], [1.0, 1.0, 1.0], [GOOD] * 3)
    engine.advance(3.0)
    assert runner.calls == [9]  # 3 nodes x grid times 1, 2 and 3, in one call
    assert all(len(engine.flows["f"].nodes[f"out{i}"].got) == 3 for i in range(3))


def test_a_row_with_a_missing_or_bad_feature_is_not_scored():
    runner = SumModel()
    engine = engine_for(project(), runner)
    engine.ingest_columns("b", [0.2], [2.0], [GOOD])
    engine.ingest_columns("a", [0.5, 1.5, 2.5], [1.0, None, 1.0], [GOOD, BAD, GOOD])
    engine.advance(4.0)  # grid 1, 2, 3, 4; b's window (3 s) is empty at 4
    got = engine.flows["f"].nodes["out0"].got
    assert [(t, q) for t, _, q in got] == [(1.0, GOOD), (2.0, BAD), (3.0, GOOD), (4.0, BAD)]
    assert np.isnan(got[1][1]) and np.isnan(got[3][1])  # a dropped out; b went quiet
    assert runner.calls == [2]


def test_baseline_learns_then_scores_z():
    doc = project(node_type="ai.baseline", learn_s=50.0)
    engine = engine_for(doc)
    rng = np.random.default_rng(1)
    ts = np.arange(0.0, 100.0, 0.5)
    engine.ingest_columns("a", ts.tolist(), rng.normal(10, 1, len(ts)).tolist(),
                          [GOOD] * len(ts))
    engine.ingest_columns("b", ts.tolist(), rng.normal(5, 1, len(ts)).tolist(),
                          [GOOD] * len(ts))
    engine.advance(99.0)
    engine.ingest_columns("a", [99.5], [30.0], [GOOD])  # 20 sigma
    engine.advance(101.0)
    got = engine.flows["f"].nodes["out0"].got
    learning = [q for t, _, q in got if t < 51]
    assert set(learning) == {1}  # uncertain while learning: nothing acts on it
    normal = [v for t, v, q in got if 55 < t < 99]
    assert max(normal) < 5
    assert got[-1][1] > 10 and got[-1][2] == GOOD


@pytest.mark.parametrize("change,path,message", [
    (lambda n: n["params"].update(model="pump@9"), "$.flows[0].nodes[0].params.model",
     "unknown model 'pump@9'; registered: sum@1"),
    (lambda n: n["params"]["features"].pop(), "$.flows[0].nodes[0].params.features",
     "model sum@1 expects 2 features (a_last, b_rms); the mapping gives 1"),
    (lambda n: n["params"]["features"][0].update(name="b_rms"),
     "$.flows[0].nodes[0].params.features[0].name",
     "model sum@1 expects 'a_last' here, found 'b_rms'"),
    (lambda n: n["params"]["features"][1].update(tag="c"),
     "$.flows[0].nodes[0].params.features[1].tag", "unknown tag 'c'"),
    (lambda n: n["params"]["features"][1].update(stat="median"),
     "$.flows[0].nodes[0].params.features[1].stat",
     "must be one of last, mean, rms, std, min, max; found 'median'"),
    (lambda n: n["params"]["features"][1].update(window_s=0),
     "$.flows[0].nodes[0].params.features[1].window_s",
     "a rms needs a window of more than 0 s"),
])
def test_bad_model_mappings_are_refused_with_their_path(change, path, message):
    doc = project()
    change(doc["flows"][0]["nodes"][0])
    problems = validate_project(doc, make_registry().catalogue(), SumModel().catalogue())
    assert [(p.path, p.message) for p in problems] == [(path, message)]


def test_a_model_node_without_registered_models_is_refused():
    problems = validate_project(project(), NodeRegistry.with_builtins().catalogue() | {
        "test.collect": make_registry().spec("test.collect")})
    assert [(p.path, p.message) for p in problems] == [
        ("$.flows[0].nodes[0].params.model", "unknown model 'sum@1'; registered: none")]
