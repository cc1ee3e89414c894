"""The control API of a real runtime process (`lineside-runtime run`, a child process as in
production), measured through RuntimeClient over loopback.

One runtime on the simulated plant of this process, running the reflex project
(bench/reflex.py) and a rule over 24 h of its trigger tag, seeded into the store at 1 Hz
before the runtime starts:

- `api.request_p99_ms`: the round trip of auth.whoami (the smallest operation: no store, no
  engine, a four-field answer), REQUESTS of them after REQUEST_WARMUP, from a client in a
  process of its own (this one serves the plant's OPC UA server); goal ≤ 2 ms;
- `api.live_latency_p99_ms`: a value change in the simulator (stamped by the plant once
  served, as reflex does) to the `tags/trigger` event at a subscribed client, in this
  process's clock; changes LIVE_GAP_S apart so the tag throttle never holds one back; goal
  ≤ the OPC UA publishing interval + 50 ms (`api.opcua_interval_ms`);
- `api.history_24h_ms`: the median of HISTORY_RUNS history.query calls of the 24 h (86,400
  samples) at a width of 1,000; every answer must hold all 86,400 samples and the seeded
  extremes; goal ≤ 100 ms;
- `api.reflex_p99_no_load_ms` and `api.reflex_p99_under_load_ms`: the OPC UA reflex p99
  (reflex.changes, REFLEX_TRIALS of them) without load, then while another process runs
  one client querying the 24 h history back to back and one running the 24 h backtest of
  the rule back to back (`backtest.run`, in the runtime's worker process); goal under load
  ≤ interval + 10 ms, like reflex's own (the runtime here commits as in production: every
  0.25 s).

Then `api.fanout_10x1000_cpu_pct`: the runtime process's CPU over FANOUT_MEASURE_S with
FANOUT_CLIENTS clients each subscribed to the 1,000 tags of bench/load.py (changing at
1 Hz, plant in its own process), next to the same runtime with no client; every client
must receive at least FANOUT_FLOOR updates a second and lose none, else WrongResults.

The runtime's request rate limit is raised for the benchmark (API_SETTINGS): the bench sends
requests back to back on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench import load, reflex
from bench.backtest import fill
from bench.harness import BenchError, Context, Metric, Ratio, WrongResults
from runtime.client import Credentials, RuntimeClient, Subscription
from runtime.config import RuntimeConfig
from runtime.contracts.api import DROPPED
from runtime.sim.plant import SimPlant
from runtime.store import Store, StoreConfig
from tests.runtime_process import ROOT, RuntimeProcess, running

NAME = "api"
INTERVAL_MS = reflex.OPCUA_INTERVAL_MS
API_SETTINGS = {"requests_per_s": 1_000_000.0, "request_burst": 1_000_000}
PRODUCTION_STORE = {"commit_interval_s": StoreConfig().commit_interval_s}
"""The store commits as in production (the tests' runtime commits every 50 ms)."""
REQUESTS = 2_000
REQUEST_WARMUP = 200
LIVE_TRIALS = 200
REFLEX_TRIALS = 1_000
"""More than reflex's own 300: a p99 from the 10th worst, steady enough to compare the two."""
LIVE_WARMUP = 10
LIVE_GAP_S = (0.15, 0.25)  # longer than the tag throttle (runtime.api.topics.TAG_INTERVAL_S)
DAY_S = 86_400
HISTORY_TAG = "trigger"
HISTORY_WIDTH = 1_000
HISTORY_RUNS = 20
BACKTEST_FLOW = "day_rule"
FANOUT_CLIENTS = 10
FANOUT_TAGS = 2 * load.TAGS_PER_PROTOCOL
FANOUT_FLOOR = 900.0  # updates a second per client: the 1,000 tags at 1 Hz, less 10 %
FANOUT_SETTLE_S = 10.0
FANOUT_IDLE_S = 15.0
FANOUT_MEASURE_S = 30.0
CONNECT_TIMEOUT_S = 60.0

METRICS = (
    Metric("api.request_p99_ms", "ms", at_most=2.0),
    Metric("api.request_p50_ms", "ms"),
    Metric("api.live_latency_p99_ms", "ms", at_most=INTERVAL_MS + 50),
    Metric("api.live_latency_p50_ms", "ms"),
    Metric("api.opcua_interval_ms", "ms"),
    Metric("api.history_24h_ms", "ms", at_most=100),
    Metric("api.history_24h_max_ms", "ms"),
    Metric("api.reflex_p99_no_load_ms", "ms"),
    Metric("api.reflex_p99_under_load_ms", "ms", at_most=INTERVAL_MS + reflex.ALLOWANCE_MS),
    Metric("api.load_history_queries_per_s", "1/s"),
    Metric("api.load_backtests_per_s", "1/s"),
    Metric("api.fanout_10x1000_cpu_pct", "% of a core", at_most=25),
    Metric("api.fanout_0_clients_cpu_pct", "% of a core"),
    Metric("api.fanout_updates_per_s_min", "updates/s", at_least=FANOUT_FLOOR),
)
RATIOS = (
    Ratio("api.reflex_p99 under load / no load", "api.reflex_p99_under_load_ms",
          "api.reflex_p99_no_load_ms"),
)


def run(ctx: Context) -> dict[str, float]:
    """The plant-and-runtime measurements, then the fan-out; metric name → number."""
    with tempfile.TemporaryDirectory(dir=ctx.cache.parent) as tmp:
        results = asyncio.run(_on_plant(ctx, Path(tmp) / "plant"))
        with load.synthetic_plant() as endpoints:
            results |= asyncio.run(_fanout(ctx, Path(tmp) / "fanout", endpoints))
    return results


# -- the runtime on the reflex plant -------------------------------------------------------


def project(plant: SimPlant) -> dict[str, Any]:
    """The OPC UA reflex project, plus a rule over the trigger tag that never fires (the
    flow the backtest load replays)."""
    doc, _, _, _ = reflex.project(plant, "opcua")
    doc["flows"].append({"id": BACKTEST_FLOW, "nodes": [
        {"id": "src", "type": "source.tag", "params": {"tag": HISTORY_TAG}},
        {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": 1e9}},
        {"id": "alarm", "type": "alarm", "params": {"message": "trigger high"}},
    ], "wires": [{"from": "src:out", "to": "high:in"}, {"from": "high:out", "to": "alarm:in"}]})
    return doc


def day(end: float) -> tuple[np.ndarray, np.ndarray]:
    """24 h of the trigger tag at 1 Hz up to `end` (exclusive): timestamps and values."""
    ts = end - DAY_S + np.arange(DAY_S, dtype=np.float64)
    values = 3.0 + 2.0 * np.sin(np.arange(DAY_S) * (2 * np.pi / 3600.0))
    return ts, values


async def _on_plant(ctx: Context, folder: Path) -> dict[str, float]:
    """Seed the store, start the runtime on this process's plant, measure in turn."""
    async with SimPlant(seed=1, tick_s=1.0) as plant:
        handle = RuntimeProcess.prepare(folder, project(plant), node_id="bench-api",
                                        api=API_SETTINGS, store=PRODUCTION_STORE)
        end = float(int(time.time()))
        ts, values = day(end)
        handle.data_dir.mkdir(parents=True)
        with Store(RuntimeConfig(data_dir=handle.data_dir).database,
                   StoreConfig(forward_samples=False, forward_events=False)) as store:
            fill(store, {HISTORY_TAG: (ts, values)})
        window = (end - DAY_S, end)
        async with running(handle) as runtime:
            client = await runtime.client()
            await _connected(client)
            ctx.note(NAME, f"runtime pid {runtime.pid} on the plant, 24 h of "
                           f"{HISTORY_TAG!r} stored")
            # Requests and history are timed from a process of their own, as a real client
            # is: in this one the plant's OPC UA server shares the loop with the client.
            timed = await _in_client_process(runtime, {"window": window,
                                                       "low": values.min(),
                                                       "high": values.max()})
            requests, history = timed["requests"], timed["history"]
            live = await _live_latencies(plant, client)
            no_load = await reflex.changes(plant, "opcua", REFLEX_TRIALS)
            under_load, load_rates = await _reflex_under_load(ctx, plant, runtime, window)
    ctx.note(NAME, f"whoami p50 {statistics.median(requests):.3f} ms; live p50 "
                   f"{statistics.median(live):.1f} ms; history median "
                   f"{statistics.median(history):.1f} ms; reflex p99 "
                   f"{reflex.p99(no_load):.1f} ms, under load {reflex.p99(under_load):.1f} ms")
    return {
        "api.request_p99_ms": round(reflex.p99(requests), 3),
        "api.request_p50_ms": round(statistics.median(requests), 3),
        "api.live_latency_p99_ms": round(reflex.p99(live), 2),
        "api.live_latency_p50_ms": round(statistics.median(live), 2),
        "api.opcua_interval_ms": float(INTERVAL_MS),
        "api.history_24h_ms": round(statistics.median(history), 2),
        "api.history_24h_max_ms": round(max(history), 2),
        "api.reflex_p99_no_load_ms": round(reflex.p99(no_load), 2),
        "api.reflex_p99_under_load_ms": round(reflex.p99(under_load), 2),
        **load_rates,
    }


async def _connected(client: RuntimeClient) -> None:
    """Wait until the runtime has every connection of its project up."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        states = {c["connection"]: c["state"] for c in (await client.status())["connections"]}
        if states and all(s == "connected" for s in states.values()):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"the runtime did not connect to the plant: {states}")
        await asyncio.sleep(0.1)


async def _timed(count: int, warmup: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    """Milliseconds of `count` calls made one after the other, after `warmup` untimed."""
    times = []
    for i in range(warmup + count):
        began = time.perf_counter()
        await call()
        if i >= warmup:
            times.append((time.perf_counter() - began) * 1000)
    return times


async def _live_latencies(plant: SimPlant, client: RuntimeClient) -> list[float]:
    """Milliseconds from a change served by the plant to its tag event at the client."""
    _, signal, _, _ = reflex.project(plant, "opcua")
    subscription = await client.subscribe(f"tags/{HISTORY_TAG}")
    rng = random.Random(11)
    latencies = []
    try:
        for i in range(LIVE_WARMUP + LIVE_TRIALS):
            value = (12.0, 18.0)[i % 2]
            subscription.pending()
            t0 = await plant.override(signal, value)
            await _event_with(subscription, value)
            if i >= LIVE_WARMUP:
                latencies.append((time.monotonic() - t0) * 1000)
            await asyncio.sleep(rng.uniform(*LIVE_GAP_S))
    finally:
        await subscription.close()
        await plant.release(signal)
    return latencies


async def _event_with(subscription: Subscription, value: float) -> None:
    """Wait for the subscription's event carrying `value` (earlier ones are passed over)."""
    async with asyncio.timeout(5):
        while True:
            event = await subscription.next()
            if event.topic != DROPPED and event.data["value"] == value:
                return


async def _in_client_process(runtime: RuntimeProcess, setup: dict[str, Any]
                             ) -> dict[str, list[float]]:
    """Request and history times measured by `timing_main` in a process of its own."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bench.api import timing_main; timing_main()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    setup = {"url": runtime.url, "token": runtime.token, **setup}
    out, _ = await asyncio.wait_for(child.communicate(json.dumps(setup).encode()), 300)
    said = json.loads(out or b'{"error": "no answer"}')
    if "error" in said:
        raise BenchError(f"the timing client failed: {said['error']}")
    return said  # type: ignore[no-any-return]


def timing_main() -> None:
    """The timing client: the setup as JSON on stdin, {"requests": [ms], "history": [ms]}
    (or {"error": ...}) as JSON on stdout."""
    setup = json.loads(sys.stdin.read())
    try:
        times: dict[str, Any] = asyncio.run(_timings(setup))
    except WrongResults as exc:
        times = {"error": f"wrong results: {exc}"}
    except Exception as exc:
        times = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(times), flush=True)


async def _timings(setup: dict[str, Any]) -> dict[str, list[float]]:
    async with RuntimeClient(setup["url"], Credentials(token=setup["token"])) as client:
        requests = await _timed(REQUESTS, REQUEST_WARMUP, client.who)
        window = tuple(setup["window"])

        async def checked_history() -> None:
            reply = await client.history([HISTORY_TAG], *window, HISTORY_WIDTH)
            check_history(reply, setup["low"], setup["high"])
        history = await _timed(HISTORY_RUNS, 1, checked_history)
    return {"requests": requests, "history": history}


def check_history(reply: dict[str, Any], low: float, high: float) -> None:
    """The 24 h answer holds every seeded sample in its buckets, and the seeded extremes."""
    buckets = reply["series"][HISTORY_TAG]
    count = sum(buckets["count"])
    found_low, found_high = min(buckets["min"]), max(buckets["max"])
    if (len(buckets["count"]) != HISTORY_WIDTH or count != DAY_S
            or not np.isclose(found_low, low) or not np.isclose(found_high, high)):
        raise WrongResults(f"history.query of 24 h: {len(buckets['count'])} buckets, {count} "
                           f"samples, range {found_low}..{found_high}; expected "
                           f"{HISTORY_WIDTH} buckets, {DAY_S} samples, range {low}..{high}")


# -- reflex under load -----------------------------------------------------------------------


async def _reflex_under_load(ctx: Context, plant: SimPlant, runtime: RuntimeProcess,
                             window: tuple[float, float]
                             ) -> tuple[list[float], dict[str, float]]:
    """Reflex latencies while another process loads the runtime with 24 h history queries
    and backtests; and the loads' rates."""
    setup = {"url": runtime.url, "token": runtime.token, "window": window}
    loads = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bench.api import load_main; load_main()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert loads.stdin is not None and loads.stdout is not None
    try:
        loads.stdin.write(json.dumps(setup).encode() + b"\n")
        await loads.stdin.drain()
        said = await asyncio.wait_for(loads.stdout.readline(), CONNECT_TIMEOUT_S)
        if said.strip() != b"started":
            raise BenchError(f"the load clients did not start: {said.decode()!r}")
        began = time.monotonic()
        latencies = await reflex.changes(plant, "opcua", REFLEX_TRIALS)
        seconds = time.monotonic() - began
        loads.stdin.close()
        counts = json.loads(await asyncio.wait_for(loads.stdout.readline(), 300))
        if "error" in counts:
            raise BenchError(f"the load clients failed: {counts['error']}")
    finally:
        if loads.returncode is None:
            loads.kill()
        await loads.wait()
    ctx.note(NAME, f"under load: {counts['history']} history queries, {counts['backtest']} "
                   f"backtests in {seconds:.1f} s of reflex trials")
    return latencies, {"api.load_history_queries_per_s": round(counts["history"] / seconds, 2),
                       "api.load_backtests_per_s": round(counts["backtest"] / seconds, 3)}


def load_main() -> None:
    """The load clients, in a process of their own so that their work is not the plant's:
    the setup as a JSON line on stdin; "started" on stdout once the loads run; they stop
    when stdin closes, and print their counts (or {"error": ...}) as a JSON line."""
    setup = json.loads(sys.stdin.readline())
    try:
        counts: dict[str, Any] = asyncio.run(_loads(setup["url"], setup["token"],
                                                    tuple(setup["window"])))
    except Exception as exc:
        counts = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(counts), flush=True)


async def _loads(url: str, token: str, window: tuple[float, float]) -> dict[str, int]:
    """Query the 24 h (and back-test it) back to back until stdin closes; the counts."""
    counts = {"history": 0, "backtest": 0}
    stop = asyncio.Event()

    async def history(client: RuntimeClient) -> None:
        while not stop.is_set():
            await client.history([HISTORY_TAG], *window, HISTORY_WIDTH)
            if not counts["history"]:
                print("started", flush=True)
            counts["history"] += 1

    async def backtests(client: RuntimeClient) -> None:
        while not stop.is_set():
            await client.backtest(BACKTEST_FLOW, *window, timeout=300)
            counts["backtest"] += 1

    def wait_for_eof(loop: asyncio.AbstractEventLoop) -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    # A daemon thread: a load that fails ends the process without waiting for stdin.
    threading.Thread(target=wait_for_eof, args=(asyncio.get_running_loop(),),
                     daemon=True).start()
    credentials = Credentials(token=token)
    async with RuntimeClient(url, credentials) as first, RuntimeClient(url, credentials) as second:
        await asyncio.gather(history(first), backtests(second))
    return counts


# -- fan-out -----------------------------------------------------------------------------


class Counter:
    """A client's subscription to every tag, consumed as it arrives and counted."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.updates = 0
        self.dropped = 0
        self.tags: set[str] = set()
        self._task = asyncio.create_task(self._consume(), name="bench-api-counter")

    @property
    def lost(self) -> int:
        """Updates lost, by the runtime (a slow client) or by the client's own queue."""
        return self.dropped + self.subscription.dropped

    async def _consume(self) -> None:
        async for event in self.subscription:
            if event.topic == DROPPED:
                self.dropped += event.data["count"]
            else:
                self.updates += 1
                self.tags.add(event.topic)

    async def stop(self) -> None:
        """Stop consuming."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _counters(runtime: RuntimeProcess, count: int) -> list[Counter]:
    """`count` new clients, each subscribed to every tag and counting, once every one has
    received every tag (a tag's first update is its retained value or its first sample)."""
    counters = [Counter(await (await runtime.client()).subscribe("tags/*"))
                for _ in range(count)]
    deadline = time.monotonic() + 2 * CONNECT_TIMEOUT_S
    while any(len(c.tags) < FANOUT_TAGS for c in counters):
        if time.monotonic() > deadline:
            raise BenchError(f"the clients saw {[len(c.tags) for c in counters]} tags of "
                             f"{FANOUT_TAGS} within {2 * CONNECT_TIMEOUT_S:g} s")
        await asyncio.sleep(0.5)
    return counters


async def _cpu_pct(process: psutil.Process, seconds: float) -> float:
    """The process's CPU over the next `seconds`, in % of one core."""
    before, began = process.cpu_times(), time.monotonic()
    await asyncio.sleep(seconds)
    after, wall = process.cpu_times(), time.monotonic() - began
    return 100 * (after.user + after.system - before.user - before.system) / wall


async def _fanout(ctx: Context, folder: Path, endpoints: dict[str, Any]) -> dict[str, float]:
    """The 1,000-tag runtime's CPU with no client, then with FANOUT_CLIENTS subscribed."""
    handle = RuntimeProcess.prepare(folder, load.project(endpoints), node_id="bench-api-fanout",
                                    api=API_SETTINGS, store=PRODUCTION_STORE)
    async with running(handle) as runtime:
        process = psutil.Process(runtime.pid)
        (probe,) = await _counters(runtime, 1)
        await probe.stop()
        await probe.subscription.client.close()
        ctx.note(NAME, f"fan-out runtime pid {runtime.pid}: all {FANOUT_TAGS} tags arrive; "
                       f"{FANOUT_IDLE_S:g} s with no client, then {FANOUT_CLIENTS} clients")
        idle = await _cpu_pct(process, FANOUT_IDLE_S)
        counters = await _counters(runtime, FANOUT_CLIENTS)
        try:
            await asyncio.sleep(FANOUT_SETTLE_S)
            before = [(c.updates, c.lost) for c in counters]
            began = time.monotonic()
            busy = await _cpu_pct(process, FANOUT_MEASURE_S)
            seconds = time.monotonic() - began
            rates = [(c.updates - u) / seconds for c, (u, _) in zip(counters, before,
                                                                     strict=True)]
            lost = [c.lost - d for c, (_, d) in zip(counters, before, strict=True)]
        finally:
            for counter in counters:
                await counter.stop()
    ctx.note(NAME, f"fan-out: updates/s per client {min(rates):,.0f}..{max(rates):,.0f}, "
                   f"lost {sum(lost)}; runtime CPU {busy:.1f} % (no client: {idle:.1f} %)")
    if min(rates) < FANOUT_FLOOR or any(lost):
        raise WrongResults(f"fan-out: {FANOUT_FLOOR:g} updates/s wanted at every client, got "
                           f"{[round(r) for r in rates]}, lost {lost}")
    return {"api.fanout_10x1000_cpu_pct": round(busy, 2),
            "api.fanout_0_clients_cpu_pct": round(idle, 2),
            "api.fanout_updates_per_s_min": round(min(rates), 1)}
