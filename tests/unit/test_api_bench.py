"""The API benchmark's checks (its measurements need a runtime process: `python -m bench api`)."""

from __future__ import annotations

import pytest

from bench import api
from bench.harness import WrongResults

END = 1_700_000_000.0


def buckets(samples: int, low: float, high: float) -> dict:
    """An answer of HISTORY_WIDTH buckets holding `samples` samples in all."""
    each, more = divmod(samples, api.HISTORY_WIDTH)
    return {"series": {api.HISTORY_TAG: {
        "count": [each + (i < more) for i in range(api.HISTORY_WIDTH)],
        "min": [low] * api.HISTORY_WIDTH, "max": [high] * api.HISTORY_WIDTH}}}


def test_a_full_day_answer_passes():
    _, values = api.day(END)
    api.check_history(buckets(api.DAY_S, values.min(), values.max()), values.min(),
                      values.max())


@pytest.mark.parametrize(("samples", "shift"), [(api.DAY_S - 1, 0.0), (api.DAY_S, 0.5)])
def test_missing_samples_or_other_values_are_wrong_results(samples, shift):
    _, values = api.day(END)
    with pytest.raises(WrongResults, match="of 24 h"):
        api.check_history(buckets(samples, values.min() + shift, values.max()), values.min(),
                          values.max())


def test_the_day_is_86400_samples_at_1_hz_before_its_end():
    ts, values = api.day(END)
    assert len(ts) == len(values) == api.DAY_S
    assert ts[0] == END - api.DAY_S and ts[-1] == END - 1
