"""The engine chain benchmark computes the right thing (its speed is not tested here)."""

from __future__ import annotations

import pytest

from bench import engine_chain
from bench.harness import Context, WrongResults
from bench.reference_chain import ChainCounts, batches, check_counts, expected_counts

N = 5_000
# sin(i/100)*5+5 scaled by 10 is on above 80 / off below 70 for a third of each 628-sample
# period: 8 alarms raised and 8 cleared in 5,000 samples.
EXPECTED = ChainCounts(samples=N, alarm_samples=1670, transitions=16)


def test_reference_counts_are_the_hand_checked_ones():
    assert expected_counts(N) == EXPECTED


@pytest.mark.parametrize("batch", [500, 1, 333])
def test_engine_chain_counts_every_sample_and_alarm_transition(batch):
    assert engine_chain.run_engine(engine_chain.registry(), batches(N, batch)) == EXPECTED


def test_handwired_chain_counts_every_sample_and_alarm_transition():
    assert engine_chain.run_handwired(N) == EXPECTED


def test_engine_benchmark_runs_its_checks_and_reports_every_metric():
    results = engine_chain.run(Context.default(samples=N, repeats=1))
    assert set(results) == {m.name for m in engine_chain.METRICS}


def test_wrong_counts_fail_loudly():
    with pytest.raises(WrongResults, match="engine"):
        check_counts("engine", ChainCounts(N, 1670, 15), N)
