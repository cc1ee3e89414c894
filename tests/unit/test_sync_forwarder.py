"""The forwarder without a broker: settings, disabled, an unreachable broker, status numbers.

`MemoryOutbox` is a small in-memory stand-in with the store's outbox API (peek, ack, stats).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from runtime.store.records import OutboxChunk as MemChunk
from runtime.store.records import OutboxStats as MemStats
from runtime.sync import BrokerConfig, Forwarder, SyncConfigError


class MemoryOutbox:
    """The outbox API over a dict: chunks oldest first, acks recorded in call order.

    Thread-safe like the store: the forwarder peeks from a worker thread.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.incarnation = "0123456789abcdef0123456789abcdef"
        self._lock = threading.Lock()
        self.chunks: dict[int, MemChunk] = {}
        self.acks: list[list[int]] = []
        self.next_seq = 1
        self._next_id = 1

    def add(self, kind: str, count: int, created_ts: float | None = None) -> MemChunk:
        """Append one chunk of `count` records of `kind` with the next sequence numbers."""
        ts = self.clock() if created_ts is None else created_ts
        seq = self.next_seq
        if kind == "samples":
            records = [[seq + i, f"T{i % 5}", ts, float(i), "good"] for i in range(count)]
        else:
            records = [[seq + i, "alarm", ts, "f1", "n1", {"i": i}, False] for i in range(count)]
        chunk = MemChunk(self._next_id, kind, seq, seq + count - 1, count, ts,
                         json.dumps(records, separators=(",", ":")).encode())
        with self._lock:
            self.chunks[chunk.id] = chunk
            self._next_id += 1
            self.next_seq += count
        return chunk

    def outbox_peek(self, max_records: int) -> list[MemChunk]:
        out, total = [], 0
        with self._lock:
            for chunk in self.chunks.values():
                if out and total + chunk.count > max_records:
                    break
                out.append(chunk)
                total += chunk.count
        return out

    def outbox_ack(self, chunk_ids: Sequence[int]) -> concurrent.futures.Future[None]:
        with self._lock:
            self.acks.append(list(chunk_ids))
            for chunk_id in chunk_ids:
                self.chunks.pop(chunk_id, None)
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future

    def outbox_stats(self) -> MemStats:
        with self._lock:
            chunks = list(self.chunks.values())
        return MemStats(
            records=sum(c.count for c in chunks),
            bytes=sum(len(c.payload) for c in chunks),
            chunks=len(chunks),
            oldest_ts=min((c.created_ts for c in chunks), default=None),
            dropped_records=0,
            dropped_event_records=0,
            next_seq=self.next_seq,
            incarnation=self.incarnation,
        )


async def until(predicate: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Poll `predicate` every 20 ms until it holds; fail with `what` after `within` s."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_settings_are_checked_and_name_what_is_wrong():
    with pytest.raises(SyncConfigError) as bad:
        BrokerConfig(host="", port=0, topic_prefix="a/#", max_inflight=0, password="x")
    text = str(bad.value)
    for name in ("host", "port", "topic_prefix", "max_inflight", "password"):
        assert name in text
    with pytest.raises(ValueError, match="MQTT topic"):
        Forwarder(MemoryOutbox(), BrokerConfig(host="h"), "a/b")


def test_the_password_is_never_in_the_settings_repr():
    config = BrokerConfig(host="h", username="edge", password="hunter2")
    assert "hunter2" not in repr(config) and "edge" in repr(config)


async def test_a_disabled_forwarder_starts_nothing_and_says_disabled():
    outbox = MemoryOutbox()
    outbox.add("samples", 10)
    forwarder = Forwarder(outbox, BrokerConfig(host="h", enabled=False), "n1")
    await forwarder.start()
    status = forwarder.status()
    assert status.broker_state == "disabled"
    assert status.queue_records == 10
    await forwarder.stop()


async def test_an_unreachable_broker_is_reported_and_nothing_is_deleted(caplog):
    now = [1000.0]
    outbox = MemoryOutbox(clock=lambda: now[0])
    outbox.add("samples", 5, created_ts=990.0)
    port = closed_port()
    config = BrokerConfig(host="127.0.0.1", port=port, username="edge", password="hunter2",
                          backoff_initial_s=0.05, backoff_cap_s=0.1)
    forwarder = Forwarder(outbox, config, "n1", clock=lambda: now[0])
    assert forwarder.status().broker_state == "disabled"
    caplog.set_level("INFO", logger="runtime.sync")
    await forwarder.start()
    try:
        await until(lambda: forwarder.status().broker_state == "unreachable", "unreachable")
        status = forwarder.status()
        assert f"cannot reach broker 127.0.0.1:{port}" in status.last_error
        assert status.queue_records == 5 and status.oldest_age_s == pytest.approx(10.0)
        assert status.last_ack_ts is None and status.drain_rate_per_s == 0.0
        await until(lambda: "sync.backoff" in caplog.text, "a backoff log line")
    finally:
        await forwarder.stop()
    assert outbox.acks == [] and len(outbox.chunks) == 1
    assert forwarder.status().broker_state == "disabled"
    assert "hunter2" not in caplog.text
    assert f"broker=127.0.0.1:{port}" in caplog.text


async def test_tls_files_that_do_not_exist_are_a_clear_error(tmp_path):
    config = BrokerConfig(host="127.0.0.1", port=closed_port(), tls=True,
                          ca_file=str(tmp_path / "missing-ca.crt"), backoff_initial_s=0.05)
    forwarder = Forwarder(MemoryOutbox(), config, "n1")
    await forwarder.start()
    try:
        await until(lambda: forwarder.status().broker_state == "unreachable", "unreachable")
        assert "cannot load ca_file" in forwarder.status().last_error
        assert "missing-ca.crt" in forwarder.status().last_error
    finally:
        await forwarder.stop()


async def test_a_status_summary_is_logged_periodically(caplog):
    outbox = MemoryOutbox()
    outbox.add("samples", 3)
    config = BrokerConfig(host="127.0.0.1", port=closed_port(), status_log_interval_s=0.05,
                          backoff_initial_s=0.05)
    forwarder = Forwarder(outbox, config, "n1")
    caplog.set_level("INFO", logger="runtime.sync")
    await forwarder.start()
    try:
        await until(lambda: "sync.status" in caplog.text, "a status line")
    finally:
        await forwarder.stop()
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("sync.status"))
    assert "node=n1" in line and "queue_records=3" in line and "state=" in line
