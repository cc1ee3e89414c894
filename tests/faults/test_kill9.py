"""The real runtime process killed with SIGKILL at random moments during ingest, 10 times.

Every sample committed before a kill is there afterwards, the database passes
`PRAGMA integrity_check`, the outbox resumes after each restart, and the sequence numbers a
subscriber on the broker received have no gaps (duplicates only with the same node and
sequence, from a publish whose acknowledgement the kill interrupted).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import aiomqtt
import pytest

from runtime.store import Store
from tests.integration.test_runtime import until

ROOT = Path(__file__).resolve().parents[2]
NODE = "fault-node"
CYCLES = 10
EXTRA_TAGS = 100
COMMIT = re.compile(r"store\.commit seq_last=(\d+)")


def project(plant) -> dict:
    tags = [{"id": f"synth.{i:04d}", "connection": "plc", "address": f"ns=2;s=Synth.{i:04d}",
             "type": "float64"} for i in range(EXTRA_TAGS)]
    tags.append({"id": "P101.vibration", "connection": "plc",
                 "address": "ns=2;s=P101.Vibration", "type": "float64"})
    return {"schema": "lineside.project/1", "name": "kill -9",
            "connections": [{"id": "plc", "kind": "opcua", "endpoint": plant.opcua_url,
                             "publishing_interval_ms": 50}],
            "tags": tags,
            "flows": [{"id": "vib", "nodes": [
                {"id": "src", "type": "source.tag", "params": {"tag": "P101.vibration"}},
                {"id": "high", "type": "logic.hysteresis",
                 "params": {"on_above": 2.5, "off_below": 2.0}},
                {"id": "alarm", "type": "alarm", "params": {"message": "vibration"}},
            ], "wires": [{"from": "src:out", "to": "high:in"},
                         {"from": "high:out", "to": "alarm:in"}]}]}


class Subscriber:
    """Collects every record published for the node, by sequence number.

    Used as `async with Subscriber(broker) as subscriber:`; leaving the block fails the test
    with every problem seen (a foreign node, a sequence received with another record) and
    re-raises what stopped the listening task if it died early. `check()` does the latter
    mid-test, so a dead subscriber is not mistaken for a stalled outbox.
    """

    def __init__(self, broker) -> None:
        self.broker = broker
        self.records: dict[int, list] = {}
        self.messages = 0
        self.duplicates = 0
        self.historical = 0
        self.problems: list[str] = []
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Subscriber:
        self._task = asyncio.create_task(self._listen(), name="kill9-subscriber")
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait([self._task, ready], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        self.check()
        assert self.ready.is_set(), "the subscriber did not subscribe within 10 s"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        died = self._task.done()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if died:
            self.check()
        assert not self.problems, "the subscriber saw:\n" + "\n".join(self.problems[:20])

    @property
    def stopped(self) -> bool:
        """True once the listening task ended, for whatever reason."""
        return self._task is not None and self._task.done()

    def check(self) -> None:
        """Re-raise what stopped the listening task, if it stopped."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()
            raise AssertionError("the subscriber stopped listening before the test ended")

    async def _listen(self) -> None:
        async with aiomqtt.Client(self.broker.host, self.broker.port,
                                  identifier="kill9-subscriber") as client:
            await client.subscribe(f"lineside/{NODE}/#", qos=1)
            self.ready.set()
            async for message in client.messages:
                self.receive(message.topic.value, json.loads(message.payload))

    def receive(self, topic: str, body: dict) -> None:
        """Record one published batch, noting anything wrong with it."""
        self.messages += 1
        if body.get("node") != NODE:
            self.problems.append(f"{topic}: a batch of node {body.get('node')!r}, not {NODE}")
            return
        self.historical += body["historical"]
        for record in body["records"]:
            seq = record[0]
            if seq in self.records and self.records[seq] != record:
                self.problems.append(f"{topic}: sequence {seq} received as {record} after "
                                     f"{self.records[seq]} (same sequence, different record)")
            elif seq in self.records:
                self.duplicates += 1
            self.records[seq] = record

    @property
    def max_seq(self) -> int:
        return max(self.records, default=0)


async def run_runtime(args: list[str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "runtime.cli", "run", *args, "--log-commits",
            "--stats-interval", "3600", cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=out, env={**os.environ, "PYTHONPATH": str(ROOT)})


def last_commit(log: Path, since: int) -> tuple[int, int]:
    """(seq_last of the newest commit line after byte `since`, lines seen)."""
    found = COMMIT.findall(log.read_bytes()[since:].decode(errors="replace"))
    return (int(found[-1]) if found else 0), len(found)


async def wait_for_commits(log: Path, since: int, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while last_commit(log, since)[1] < count:
        if time.monotonic() > deadline:
            pytest.fail(f"runtime made no commits:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.05)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
async def test_sigkill_during_ingest_loses_nothing_committed(sim_factory, mosquitto, tmp_path):
    plant = await sim_factory(extra_tags=EXTRA_TAGS)
    data = tmp_path / "data"
    (tmp_path / "project.json").write_text(json.dumps(project(plant)))
    (tmp_path / "runtime.toml").write_text(
        f'node_id = "{NODE}"\n[store]\ncommit_interval_s = 0.1\n'
        f'[broker]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n')
    args = ["--config", str(tmp_path / "runtime.toml"), "--data-dir", str(data)]
    log = tmp_path / "runtime.log"
    rng = random.Random(20261127)
    committed_before_kill: list[int] = []
    async with Subscriber(mosquitto) as subscriber:
        for cycle in range(CYCLES):
            start = log.stat().st_size if log.exists() else 0
            first = ["--project", str(tmp_path / "project.json")] if cycle == 0 else []
            process = await run_runtime(args + first, log)
            await wait_for_commits(log, start, 2, within=30)
            await asyncio.sleep(rng.uniform(0.05, 1.5))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            seq, _ = last_commit(log, start)
            committed_before_kill.append(seq)
            assert integrity(data / "lineside.db") == "ok", f"cycle {cycle}"

        # One clean run: the outbox resumes and drains everything committed before.
        start = log.stat().st_size
        process = await run_runtime(args, log)
        await wait_for_commits(log, start, 2, within=30)
        deadline = time.monotonic() + 60
        while subscriber.max_seq < max(committed_before_kill):
            subscriber.check()
            assert time.monotonic() < deadline, "the outbox did not drain after the kills"
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0

    assert integrity(data / "lineside.db") == "ok"
    assert committed_before_kill == sorted(committed_before_kill)
    received = sorted(subscriber.records)
    assert received[0] == 0, "the first record was not received"
    assert received == list(range(received[-1] + 1)), "gaps in the received sequence"
    assert received[-1] >= committed_before_kill[-1]
    async with Store(data / "lineside.db") as store:
        # every sample the broker got was committed first: each is in the historian
        samples = [r for r in subscriber.records.values() if isinstance(r[1], str)
                   and r[1] in {f"synth.{i:04d}" for i in range(EXTRA_TAGS)}
                   | {"P101.vibration"}]
        by_tag: dict[str, set[float]] = {}
        for _, tag, ts, _, _ in samples:
            by_tag.setdefault(tag, set()).add(round(ts, 3))
        for tag, stamps in by_tag.items():
            stored = {round(s.ts, 3) for s in store.history(tag, 0, float("inf"))}
            assert stamps <= stored, f"{tag}: {len(stamps - stored)} samples not in historian"
        waiting = store.outbox_peek(1)  # committed after the last publish: sent next time
        if waiting:
            assert waiting[0].seq_first == received[-1] + 1
    assert len(samples) > 1000


async def test_the_subscriber_fails_the_test_on_a_sequence_sent_with_another_record(mosquitto):
    """The kill -9 test's broker-side check can fail: a conflicting duplicate is reported."""
    batch = {"node": NODE, "historical": 0, "records": [[0, "synth.0000", 1.0, 1.0, 0]]}
    changed = {**batch, "records": [[0, "synth.0000", 1.0, 2.0, 0]]}
    with pytest.raises(AssertionError, match="same sequence, different record"):
        async with Subscriber(mosquitto) as subscriber:
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
                for body in (batch, changed):
                    await client.publish(f"lineside/{NODE}/samples", json.dumps(body), qos=1)
            await until(lambda: subscriber.messages == 2, 10, "both batches at the subscriber")


async def test_the_subscriber_fails_the_test_when_it_dies_early(mosquitto):
    """A subscriber that lost its broker re-raises why instead of being cancelled quietly."""
    with pytest.raises(aiomqtt.MqttError):
        async with Subscriber(mosquitto) as subscriber:
            mosquitto.kill()
            await until(lambda: subscriber.stopped, 10, "the subscriber to notice")
