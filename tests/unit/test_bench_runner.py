"""The bench runner: failures isolated, missing peers reported, results merged, exit status."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from bench.harness import Context, Metric, Ratio, Unavailable
from bench.runner import main, select


def fake(name, run, metrics=(), ratios=()):
    return SimpleNamespace(NAME=name, METRICS=tuple(metrics), RATIOS=tuple(ratios), run=run)


def raise_(exc):
    def run(ctx):
        raise exc
    return run


@pytest.fixture
def ctx(tmp_path):
    return dataclasses.replace(Context.default(samples=10, repeats=1),
                               results=tmp_path / "results" / "latest.json")


FAST = fake("fast", lambda ctx: {"fast.rate": 100.0}, [Metric("fast.rate", "1/s")],
            [Ratio("fast / peer", "fast.rate", "peer.x.rate", at_least=2.0)])
PEER = fake("peer.x", raise_(Unavailable("npm unreachable")), [Metric("peer.x.rate", "1/s")])
BROKEN = fake("broken", raise_(RuntimeError("chain computed wrong results")),
              [Metric("broken.rate", "1/s")])


def test_a_failing_benchmark_does_not_stop_the_others_and_fails_the_run(ctx, capsys):
    ctx.results.parent.mkdir()
    ctx.results.write_text(json.dumps({"other.metric": 7, "fast.rate": 1}))
    assert main([BROKEN, FAST], ctx) == 1
    assert json.loads(ctx.results.read_text()) == {"other.metric": 7, "fast.rate": 100.0}
    assert "FAILED broken: RuntimeError: chain computed wrong results" in capsys.readouterr().out


def test_a_missing_peer_is_reported_not_failed(ctx, capsys):
    assert main([FAST, PEER], ctx) == 0
    out = capsys.readouterr().out
    assert "MISSING peer.x: npm unreachable" in out
    assert json.loads(ctx.results.read_text()) == {"fast.rate": 100.0}


def test_a_ratio_uses_the_stored_value_of_a_benchmark_not_run_and_judges_its_goal(ctx, capsys):
    ctx.results.parent.mkdir()
    ctx.results.write_text(json.dumps({"peer.x.rate": 80}))
    assert main([FAST, PEER], ctx, ["fast"]) == 3
    line = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("fast / peer"))
    assert "1.25x (stored)" in line and "FAIL" in line


def test_names_select_a_benchmark_and_everything_under_it():
    assert select([FAST, PEER], ["peer"]) == [PEER]
    assert select([FAST, PEER], []) == [FAST, PEER]
    with pytest.raises(ValueError, match="unknown benchmark nope"):
        select([FAST, PEER], ["nope"])
