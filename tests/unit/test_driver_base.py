"""Shared driver pieces: backoff, deadband, scaling and write coercion."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from runtime.backoff import Backoff
from runtime.contracts.messages import Quality, Sample
from runtime.contracts.project import OpcUaConnection, Scaling, Tag
from runtime.drivers.base import (
    ConnectionLost,
    DeadbandFilter,
    SupervisedHub,
    coerce_raw,
    to_eng,
    to_raw,
)


def test_backoff_grows_to_the_cap_with_jitter_below_it_and_resets():
    backoff = Backoff(initial=0.2, cap=4.0, jitter=0.2, rng=random.Random(1))
    delays = [backoff.next() for _ in range(10)]
    nominal = [min(4.0, 0.2 * 2**i) for i in range(10)]
    assert all(0.8 * n <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert max(delays) <= 4.0
    backoff.reset()
    assert backoff.next() <= 0.2


def test_deadband_suppresses_small_moves_but_passes_quality_changes():
    db = DeadbandFilter({"t": 0.5})
    s = lambda v, q=Quality.GOOD: Sample("t", 0.0, v, q)  # noqa: E731
    assert db.filter([s(10.0), s(10.3), s(10.5), s(10.6), s(10.6, Quality.BAD), s(10.6)]) == [
        s(10.0),
        s(10.6),
        s(10.6, Quality.BAD),
        s(10.6),
    ]


def test_deadband_zero_reports_every_change_once_and_handles_bools_and_nan():
    db = DeadbandFilter({})
    kept = db.filter(
        [
            Sample("a", 0, 1.0),
            Sample("a", 1, 1.0),
            Sample("a", 2, 1.5),
            Sample("b", 0, True),
            Sample("b", 1, True),
        ]
    )
    assert [(x.tag, x.value) for x in kept] == [("a", 1.0), ("a", 1.5), ("b", True)]
    assert [
        x.value
        for x in db.filter(
            [Sample("a", 3, math.nan), Sample("a", 4, math.nan), Sample("a", 5, 1.0)]
        )
    ][-1] == 1.0


def test_scaling_both_ways_leaves_bools_alone():
    tag = Tag("t", "c", "hr:0", "int16", scaling=Scaling(0, 1000, 0.0, 100.0))
    assert to_eng(tag, 500) == 50.0
    assert to_raw(tag, 50.0) == 500.0
    assert to_eng(tag, True) is True
    assert to_eng(Tag("u", "c", "hr:0"), 3) == 3


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("int16", 12.4, 12),
        ("uint32", 7, 7),
        ("bool", 1, True),
        ("float32", 2, 2.0),
        ("float64", 1.5, 1.5),
    ],
)
def test_coerce_raw_converts(kind, raw, expected):
    value = coerce_raw(Tag("t", "c", "x", kind), raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("int16", 40000, "outside the int16 range"),
        ("uint16", -1, "outside the uint16 range"),
        ("bool", 2, "not a boolean"),
        ("float32", "x", "not a number"),
        ("float32", 1e39, "float32 range"),
        ("int32", math.nan, "not a finite number"),
    ],
)
def test_coerce_raw_refuses_with_a_reason(kind, raw, message):
    with pytest.raises(ValueError, match=message):
        coerce_raw(Tag("t", "c", "x", kind), raw)


class SwallowsCancel(SupervisedHub):
    """A hub whose protocol client turns every cancellation inside a session into an error of
    its own (asyncio.wait_for racing a reply does it now and then in Python 3.11)."""

    kind = "test"

    sessions = 0

    async def _run_session(self) -> None:
        self.sessions += 1
        self.running.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise ConnectionLost("client closed") from None

    async def read(self, tag_ids):
        return []

    async def write(self, tag_id, value):
        pass


async def test_stopping_a_hub_ends_it_even_when_its_client_swallows_the_cancel():
    hub = SwallowsCancel(OpcUaConnection("plc", "opc.tcp://127.0.0.1:1"), [], lambda _: None)
    hub.running = asyncio.Event()
    await hub.start()
    await asyncio.wait_for(hub.running.wait(), 5)
    await asyncio.wait_for(hub.stop(), 10)  # cancelled again until it has ended
    assert hub.status.state == "stopped"
