"""The write guard fails closed: over thousands of random cases nothing is written outside
the envelope, beyond a step from a good read-back, in manual mode, on non-good input or
before the minimum interval."""

from __future__ import annotations

import math

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from runtime.contracts import GOOD, Envelope, LineMode, Quality, Tag
from runtime.engine.safety import Rule, guard_write

QUALITIES = st.sampled_from([GOOD] * 6 + [int(q) for q in Quality])
MODES = st.sampled_from([LineMode.AUTOMATIC] * 6 + [LineMode.MANUAL, "maintenance"])
NUMBERS = st.floats(-1e6, 1e6, allow_nan=False)
ODD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf])


def tag(low=30.0, high=50.0, step=5.0, interval=0.0, writable=True) -> Tag:
    return Tag("sp", "plc", "ns=2;s=SP", writable=writable,
               envelope=Envelope(low, high, step, interval))


def guard(t: Tag, requested: float, read_back=None, read_back_quality=GOOD, *,
          quality=GOOD, mode=LineMode.AUTOMATIC, ts=10.0, last_write_ts=None):
    return guard_write(t, requested, quality, mode, ts, read_back=read_back,
                       read_back_quality=read_back_quality, last_write_ts=last_write_ts)


@st.composite
def envelopes(draw) -> Envelope:
    low, high = sorted((draw(NUMBERS), draw(NUMBERS)))
    step = draw(st.none() | st.floats(1e-6, 1e4) | st.sampled_from([0.5, 5.0]))
    return Envelope(low, high, step, draw(st.sampled_from([0.0, 1.0, 10.0])))


@st.composite
def near(draw, envelope: Envelope) -> float:
    """A number around the envelope, a step or two inside or outside it, or anywhere."""
    reach = max(envelope.max - envelope.min, envelope.max_step or 1.0)
    around = st.floats(envelope.min - 2 * reach, envelope.max + 2 * reach)
    return draw(around | around | NUMBERS | ODD_FLOATS)


@st.composite
def cases(draw) -> dict:
    envelope = draw(envelopes())
    read_back = draw(st.sampled_from(["number", "int", "none"]))
    return {
        "tag": Tag("sp", "plc", "ns=2;s=SP", writable=draw(st.sampled_from([True] * 9 + [False])),
                   envelope=envelope),
        "requested": draw(near(envelope)),
        "quality": draw(QUALITIES),
        "mode": draw(MODES),
        "read_back": (draw(near(envelope)) if read_back == "number" else
                      draw(st.integers(-10**6, 10**6)) if read_back == "int" else None),
        "read_back_quality": draw(st.none() | QUALITIES),
        "ts": draw(st.floats(0, 1e4)),
        "since": draw(st.none() | st.floats(0, 20)),
    }


@settings(max_examples=2000, deadline=None)
@given(case=cases())
@example(case={"tag": tag(), "requested": 55.0, "quality": GOOD, "mode": LineMode.AUTOMATIC,
               "read_back": 60.0, "read_back_quality": GOOD, "ts": 1.0, "since": None})
@example(case={"tag": tag(), "requested": 40.0, "quality": GOOD, "mode": LineMode.AUTOMATIC,
               "read_back": None, "read_back_quality": None, "ts": 1.0, "since": None})
@example(case={"tag": tag(step=None), "requested": math.inf, "quality": GOOD,
               "mode": LineMode.AUTOMATIC, "read_back": None, "read_back_quality": None,
               "ts": 1.0, "since": None})
def test_nothing_unsafe_is_ever_written(case):
    t, envelope, requested, read_back = case["tag"], case["tag"].envelope, case["requested"], \
        case["read_back"]
    ts, since = case["ts"], case["since"]
    last_write_ts = None if since is None else ts - since
    decision = guard_write(t, requested, case["quality"], case["mode"], ts, read_back=read_back,
                           read_back_quality=case["read_back_quality"],
                           last_write_ts=last_write_ts)
    good_read_back = (case["read_back_quality"] == GOOD and read_back is not None
                      and math.isfinite(read_back))
    low, high = envelope.min, envelope.max
    if envelope.max_step is not None and good_read_back:
        low = max(low, read_back - envelope.max_step)
        high = min(high, read_back + envelope.max_step)
    may_write = (t.writable and case["mode"] == LineMode.AUTOMATIC and case["quality"] == GOOD
                 and math.isfinite(requested)
                 and (last_write_ts is None or ts - last_write_ts >= envelope.min_interval_s)
                 and (envelope.max_step is None or good_read_back) and low <= high)
    event(decision.rule or ("clamped" if decision.clamped else "written"))
    if decision.value is None:
        assert not may_write, decision
        assert decision.refused and decision.rule
        return
    assert may_write, decision
    value = decision.value
    assert math.isfinite(value)
    assert envelope.min <= value <= envelope.max
    if envelope.max_step is not None:
        assert read_back - envelope.max_step <= value <= read_back + envelope.max_step
    assert value == min(max(requested, low), high)  # the nearest allowed value
    assert decision.clamped == (value != requested)
    assert not decision.refused


def test_a_read_back_outside_the_envelope_bounds_the_step_and_never_widens_it():
    assert guard(tag(), 40.0, read_back=53.0).value == 48.0  # [30, 50] ∩ [48, 58]
    refused = guard(tag(), 55.0, read_back=60.0)
    assert (refused.value, refused.rule) == (None, Rule.OUT_OF_REACH)
    assert refused.refused == ("read-back 60 of tag sp is more than the max step 5 outside "
                               "the envelope 30 to 50")


@pytest.mark.parametrize("read_back,quality", [
    (None, None), (45.0, int(Quality.BAD)), (45.0, int(Quality.STALE)),
    (45.0, int(Quality.UNCERTAIN)), (math.nan, GOOD), (math.inf, GOOD), ("45", GOOD)])
def test_with_a_max_step_and_no_good_read_back_the_write_is_refused(read_back, quality):
    decision = guard(tag(), 40.0, read_back, quality)
    assert (decision.value, decision.rule) == (None, Rule.NO_READ_BACK)
    assert decision.refused == "no good read-back of tag sp to step from (max step 5)"


def test_without_a_max_step_no_read_back_is_needed():
    assert guard(tag(step=None), 70.0).value == 50.0


@pytest.mark.parametrize("requested", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_a_finite_number_is_refused(requested):
    decision = guard(tag(step=None), requested)
    assert (decision.value, decision.rule) == (None, Rule.NOT_FINITE)
    assert decision.refused == f"requested value {requested:g} is not a finite number"


@pytest.mark.parametrize("envelope", [Envelope(50, 30), Envelope(math.nan, 50),
                                      Envelope(30, math.inf), Envelope(30, 50, -1.0),
                                      Envelope(30, 50, math.nan)])
def test_an_envelope_that_is_not_a_range_refuses_every_write(envelope):
    t = Tag("sp", "plc", "ns=2;s=SP", writable=True, envelope=envelope)
    decision = guard(t, 40.0, read_back=40.0)
    assert (decision.value, decision.rule) == (None, Rule.BAD_ENVELOPE)
    assert decision.refused.startswith("the write envelope of tag sp is not a valid range")


def test_refusals_are_plain_text():
    assert guard(tag(writable=False), 40.0).refused == (
        "tag sp is not writable within an envelope")
    assert guard(tag(), 40.0, 40.0, mode=LineMode.MANUAL).refused == "line is in manual mode"
    assert guard(tag(), 40.0, 40.0, quality=int(Quality.BAD)).refused == (
        "input quality is not good")
    assert guard(tag(interval=10.0), 40.0, 40.0, ts=15.0, last_write_ts=6.0).refused == (
        "less than 10 s since the last write")
