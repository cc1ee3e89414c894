"""The forwarder against a real Mosquitto, watched by a real subscriber on lineside/#.

Checked end to end: every record arrives in order without gaps, chunks are deleted only
once acknowledged, an outage grows the outbox and the backlog drains oldest first marked
historical, logins and TLS work and refusals are reported plainly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import pytest

from runtime.sync import BrokerConfig, Forwarder
from tests.fixtures.broker import Mosquitto, MosquittoFactory
from tests.unit.test_sync_forwarder import MemoryOutbox, until


@dataclass
class Received:
    topic: str
    body: dict[str, Any]


@dataclass
class Collector:
    """A subscriber on `lineside/#` at QoS 1 that reconnects when the broker comes back.

    With `persistent`, its session (clean_session=False) survives a broker restart when the
    broker persists, so nothing published while it was reconnecting is lost.
    """

    broker: Mosquitto
    persistent: bool = False
    topic: str = "lineside/#"
    messages: list[Received] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run(), name="test-collector")
        async with asyncio.timeout(10):
            await self._subscribed.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.wait({self._task})

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    identifier="test-collector",
                    clean_session=not self.persistent,
                    username=self.broker.username,
                    password=self.broker.password,
                    tls_params=(
                        aiomqtt.TLSParameters(ca_certs=str(self.broker.ca_file))
                        if self.broker.tls else None
                    ),
                    timeout=5,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self._subscribed.set()
                    async for message in client.messages:
                        self.messages.append(
                            Received(str(message.topic), json.loads(bytes(message.payload)))
                        )
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)  # the broker is away; try again

    def seqs(self) -> list[int]:
        """Every sequence number received, de-duplicated by (node, seq), in arrival order."""
        seen: set[tuple[str, int]] = set()
        out = []
        for m in self.messages:
            for record in m.body["records"]:
                key = (m.body["node"], record[0])
                if key not in seen:
                    seen.add(key)
                    out.append(record[0])
        return out

    def historical_by_seq(self) -> dict[int, bool]:
        """The historical flag each record first arrived with."""
        flags: dict[int, bool] = {}
        for m in self.messages:
            for record in m.body["records"]:
                flags.setdefault(record[0], m.body["historical"])
        return flags


class AckLog:
    """Wraps an outbox, recording what was acked and what the queue held at each ack."""

    def __init__(self, outbox: Any) -> None:
        self.outbox = outbox
        self.acked: list[int] = []
        self.frozen = False
        self.acked_while_frozen: list[int] = []

    def outbox_peek(self, max_records: int):
        return self.outbox.outbox_peek(max_records)

    def outbox_ack(self, chunk_ids):
        self.acked.extend(chunk_ids)
        if self.frozen:
            self.acked_while_frozen.extend(chunk_ids)
        return self.outbox.outbox_ack(chunk_ids)

    def outbox_stats(self):
        return self.outbox.outbox_stats()


def config_for(broker: Mosquitto, **overrides: Any) -> BrokerConfig:
    settings: dict[str, Any] = dict(
        host=broker.host,
        port=broker.port,
        username=broker.username,
        password=broker.password,
        tls=broker.tls is not None,
        ca_file=str(broker.ca_file) if broker.ca_file else None,
        backoff_initial_s=0.05,
        backoff_cap_s=0.3,
        timeout_s=5.0,
    )
    settings.update(overrides)
    return BrokerConfig(**settings)


def expect_consecutive(seqs: list[int], first: int, last: int) -> None:
    assert seqs == list(range(first, last + 1)), (
        f"expected {first}..{last} in order, got {len(seqs)} records "
        f"starting {seqs[:5]} ending {seqs[-5:]}"
    )


async def drained(outbox: Any, within: float = 15.0) -> None:
    await until(lambda: outbox.outbox_stats().records == 0, "the outbox drained", within)


async def test_everything_arrives_in_order_without_gaps_and_is_deleted_after_ack(
    mosquitto: Mosquitto,
):
    outbox = MemoryOutbox()
    for i in range(60):
        outbox.add("events" if i % 7 == 3 else "samples", 50 + i)
    total = outbox.next_seq - 1
    acks = AckLog(outbox)
    config = config_for(mosquitto, max_records_per_message=400, max_inflight=4)
    async with Collector(mosquitto) as collector:
        forwarder = Forwarder(acks, config, "line-1")
        await forwarder.start()
        try:
            await drained(outbox)
            await until(lambda: len(collector.seqs()) == total, "every record received")
            status = forwarder.status()
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 1, total)
    assert acks.acked == list(range(1, 61)), "chunks deleted once each, strictly oldest first"
    assert status.broker_state == "connected" and status.queue_records == 0
    assert status.last_ack_ts is not None and status.drain_rate_per_s > 0
    kinds = {m.topic: m.body["kind"] for m in collector.messages}
    assert kinds == {"lineside/line-1/samples": "samples", "lineside/line-1/events": "events"}
    for m in collector.messages:
        body = m.body
        assert body["node"] == "line-1" and body["historical"] is False
        assert body["count"] == len(body["records"]) == body["seq_last"] - body["seq_first"] + 1
        assert body["count"] <= 400
    assert len(collector.messages) < 60, "consecutive chunks were combined"


async def test_an_outage_grows_the_outbox_and_the_backlog_drains_in_order_as_historical(
    mosquitto_factory: MosquittoFactory,
):
    broker = mosquitto_factory(persistence=True)
    now = [10_000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    outbox = MemoryOutbox(clock=clock)
    acks = AckLog(outbox)
    config = config_for(broker, historical_after_s=10.0, max_records_per_message=300)
    forwarder = Forwarder(acks, config, "line-1", clock=clock)
    async with Collector(broker, persistent=True) as collector:
        await forwarder.start()
        try:
            for _ in range(5):
                outbox.add("samples", 100)
            forwarder.notify()
            await drained(outbox)
            live_last = outbox.next_seq - 1

            broker.stop()
            await until(lambda: forwarder.status().broker_state == "unreachable",
                        "the forwarder noticed the broker is gone")
            await until(lambda: "cannot reach broker" in forwarder.status().last_error,
                        "a reconnect attempt failed")
            acks.frozen = True
            for _ in range(20):  # the plant keeps producing while the broker is away
                outbox.add("samples", 150)
                outbox.add("events", 3)
                forwarder.notify()
                await asyncio.sleep(0)
            status = forwarder.status()
            assert status.broker_state == "unreachable"
            assert status.queue_records == 20 * 153
            assert status.last_error
            now[0] += 60.0  # the backlog is a minute old when the broker returns
            await until(lambda: forwarder.status().oldest_age_s >= 60.0, "backlog ages")
            assert acks.acked_while_frozen == [], "nothing deleted while the broker is away"
            acks.frozen = False
            backlog_last = outbox.next_seq - 1

            broker.start()
            await drained(outbox)
            outbox.add("samples", 10)  # fresh data after the backlog is live again
            forwarder.notify()
            total = outbox.next_seq - 1
            await until(lambda: len(collector.seqs()) == total, "every record received")
            status = forwarder.status()
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 1, total)
    flags = collector.historical_by_seq()
    assert not any(flags[s] for s in range(1, live_last + 1))
    assert all(flags[s] for s in range(live_last + 1, backlog_last + 1))
    assert not any(flags[s] for s in range(backlog_last + 1, total + 1))
    assert status.broker_state == "connected" and status.reconnects == 1
    assert acks.acked == sorted(set(acks.acked)), "oldest first, each chunk once"


async def test_a_broker_lost_mid_drain_costs_duplicates_at_most_never_a_gap(
    mosquitto_factory: MosquittoFactory,
):
    broker = mosquitto_factory(persistence=True)
    outbox = MemoryOutbox()
    for _ in range(200):
        outbox.add("samples", 500)
    total = outbox.next_seq - 1
    acks = AckLog(outbox)
    config = config_for(broker, rate_limit_records_per_s=40_000, max_records_per_message=2_000)
    forwarder = Forwarder(acks, config, "line-1")
    async with Collector(broker, persistent=True) as collector:
        await forwarder.start()
        try:
            await until(lambda: outbox.outbox_stats().records < total * 0.7, "draining")
            broker.stop()  # while publishes are in flight
            await until(lambda: forwarder.status().broker_state == "unreachable", "noticed")
            left = outbox.outbox_stats().records
            assert 0 < left < total
            acks.frozen = True
            await until(lambda: "cannot reach broker" in forwarder.status().last_error,
                        "a reconnect attempt failed")
            assert acks.acked_while_frozen == [] and outbox.outbox_stats().records == left
            acks.frozen = False
            broker.start()
            await drained(outbox, within=30)
            await until(lambda: len(collector.seqs()) == total, "every record received", 30)
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 1, total)
    assert acks.acked == list(range(1, 201)), "chunks deleted once each, strictly oldest first"


async def test_notify_sends_new_records_without_waiting_for_the_poll(mosquitto: Mosquitto):
    outbox = MemoryOutbox()
    forwarder = Forwarder(outbox, config_for(mosquitto, poll_interval_s=30.0), "n1")
    async with Collector(mosquitto) as collector:
        await forwarder.start()
        try:
            await until(lambda: forwarder.status().broker_state == "connected", "connected")
            await asyncio.sleep(0.1)  # let the sender find the outbox empty and wait
            outbox.add("samples", 5)
            started = time.monotonic()
            forwarder.notify()
            await until(lambda: len(collector.seqs()) == 5, "records after notify()",
                        within=5)
            assert time.monotonic() - started < 2.0
        finally:
            await forwarder.stop()


async def test_the_rate_limit_holds_the_average(mosquitto: Mosquitto):
    outbox = MemoryOutbox()
    for _ in range(30):
        outbox.add("samples", 100)
    forwarder = Forwarder(outbox, config_for(mosquitto, rate_limit_records_per_s=2000), "n1")
    started = time.monotonic()
    await forwarder.start()
    try:
        await drained(outbox)
    finally:
        await forwarder.stop()
    # A full bucket (2,000) goes at once, the other 1,000 take half a second.
    assert time.monotonic() - started >= 0.45


async def test_a_login_with_the_right_password_forwards_and_a_wrong_one_is_reported(
    mosquitto_factory: MosquittoFactory, caplog: pytest.LogCaptureFixture
):
    broker = mosquitto_factory(username="edge", password="s3cret-pw")
    caplog.set_level("DEBUG")
    outbox = MemoryOutbox()
    outbox.add("samples", 20)
    wrong = Forwarder(outbox, config_for(broker, password="not-it"), "n1")
    await wrong.start()
    try:
        await until(lambda: wrong.status().broker_state == "unreachable", "refused")
        error = wrong.status().last_error
    finally:
        await wrong.stop()
    assert "refused the login (user 'edge')" in error
    assert "check the username and password" in error
    assert outbox.outbox_stats().records == 20

    right = Forwarder(outbox, config_for(broker), "n1")
    await right.start()
    try:
        await drained(outbox)
    finally:
        await right.stop()
    assert "s3cret-pw" not in caplog.text and "not-it" not in caplog.text


async def test_tls_with_the_brokers_ca_forwards_and_an_untrusted_broker_is_reported(
    mosquitto_factory: MosquittoFactory,
):
    broker = mosquitto_factory(tls=True)
    outbox = MemoryOutbox()
    outbox.add("samples", 20)
    untrusted = Forwarder(outbox, config_for(broker, ca_file=None), "n1")
    await untrusted.start()
    try:
        await until(lambda: untrusted.status().broker_state == "unreachable", "refused")
        error = untrusted.status().last_error
    finally:
        await untrusted.stop()
    assert "TLS handshake with broker" in error and "certificate verify failed" in error
    assert outbox.outbox_stats().records == 20

    async with Collector(broker) as collector:
        trusted = Forwarder(outbox, config_for(broker), "n1")
        await trusted.start()
        try:
            await drained(outbox)
            await until(lambda: len(collector.seqs()) == 20, "records over TLS")
        finally:
            await trusted.stop()


async def test_insecure_tls_skips_the_certificate_check(mosquitto_factory: MosquittoFactory):
    broker = mosquitto_factory(tls=True)
    outbox = MemoryOutbox()
    outbox.add("samples", 5)
    forwarder = Forwarder(outbox, config_for(broker, ca_file=None, insecure=True), "n1")
    await forwarder.start()
    try:
        await drained(outbox)
    finally:
        await forwarder.stop()


async def test_a_frozen_broker_times_out_and_the_forwarder_recovers_when_it_answers_again(
    mosquitto: Mosquitto,
):
    outbox = MemoryOutbox()
    outbox.add("samples", 10)
    acks = AckLog(outbox)
    forwarder = Forwarder(acks, config_for(mosquitto, timeout_s=0.5, keepalive_s=5), "n1")
    async with Collector(mosquitto) as collector:
        await forwarder.start()
        try:
            await drained(outbox)
            mosquitto.pause()  # connections stay open, nothing is acknowledged
            try:
                outbox.add("samples", 10)
                forwarder.notify()
                await until(lambda: "did not acknowledge" in forwarder.status().last_error,
                            "the missing PUBACK was noticed")
                await until(lambda: "did not answer" in forwarder.status().last_error,
                            "a reconnect got no CONNACK")
                assert forwarder.status().broker_state == "unreachable"
                assert outbox.outbox_stats().records == 10
            finally:
                mosquitto.resume()
            await drained(outbox)
            await until(lambda: len(collector.seqs()) == 20, "every record received")
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 1, 20)


async def test_stopping_while_the_broker_does_not_answer_leaves_nothing_behind(
    mosquitto: Mosquitto,
):
    forwarder = Forwarder(MemoryOutbox(), config_for(mosquitto, timeout_s=30.0), "n1")
    mosquitto.pause()
    try:
        await forwarder.start()
        await asyncio.sleep(0.2)  # the connect is waiting for a CONNACK that will not come
        assert forwarder.status().broker_state == "connecting"
        await forwarder.stop()
        current = asyncio.current_task()
        await until(
            lambda: all(t is current or t.done() for t in asyncio.all_tasks()),
            "the half-made connection's tasks ended", within=2,
        )
    finally:
        mosquitto.resume()
    assert forwarder.status().broker_state == "disabled"


class FlakyOutbox(AckLog):
    """An outbox whose reads fail while `failing` is set, as a broken disk would."""

    failing = True

    def outbox_peek(self, max_records: int):
        if self.failing:
            raise OSError("disk I/O error")
        return super().outbox_peek(max_records)


async def test_a_failing_store_is_reported_without_blaming_the_broker(mosquitto: Mosquitto):
    outbox = MemoryOutbox()
    outbox.add("samples", 5)
    flaky = FlakyOutbox(outbox)
    forwarder = Forwarder(flaky, config_for(mosquitto), "n1")
    await forwarder.start()
    try:
        await until(lambda: "disk I/O error" in forwarder.status().last_error, "store error")
        assert forwarder.status().broker_state in ("connecting", "connected")
        flaky.failing = False
        await drained(outbox)
    finally:
        await forwarder.stop()
