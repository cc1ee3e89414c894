"""The forwarder against a real Mosquitto and the real Store, watched by a subscriber.

Checked end to end: every record arrives in order without gaps, chunks are deleted only
once acknowledged and oldest first, an outage grows the outbox and the backlog drains in
order marked historical, logins and TLS work and refusals are reported plainly.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import pytest_asyncio

from runtime.contracts.messages import Event, EventKind, Sample
from runtime.store import Store, StoreConfig
from runtime.sync import BrokerConfig, Forwarder
from tests.fixtures.broker import Mosquitto, MosquittoFactory
from tests.unit.test_sync_forwarder import until


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
        subscribed = asyncio.create_task(self._subscribed.wait())
        await asyncio.wait({self._task, subscribed}, timeout=10,
                           return_when=asyncio.FIRST_COMPLETED)
        subscribed.cancel()
        self._check()
        assert self._subscribed.is_set(), "the collector did not subscribe within 10 s"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.wait({self._task})
        self._check()

    def _check(self) -> None:
        """Raise what ended the collector's task, so a broken collector fails the test
        instead of silently collecting nothing more."""
        task = self._task
        if task is not None and task.done() and not task.cancelled() and task.exception():
            raise AssertionError("the test's collector failed") from task.exception()

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
        """Every sequence number received, de-duplicated by (node, incarnation, seq) as the
        README tells consumers to, in arrival order."""
        self._check()
        seen: set[tuple[str, str, int]] = set()
        out = []
        for m in self.messages:
            for record in m.body["records"]:
                key = (m.body["node"], m.body["incarnation"], record[0])
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

    @property
    def incarnation(self) -> str:
        return self.outbox.incarnation

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


class Clock:
    """Wall-clock time plus an offset a test advances to age the backlog."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_store(path: Path, clock: Clock, **config: Any) -> Store:
    config.setdefault("commit_interval_s", 0.05)
    return Store(path, StoreConfig(**config), clock=clock)


@pytest_asyncio.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    """The real store on a temporary file (group commit every 50 ms), closed after the test."""
    store = open_store(tmp_path / "lineside.db", clock)
    try:
        yield store
    finally:
        await store.aclose()


async def add_samples(store: Store, n: int, tag: str = "P101.Flow") -> None:
    """Record n samples and wait until they are committed (and in the outbox)."""
    ts = time.time()
    assert store.append_samples([Sample(tag, ts + i * 1e-3, float(i)) for i in range(n)])
    await store.flush()


async def add_events(store: Store, n: int) -> None:
    """Record n write events and wait until they are committed."""
    ts = time.time()
    for i in range(n):
        assert store.record_event(
            Event(EventKind.WRITE, ts + i * 1e-3, "flow-1", "node-1", {"tag": "SP", "value": i})
        )
    await store.flush()


def chunk_ids(store: Store) -> list[int]:
    """Ids of every chunk in the outbox, oldest first."""
    return [c.id for c in store.outbox_peek(10**9)]


def last_seq(store: Store) -> int:
    """The sequence number of the newest record."""
    return store.outbox_stats().next_seq - 1


async def test_everything_arrives_in_order_without_gaps_and_is_deleted_after_ack(
    mosquitto: Mosquitto, store: Store
):
    for i in range(60):
        if i % 7 == 3:
            await add_events(store, 3)
        else:
            await add_samples(store, 50 + i)
    ids = chunk_ids(store)
    total = last_seq(store)
    acks = AckLog(store)
    config = config_for(mosquitto, max_records_per_message=400, max_inflight=4)
    async with Collector(mosquitto) as collector:
        forwarder = Forwarder(acks, config, "line-1")
        await forwarder.start()
        try:
            await drained(store)
            await until(lambda: len(collector.seqs()) == total + 1, "every record received")
            status = forwarder.status()
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 0, total)
    assert acks.acked == ids, "chunks deleted once each, strictly oldest first"
    assert status.broker_state == "connected" and status.queue_records == 0
    assert status.last_ack_ts is not None and status.drain_rate_per_s > 0
    kinds = {m.topic: m.body["kind"] for m in collector.messages}
    assert kinds == {"lineside/line-1/samples": "samples", "lineside/line-1/events": "events"}
    for m in collector.messages:
        body = m.body
        assert body["node"] == "line-1" and body["historical"] is False
        assert body["incarnation"] == store.incarnation
        assert body["count"] == len(body["records"]) == body["seq_last"] - body["seq_first"] + 1
        assert body["count"] <= 400
        assert [r[0] for r in body["records"]] == list(range(body["seq_first"],
                                                               body["seq_last"] + 1))
    event = next(m.body for m in collector.messages if m.body["kind"] == "events")
    _seq, kind, _ts, flow, node, data, shadow = event["records"][0]
    assert (kind, flow, node, data, shadow) == ("write", "flow-1", "node-1",
                                                 {"tag": "SP", "value": 0}, False)
    assert len(collector.messages) < len(ids), "consecutive chunks were combined"


async def test_an_outage_grows_the_outbox_and_the_backlog_drains_in_order_as_historical(
    mosquitto_factory: MosquittoFactory, store: Store, clock: Clock
):
    broker = mosquitto_factory(persistence=True)
    acks = AckLog(store)
    config = config_for(broker, historical_after_s=10.0, max_records_per_message=300)
    forwarder = Forwarder(acks, config, "line-1", clock=clock)
    async with Collector(broker, persistent=True) as collector:
        await forwarder.start()
        try:
            for _ in range(5):
                await add_samples(store, 100)
                forwarder.notify()
            await drained(store)
            live_last = last_seq(store)

            broker.stop()
            await until(lambda: forwarder.status().broker_state == "unreachable",
                        "the forwarder noticed the broker is gone")
            await until(lambda: "cannot reach broker" in forwarder.status().last_error,
                        "a reconnect attempt failed")
            acks.frozen = True
            for _ in range(20):  # the plant keeps producing while the broker is away
                await add_samples(store, 150)
                await add_events(store, 3)
                forwarder.notify()
            status = forwarder.status()
            assert status.broker_state == "unreachable"
            assert status.queue_records == 20 * 153
            clock.offset += 60.0  # the backlog is a minute old when the broker returns
            assert forwarder.status().oldest_age_s >= 60.0
            assert acks.acked_while_frozen == [], "nothing deleted while the broker is away"
            acks.frozen = False
            backlog_last = last_seq(store)

            broker.start()
            await drained(store)
            await add_samples(store, 10)  # fresh data after the backlog is live again
            forwarder.notify()
            total = last_seq(store)
            await until(lambda: len(collector.seqs()) == total + 1, "every record received")
            status = forwarder.status()
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 0, total)
    flags = collector.historical_by_seq()
    assert not any(flags[s] for s in range(0, live_last + 1))
    assert all(flags[s] for s in range(live_last + 1, backlog_last + 1))
    assert not any(flags[s] for s in range(backlog_last + 1, total + 1))
    assert status.broker_state == "connected" and status.reconnects == 1
    assert acks.acked == sorted(set(acks.acked)), "oldest first, each chunk once"


async def test_a_broker_lost_mid_drain_costs_duplicates_at_most_never_a_gap(
    mosquitto_factory: MosquittoFactory, store: Store
):
    broker = mosquitto_factory(persistence=True)
    for _ in range(10):
        await add_samples(store, 10_000)
    ids = chunk_ids(store)
    total = last_seq(store) + 1
    acks = AckLog(store)
    config = config_for(broker, rate_limit_records_per_s=40_000, max_records_per_message=2_000)
    forwarder = Forwarder(acks, config, "line-1")
    async with Collector(broker, persistent=True) as collector:
        await forwarder.start()
        try:
            await until(lambda: store.outbox_stats().records < total * 0.7, "draining")
            broker.stop()  # while publishes are in flight
            await until(lambda: forwarder.status().broker_state == "unreachable", "noticed")
            await until(lambda: "cannot reach broker" in forwarder.status().last_error,
                        "a reconnect attempt failed")
            acks.frozen = True
            left = store.outbox_stats().records
            assert 0 < left < total
            assert acks.acked_while_frozen == [] and store.outbox_stats().records == left
            acks.frozen = False
            broker.start()
            await drained(store, within=30)
            await until(lambda: len(collector.seqs()) == total, "every record received", 30)
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 0, total - 1)
    assert acks.acked == ids, "chunks deleted once each, strictly oldest first"


class PeekCount(AckLog):
    """Counts the forwarder's looks at the outbox (peeks, from its worker thread)."""

    peeks = 0

    def outbox_peek(self, max_records: int):
        self.peeks += 1
        return super().outbox_peek(max_records)


async def test_notify_from_another_thread_sends_new_records_without_waiting_for_the_poll(
    mosquitto: Mosquitto, store: Store
):
    watched = PeekCount(store)
    forwarder = Forwarder(watched, config_for(mosquitto, poll_interval_s=600.0), "n1")
    async with Collector(mosquitto) as collector:
        await forwarder.start()
        try:
            await until(lambda: watched.peeks >= 1, "the sender looked at the empty outbox")
            looked = watched.peeks
            await add_samples(store, 5)
            notifier = threading.Thread(target=forwarder.notify, name="test-notifier")
            notifier.start()  # as the store's writer thread would
            notifier.join(5)
            assert not notifier.is_alive()
            # The poll is 600 s away: only notify() can have sent them within the deadline.
            await until(lambda: len(collector.seqs()) == 5, "records after notify()",
                        within=10)
            assert watched.peeks > looked
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 0, 4)


async def test_the_rate_limit_holds_the_average(mosquitto: Mosquitto, store: Store):
    for _ in range(3):
        await add_samples(store, 1000)
    forwarder = Forwarder(store, config_for(mosquitto, rate_limit_records_per_s=2000), "n1")
    started = time.monotonic()
    await forwarder.start()
    try:
        await drained(store)
    finally:
        await forwarder.stop()
    # A full bucket (2,000) goes at once, the other 1,000 take half a second.
    assert time.monotonic() - started >= 0.45


async def test_a_login_with_the_right_password_forwards_and_a_wrong_one_is_reported(
    mosquitto_factory: MosquittoFactory, store: Store, caplog: pytest.LogCaptureFixture
):
    broker = mosquitto_factory(username="edge", password="s3cret-pw")
    caplog.set_level("DEBUG")
    await add_samples(store, 20)
    wrong = Forwarder(store, config_for(broker, password="not-it"), "n1")
    await wrong.start()
    try:
        await until(lambda: wrong.status().broker_state == "unreachable", "refused")
        error = wrong.status().last_error
    finally:
        await wrong.stop()
    assert "refused the login (user 'edge')" in error
    assert "check the username and password" in error
    assert store.outbox_stats().records == 20

    right = Forwarder(store, config_for(broker), "n1")
    await right.start()
    try:
        await drained(store)
    finally:
        await right.stop()
    assert "s3cret-pw" not in caplog.text and "not-it" not in caplog.text


async def test_tls_with_the_brokers_ca_forwards_and_an_untrusted_broker_is_reported(
    mosquitto_factory: MosquittoFactory, store: Store
):
    broker = mosquitto_factory(tls=True)
    await add_samples(store, 20)
    untrusted = Forwarder(store, config_for(broker, ca_file=None), "n1")
    await untrusted.start()
    try:
        await until(lambda: untrusted.status().broker_state == "unreachable", "refused")
        error = untrusted.status().last_error
    finally:
        await untrusted.stop()
    assert "TLS handshake with broker" in error and "certificate verify failed" in error
    assert store.outbox_stats().records == 20

    async with Collector(broker) as collector:
        trusted = Forwarder(store, config_for(broker), "n1")
        await trusted.start()
        try:
            await drained(store)
            await until(lambda: len(collector.seqs()) == 20, "records over TLS")
        finally:
            await trusted.stop()


async def test_insecure_tls_skips_the_certificate_check(
    mosquitto_factory: MosquittoFactory, store: Store
):
    broker = mosquitto_factory(tls=True)
    await add_samples(store, 5)
    forwarder = Forwarder(store, config_for(broker, ca_file=None, insecure=True), "n1")
    await forwarder.start()
    try:
        await drained(store)
    finally:
        await forwarder.stop()


async def test_a_frozen_broker_times_out_and_the_forwarder_recovers_when_it_answers_again(
    mosquitto: Mosquitto, store: Store
):
    await add_samples(store, 10)
    forwarder = Forwarder(store, config_for(mosquitto, timeout_s=0.5, keepalive_s=5), "n1")
    async with Collector(mosquitto) as collector:
        await forwarder.start()
        try:
            await drained(store)
            mosquitto.pause()  # connections stay open, nothing is acknowledged
            try:
                await add_samples(store, 10)
                forwarder.notify()
                await until(lambda: "did not acknowledge" in forwarder.status().last_error,
                            "the missing PUBACK was noticed")
                await until(lambda: "did not answer" in forwarder.status().last_error,
                            "a reconnect got no CONNACK")
                assert forwarder.status().broker_state == "unreachable"
                assert store.outbox_stats().records == 10
            finally:
                mosquitto.resume()
            await drained(store)
            await until(lambda: len(collector.seqs()) == 20, "every record received")
        finally:
            await forwarder.stop()
    expect_consecutive(collector.seqs(), 0, 19)


async def test_stopping_while_the_broker_does_not_answer_leaves_nothing_behind(
    mosquitto: Mosquitto, store: Store
):
    forwarder = Forwarder(store, config_for(mosquitto, timeout_s=30.0), "n1")
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


async def test_a_failing_store_is_reported_without_blaming_the_broker(
    mosquitto: Mosquitto, store: Store
):
    await add_samples(store, 5)
    flaky = FlakyOutbox(store)
    forwarder = Forwarder(flaky, config_for(mosquitto), "n1")
    await forwarder.start()
    try:
        await until(lambda: "disk I/O error" in forwarder.status().last_error, "store error")
        assert forwarder.status().broker_state in ("connecting", "connected")
        flaky.failing = False
        await drained(store)
    finally:
        await forwarder.stop()


async def test_acked_chunks_stay_deleted_across_a_restart_of_the_store(
    mosquitto: Mosquitto, tmp_path: Path, clock: Clock
):
    path = tmp_path / "lineside.db"
    store = open_store(path, clock)
    try:
        await add_samples(store, 500)
        forwarder = Forwarder(store, config_for(mosquitto), "n1")
        await forwarder.start()
        try:
            await drained(store)
        finally:
            await forwarder.stop()
        await add_samples(store, 7)
    finally:
        await store.aclose()
    reopened = open_store(path, clock)
    try:
        stats = reopened.outbox_stats()
        assert (stats.records, stats.next_seq) == (7, 507)
        assert [c.seq_first for c in reopened.outbox_peek(100)] == [500]
    finally:
        await reopened.aclose()


async def test_a_store_created_afresh_is_sent_under_a_new_incarnation_and_none_of_it_is_lost(
    mosquitto: Mosquitto, tmp_path: Path, clock: Clock
):
    path = tmp_path / "lineside.db"
    incarnations = []
    async with Collector(mosquitto) as collector:
        for life in range(2):
            store = open_store(path, clock)
            try:
                incarnations.append(store.incarnation)
                await add_samples(store, 30)
                forwarder = Forwarder(store, config_for(mosquitto), "line-1")
                await forwarder.start()
                try:
                    await drained(store)
                    await until(lambda n=30 * (life + 1): len(collector.seqs()) == n,
                                "every record of this life received")
                finally:
                    await forwarder.stop()
            finally:
                await store.aclose()
            path.write_bytes(b"scribbled by a failing disk " * 300)  # a fresh store next
    assert incarnations[0] != incarnations[1]
    assert collector.seqs() == list(range(30)) * 2, "the restarted sequence is new data"
    assert [m.body["incarnation"] for m in collector.messages] == incarnations


class SlowPeekOutbox(AckLog):
    """Peeks take a while after reading, so deletes commit while a peek is under way."""

    def outbox_peek(self, max_records: int):
        chunks = super().outbox_peek(max_records)
        time.sleep(0.15)  # in the forwarder's worker thread
        return chunks


async def test_deletes_committed_during_a_peek_are_not_sent_again(
    mosquitto: Mosquitto, store: Store
):
    for _ in range(40):
        await add_samples(store, 500)
    ids = chunk_ids(store)
    total = last_seq(store) + 1
    slow = SlowPeekOutbox(store)
    config = config_for(mosquitto, max_records_per_message=1_000, max_inflight=2)
    async with Collector(mosquitto) as collector:
        forwarder = Forwarder(slow, config, "n1")
        await forwarder.start()
        try:
            await drained(store, within=30)
            await until(lambda: len(collector.seqs()) == total, "every record received")
        finally:
            await forwarder.stop()
    received = [r[0] for m in collector.messages for r in m.body["records"]]
    assert received == list(range(total)), "no record sent twice without a reconnect"
    assert slow.acked == ids
