"""Forwarder flow control: rate limit arithmetic, strictly in-order acks, the drain rate."""

from __future__ import annotations

import pytest

from runtime.sync.flow import AckOrder, DrainMeter, RateLimiter


def test_rate_limiter_lets_a_full_bucket_go_then_holds_the_average():
    limiter = RateLimiter(1000, now=0.0)
    assert limiter.reserve(600, now=0.0) == 0.0
    assert limiter.reserve(400, now=0.0) == 0.0
    assert limiter.reserve(500, now=0.0) == pytest.approx(0.5)
    # The caller slept 0.5 s: the debt is paid, the next 1000 take a full second.
    assert limiter.reserve(1000, now=0.5) == pytest.approx(1.0)
    assert limiter.tokens(1.5) == pytest.approx(0.0)


def test_rate_limiter_never_exceeds_the_rate_over_a_long_run():
    limiter = RateLimiter(2500, now=0.0)
    now, sent = 0.0, 0
    for _ in range(200):
        now += limiter.reserve(700, now)
        sent += 700
    # Everything sent by `now` is at most one bucket more than rate * time.
    assert sent <= 2500 * now + 2500 + 1e-6
    assert sent >= 2500 * now  # and it does not hold back more than needed


def test_rate_limiter_refills_only_up_to_the_burst():
    limiter = RateLimiter(100, burst=50, now=0.0)
    assert limiter.tokens(1000.0) == 50
    assert limiter.reserve(150, now=1000.0) == pytest.approx(1.0)


def test_rate_limiter_refuses_a_zero_rate():
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_acks_are_handed_out_strictly_in_publish_order():
    order = AckOrder()
    order.add("a", [1, 2], 10)
    order.add("b", [3], 5)
    order.add("c", [4, 5], 7)
    order.acked("c")
    order.acked("b")
    assert not order.take_ready()
    assert len(order) == 3
    order.acked("a")
    batch = order.take_ready()
    assert (batch.chunk_ids, batch.records, batch.messages) == ([1, 2, 3, 4, 5], 22, 3)
    assert len(order) == 0 and not order.take_ready()


def test_ack_order_stops_at_the_first_unacknowledged_message():
    order = AckOrder()
    for key, ids in (("a", [1]), ("b", [2]), ("c", [3])):
        order.add(key, ids, 1)
    order.acked("a")
    order.acked("c")
    assert order.take_ready().chunk_ids == [1]
    assert not order.take_ready()
    order.acked("b")
    assert order.take_ready().chunk_ids == [2, 3]
    with pytest.raises(ValueError):
        order.add("x", [9], 1)
        order.add("x", [9], 1)
    order.clear()
    assert len(order) == 0


def test_drain_meter_averages_over_its_window():
    meter = DrainMeter(window_s=10.0, now=0.0)
    assert meter.rate(0.0) == 0.0
    meter.add(1000, now=1.0)
    meter.add(1000, now=2.0)
    assert meter.rate(2.0) == pytest.approx(1000.0)
    assert meter.rate(10.0) == pytest.approx(200.0)
    assert meter.rate(30.0) == 0.0
