"""Built-in nodes, each wired into a one-flow project and fed through the real engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.contracts import BAD, GOOD, NodeSpec, PortSpec
from runtime.contracts.errors import ExpressionError
from runtime.contracts.expression import compile_expression
from runtime.engine import CaptureSink, Engine
from runtime.nodes.base import Node
from runtime.registry import NodeRegistry


class Collect(Node):
    """Test sink: keeps everything it receives."""

    def setup(self, params):
        self.got = []

    def receive(self, port, ts, values, quality):
        self.got.extend(zip(ts, values, quality, strict=True))


def make_registry() -> NodeRegistry:
    registry = NodeRegistry.with_builtins(plugins=False)
    registry.register(NodeSpec(type="test.collect", title="Collect", category="test",
                               implementation=f"{__name__}:Collect",
                               inputs=(PortSpec("in", "any"),)))
    return registry


def run_node(node_type, params, feeds, inputs=("in",)):
    """Build src_x → node → collect for each input port x, feed [(port, ts, v, q)]."""
    tags = [{"id": f"t_{p}", "connection": "plc", "address": f"ns=2;s=T{p}",
             "type": "float64"} for p in inputs]
    nodes = [{"id": f"src_{p}", "type": "source.tag", "params": {"tag": f"t_{p}"}}
             for p in inputs]
    nodes += [{"id": "n", "type": node_type, "params": params},
              {"id": "out", "type": "test.collect"}]
    wires = [{"from": f"src_{p}:out", "to": f"n:{p}"} for p in inputs]
    wires.append({"from": "n:out", "to": "out:in"})
    doc = {"schema": "lineside.project/1", "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:1"}],
        "tags": tags, "flows": [{"id": "f", "nodes": nodes, "wires": wires}]}
    engine = Engine(make_registry(), CaptureSink())
    engine.deploy(doc)
    for port, t, v, q in feeds:
        engine.ingest_columns(f"t_{port}", [t], [v], [q])
    return engine.flows["f"].nodes["out"].got


@pytest.mark.parametrize("stat,reference", [
    ("mean", np.mean), ("std", lambda w: np.std(w, ddof=1)), ("min", np.min), ("max", np.max),
    ("rms", lambda w: math.sqrt(np.mean(np.square(w)))),
])
def test_window_statistics_match_numpy(stat, reference):
    rng = np.random.default_rng(7)
    data = rng.normal(5, 2, 300)
    got = run_node("math.window", {"stat": stat, "samples": 25},
                   [("in", float(i), float(v), GOOD) for i, v in enumerate(data)])
    for i in range(30, 300, 37):
        window = data[max(0, i - 24): i + 1]
        assert got[i][1] == pytest.approx(reference(window), rel=1e-9, abs=1e-9)


def test_time_window_forgets_old_samples():
    got = run_node("math.window", {"stat": "max", "samples": 1000, "seconds": 5},
                   [("in", float(t), v, GOOD) for t, v in enumerate([9, 1, 1, 1, 1, 1, 1, 1])])
    assert [v for _, v, _ in got] == [9, 9, 9, 9, 9, 9, 1, 1]


def test_window_ignores_bad_samples_but_passes_their_quality():
    got = run_node("math.window", {"stat": "mean", "samples": 3},
                   [("in", 0.0, 1.0, GOOD), ("in", 1.0, None, BAD), ("in", 2.0, 3.0, GOOD)])
    assert [(v, q) for _, v, q in got] == [(1.0, GOOD), (1.0, BAD), (2.0, GOOD)]


def test_rate_of_change_per_minute():
    got = run_node("math.rate", {"per": "minute"},
                   [("in", 0.0, 10.0, GOOD), ("in", 30.0, 20.0, GOOD), ("in", 60.0, 20.0, GOOD)])
    assert [v for _, v, _ in got] == [20.0, 0.0]


def test_debounce_needs_the_condition_to_persist():
    feeds = [("in", float(t), v, GOOD) for t, v in
             enumerate([0, 1, 1, 0, 1, 1, 1, 1, 0, 0])]
    got = run_node("logic.debounce", {"on_delay_s": 3, "off_delay_s": 1}, feeds)
    assert [v for _, v, _ in got] == [False, False, False, False, False, False, False, True,
                                      True, False]


def test_latch_set_and_reset():
    got = run_node("logic.latch", {}, [("set", 0.0, 1, GOOD), ("set", 1.0, 0, GOOD),
                                       ("reset", 2.0, 1, GOOD), ("set", 3.0, 0, GOOD)],
                   inputs=("set", "reset"))
    assert [v for _, v, _ in got] == [True, True, False, False]


def test_and_or_take_the_worst_quality():
    feeds = [("a", 0.0, 1, GOOD), ("b", 1.0, 0, GOOD), ("b", 2.0, 1, BAD)]
    assert [(v, q) for _, v, q in run_node("logic.and", {}, feeds, ("a", "b"))] == [
        (False, GOOD), (True, BAD)]
    assert [(v, q) for _, v, q in run_node("logic.or", {}, feeds, ("a", "b"))] == [
        (True, GOOD), (True, BAD)]


def test_expression_over_two_inputs():
    feeds = [("a", 0.0, 3.0, GOOD), ("b", 1.0, 4.0, GOOD), ("a", 2.0, 6.0, GOOD)]
    got = run_node("math.expression", {"expression": "sqrt(a*a + b*b) if a > 0 else 0"},
                   feeds, ("a", "b"))
    assert [v for _, v, _ in got] == [5.0, pytest.approx(7.2111025509)]


def test_a_sample_the_expression_cannot_evaluate_goes_out_bad_and_the_flow_goes_on():
    feeds = [("a", 0.0, 10, GOOD), ("b", 1.0, 400, GOOD), ("a", 2.0, -8.0, GOOD),
             ("b", 3.0, 1 / 3, GOOD), ("a", 4.0, 8.0, GOOD)]
    got = run_node("math.expression", {"expression": "a ** b"}, feeds, ("a", "b"))
    assert [t for t, _, _ in got] == [1.0, 2.0, 3.0, 4.0]
    assert [(math.isnan(v), q) for _, v, q in got[:3]] == [(True, BAD)] * 3
    assert got[3][1:] == (pytest.approx(2.0), GOOD)


def test_a_result_that_is_not_finite_goes_out_bad():
    got = run_node("math.expression", {"expression": "a * 1e308"},
                   [("a", 0.0, 10.0, GOOD), ("a", 1.0, 1.0, GOOD)], ("a",))
    assert [(v, q) for _, v, q in got] == [(math.inf, BAD), (1e308, GOOD)]


@pytest.mark.parametrize("text", ["__import__('os')", "a.real", "[a]", "lambda: 1",
                                  "open('x')", "a if", "'text'", "b"])
def test_expression_language_refuses_what_it_does_not_allow(text):
    with pytest.raises(ExpressionError):
        compile_expression(text, frozenset({"a"}))


@settings(max_examples=200, deadline=None)
@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6))
def test_expression_arithmetic_matches_python(a, b):
    expr = compile_expression("(a + 2*b) - abs(a) * 0.5 if a < b else max(a, b) - min(a, b)")
    expected = (a + 2 * b) - abs(a) * 0.5 if a < b else max(a, b) - min(a, b)
    assert expr.evaluate({"a": a, "b": b}) == expected


def test_scale_with_clamp():
    got = run_node("math.scale", {"in_min": 4, "in_max": 20, "out_min": 0, "out_max": 100,
                                  "clamp": True},
                   [("in", 0.0, 12.0, GOOD), ("in", 1.0, 25.0, GOOD), ("in", 2.0, 0.0, GOOD)])
    assert [v for _, v, _ in got] == [50.0, 100.0, 0.0]
