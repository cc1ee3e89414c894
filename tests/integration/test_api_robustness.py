"""The API under hostile and careless clients, against a real runtime process: thousands of
malformed messages (hypothesis), a subscriber that never reads, oversized frames, strangers
that never log in, a runtime restart, and TLS with a pinned certificate."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidMessage

from runtime.api.operations import OPERATIONS
from runtime.client import (
    CertificateMismatch,
    Credentials,
    Disconnected,
    RuntimeClient,
    fetch_fingerprint,
)
from runtime.contracts.api import DROPPED
from tests.fixtures.api import RuntimeProcess
from tests.fixtures.broker import free_port
from tests.runtime_process import RuntimeProcessError

HOSTILE_COUNT = 3000
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=6),
    max_leaves=30)
_REQUESTS = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.text(max_size=8), st.none(), st.booleans(),
                     st.floats(allow_nan=False)),
     "op": st.one_of(st.sampled_from([op.name for op in OPERATIONS]), st.text(max_size=20),
                     st.integers()),
     "data": st.one_of(_JSON, st.dictionaries(st.sampled_from(
         ["tags", "tag", "value", "start", "end", "width", "document", "pattern", "alarm",
          "mode", "version", "from", "to", "duration_s", "confirm", "user", "password",
          "token"]), _JSON, max_size=5))},
    optional={"extra": _JSON})
HOSTILE = st.one_of(
    _REQUESTS.map(lambda r: orjson.dumps(r, option=orjson.OPT_PASSTHROUGH_DATACLASS).decode()
                  if _encodable(r) else "{}"),
    st.text(max_size=300),
    st.binary(max_size=300),
    _JSON.map(lambda v: json.dumps(v)),
    st.integers(1, 60).map(lambda depth: "[" * depth * 100 + "]" * depth * 100),
)


def _encodable(value: Any) -> bool:
    try:
        orjson.dumps(value)
        return True
    except (TypeError, orjson.JSONEncodeError):
        return False


def hostile_messages(count: int) -> list[str | bytes]:
    """`count` malformed or hostile frames, drawn by hypothesis (seeded: reproducible)."""
    drawn: list[str | bytes] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(HOSTILE)
    def draw(message: str | bytes) -> None:
        drawn.append(message)

    draw()
    return drawn


class Watcher:
    """A well-behaved client's view of one changing tag: when each update arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.dropped = 0

    async def run(self, client: RuntimeClient, pattern: str) -> None:
        subscription = await client.subscribe(pattern)
        async for update in subscription:
            if update.topic == DROPPED:
                self.dropped += 1
            else:
                self.arrivals.append(time.monotonic())

    def max_gap(self, since: float) -> float:
        stamps = [since] + [t for t in self.arrivals if t >= since] + [time.monotonic()]
        return max(b - a for a, b in itertools.pairwise(stamps))


async def committed(client: RuntimeClient) -> int:
    return (await client.status())["store"]["committed_samples"]


@pytest.mark.slow
async def test_thousands_of_hostile_messages_leave_it_up_recording_and_others_served(
        runtime_process, sim_plant):
    runtime: RuntimeProcess = await runtime_process(api={
        "requests_per_s": 100_000, "request_burst": 100_000, "max_frame_bytes": 65_536})
    # drawn before the clock starts (the simulated plant runs in this test's loop)
    messages = await asyncio.to_thread(hostile_messages, HOSTILE_COUNT)
    good = await runtime.client("viewer")
    watcher = Watcher()
    watching = asyncio.create_task(watcher.run(good, "tags/P101.vibration"))
    try:
        await asyncio.sleep(0.5)  # the first updates arrive
        started, before = time.monotonic(), await committed(good)
        messages += ["x" * 200_000, json.dumps({"id": 1, "op": "tags.read",
                                                "data": {"tags": ["a"] * 100_000}})]
        counts = {"answered": 0, "closed": 0}
        for logged_in in (False, True):
            await _throw(runtime, messages, logged_in, counts)
            assert runtime.process.returncode is None, runtime.log_tail()
            assert await committed(good) > before  # it kept recording throughout
            before = await committed(good)
        assert counts["answered"] > HOSTILE_COUNT  # most got an error response
        assert counts["closed"] >= 2  # the oversized frames closed their connections
        assert watcher.max_gap(started) < 1.0  # the good client saw no gap
        assert watcher.dropped == 0
        assert (await good.who())["user"] == "viewer-user"
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert "Traceback" not in runtime.log_tail()


async def _throw(runtime: RuntimeProcess, messages: list[str | bytes], logged_in: bool,
                 counts: dict[str, int]) -> None:
    """Send every message, reconnecting when the runtime closes the connection."""
    pending = list(messages)
    while pending:
        async with connect(runtime.url, max_size=None) as ws:
            await ws.recv()  # hello
            if logged_in:
                await ws.send(json.dumps({"id": "login", "op": "auth.login",
                                          "data": {"token": runtime.token}}))
            try:
                while pending:
                    await ws.send(pending.pop(0))
                    counts["answered"] += await _drain(ws)
                await asyncio.sleep(0.2)
                counts["answered"] += await _drain(ws)
            except ConnectionClosed:
                counts["closed"] += 1


async def _drain(ws: Any) -> int:
    """Read whatever is waiting without blocking; how many responses it held."""
    answered = 0
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), 0.0001)
        except TimeoutError:
            return answered
        message = orjson.loads(frame)
        answered += sum("ok" in m for m in (message if isinstance(message, list)
                                            else [message]))


async def test_a_subscriber_that_never_reads_delays_nobody(api_runtime: RuntimeProcess):
    good = await api_runtime.client("viewer")
    watcher = Watcher()
    watching = asyncio.create_task(watcher.run(good, "tags/*"))
    try:
        async with connect(api_runtime.url, max_queue=1) as stuck:
            await stuck.recv()
            await stuck.send(json.dumps({"id": 1, "op": "auth.login",
                                         "data": {"token": api_runtime.token}}))
            await stuck.send(json.dumps({"id": 2, "op": "subscribe",
                                         "data": {"pattern": "tags/*"}}))
            started = time.monotonic()
            await asyncio.sleep(5)  # it reads nothing while the plant changes
            assert watcher.max_gap(started) < 1.0
            assert watcher.dropped == 0
            # when it reads again it learns how much it lost, not the runtime
            seen_dropped = False
            deadline = time.monotonic() + 10
            while not seen_dropped and time.monotonic() < deadline:
                message = orjson.loads(await stuck.recv())
                seen_dropped = any(m.get("topic") == DROPPED for m in
                                   (message if isinstance(message, list) else [message]))
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


async def test_a_stranger_that_never_logs_in_is_closed(runtime_process):
    runtime = await runtime_process(api={"login_timeout_s": 0.5}, users=False)
    async with connect(runtime.url) as ws:
        await ws.recv()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.reason == "log in first"


async def test_a_restarted_runtime_has_its_clients_back_and_current_within_5_s(
        runtime_process):
    runtime = await runtime_process(api={"port": free_port()})
    client = await runtime.client("operator")
    line = await client.subscribe("line")
    assert (await line.next(5)).data == {"mode": "automatic"}
    await client.set_line_mode("manual")
    assert (await line.next(5)).data == {"mode": "manual"}
    await runtime.stop()
    await runtime.start()
    restarted = time.monotonic()
    update = await line.next(10)  # resubscribed by itself: the retained mode
    assert update.data == {"mode": "manual"}  # the runtime kept it across the restart
    await client.wait_connected(5)
    assert time.monotonic() - restarted < 5.0
    assert client.reconnects == 1
    assert (await client.who())["user"] == "operator-user"


async def test_remote_access_is_tls_only_with_the_certificate_pinned(runtime_process):
    runtime = await runtime_process(api={"remote": True})
    assert runtime.url.startswith("wss://") and len(runtime.fingerprint) == 95
    assert await fetch_fingerprint(runtime.url) == runtime.fingerprint
    client = await runtime.client("viewer")  # pinned to the fingerprint it published
    assert (await client.who())["role"] == "viewer"
    wrong = "AA:" * 31 + "AA"
    stranger = RuntimeClient(runtime.url, Credentials(token=runtime.token), fingerprint=wrong,
                             reconnect=False)
    with pytest.raises(CertificateMismatch, match="not the pinned"):
        await stranger.connect()
    with pytest.raises((InvalidMessage, ConnectionClosed, OSError)):  # no plaintext at all
        async with connect(runtime.url.replace("wss://", "ws://"), open_timeout=5) as ws:
            await ws.recv()


async def test_listening_beyond_loopback_needs_remote_and_tls(runtime_process, tmp_path):
    with pytest.raises(RuntimeProcessError, match="not a loopback address; set remote = true"):
        await runtime_process(api={"host": "0.0.0.0"}, users=False)


async def test_only_engineers_and_admins_may_send_large_frames(api_runtime: RuntimeProcess):
    big = {"document": {"schema": "x", "description": "x" * 2_000_000}}  # 2 MB: over 1 MiB
    engineer = await api_runtime.client("engineer")
    answer = await engineer.request("project.validate", big)
    assert answer["problems"]  # read whole and checked
    viewer = await api_runtime.client("viewer", reconnect=False)
    with pytest.raises(Disconnected):
        await viewer.request("project.validate", big, timeout=10)
    assert not viewer.connected
    # the runtime carries on for everybody else
    assert (await engineer.status())["node_id"]
