"""Topics and sessions: retained state, patterns, the per-tag throttle (leading edge,
latest value after the interval, quality changes never held back), and a slow client's
bounded queue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from runtime.api.session import Session
from runtime.api.topics import TAG_INTERVAL_S, TopicHub
from runtime.contracts.api import DROPPED
from runtime.contracts.messages import BAD, GOOD, Sample


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Collector:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def push(self, envelope: dict[str, Any]) -> None:
        self.got.append(envelope)

    def values(self, topic: str) -> list[Any]:
        return [e["data"]["value"] for e in self.got if e["topic"] == topic]


def test_retained_topics_reach_a_new_subscriber_at_once_and_patterns_match():
    hub, early, late = TopicHub(), Collector(), Collector()
    hub.subscribe(early, "line")
    hub.publish("line", {"mode": "manual"}, retain=True)
    hub.publish("runtime", {"uptime_s": 1}, retain=True)
    hub.publish_samples([Sample("P101.flow", 1.0, 120.0), Sample("VFD.speed", 1.0, 50.0)])
    assert early.got == [{"topic": "line", "data": {"mode": "manual"}}]
    assert hub.subscribe(late, "tags/P101.*") == 1
    assert late.got == [{"topic": "tags/P101.flow",
                         "data": {"ts": 1.0, "value": 120.0, "quality": GOOD}}]
    assert hub.unsubscribe(late, "tags/P101.*") and not hub.unsubscribe(late, "tags/P101.*")


def test_a_topic_is_wanted_while_a_pattern_matches_it():
    hub, client = TopicHub(), Collector()
    assert not hub.wanted("flows/f1/debug")
    hub.subscribe(client, "flows/*/debug")
    assert hub.wanted("flows/f1/debug") and not hub.wanted("flows/f1/other")
    hub.unsubscribe(client, "flows/*/debug")
    assert not hub.wanted("flows/f1/debug")


def test_a_tag_is_throttled_leading_edge_latest_after_the_interval_quality_at_once():
    clock = Clock()
    hub, sub = TopicHub(clock), Collector()
    hub.subscribe(sub, "tags/*")
    for i in range(5):  # a burst within one interval
        hub.publish_samples([Sample("t", clock.now, float(i))])
        clock.now += TAG_INTERVAL_S / 10
    assert sub.values("tags/t") == [0.0]  # the first went out at once
    hub.publish_samples([Sample("t", clock.now, None, BAD)])  # quality change: at once
    assert sub.values("tags/t") == [0.0, None]
    hub.publish_samples([Sample("t", clock.now, 7.0)])
    hub.flush_due()
    assert sub.values("tags/t") == [0.0, None, 7.0]  # quality back to good: at once
    hub.publish_samples([Sample("t", clock.now, 8.0)])
    hub.publish_samples([Sample("t", clock.now, 9.0)])
    hub.flush_due()
    assert sub.values("tags/t") == [0.0, None, 7.0]  # held back ...
    clock.now += TAG_INTERVAL_S * 1.01
    hub.flush_due()
    assert sub.values("tags/t") == [0.0, None, 7.0, 9.0]  # ... the latest once it's time
    clock.now += 10
    hub.publish_samples([Sample("t", clock.now, 10.0)])
    assert sub.values("tags/t")[-1] == 10.0  # after a quiet spell: at once


class Socket:
    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.sent = asyncio.Event()

    async def send(self, message: str) -> None:
        self.frames.append(json.loads(message))
        self.sent.set()


async def test_a_slow_clients_oldest_events_go_and_it_is_told_how_many():
    socket = Socket()
    session = Session(socket, "peer", max_events=3, rate=10, burst=10, idle_s=60)
    for i in range(5):
        session.push({"topic": "tags/t", "data": i})
    session.reply({"id": 1, "ok": True, "data": {}})
    sender = asyncio.create_task(session.run_sender())
    try:
        while len(socket.frames) < 2:
            socket.sent.clear()
            await asyncio.wait_for(socket.sent.wait(), 5)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    response, events = socket.frames
    assert response == {"id": 1, "ok": True, "data": {}}  # responses first, never dropped
    assert events == [{"topic": DROPPED, "data": {"count": 2, "total": 2}},
                      *({"topic": "tags/t", "data": i} for i in (2, 3, 4))]


def test_the_request_budget_refills_with_time():
    clock = Clock()
    session = Session(Socket(), "peer", max_events=3, rate=2, burst=2, idle_s=60, clock=clock)
    assert [session.budget.take() for _ in range(3)] == [True, True, False]
    clock.now += 0.5
    assert session.budget.take() and not session.budget.take()
