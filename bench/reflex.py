"""Reflex latency: from a value change in the simulator to the rule's write observed there.

The simulated plant and the runtime run in one process (one event loop, as on a panel PC
where both share a core); the plant stamps the change and the arriving write with
time.monotonic(), so the latency includes the protocol, the driver, the engine and the
write path. OPC UA: subscription at a 10 ms publishing interval. Modbus: a 20 ms poll.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Context, Metric
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.sim.plant import SimPlant
from runtime.store import Store

TRIALS = 300
WARMUP = 20
OPCUA_INTERVAL_MS = 10
MODBUS_INTERVAL_MS = 20
ALLOWANCE_MS = 10  # the goal: p99 within the publish/poll interval + 10 ms

NAME = "reflex"
METRICS = tuple(
    metric
    for protocol, interval in (("opcua", OPCUA_INTERVAL_MS), ("modbus", MODBUS_INTERVAL_MS))
    for metric in (
        Metric(f"reflex.{protocol}.p50_ms", "ms"),
        Metric(f"reflex.{protocol}.p99_ms", "ms", at_most=interval + ALLOWANCE_MS),
        Metric(f"reflex.{protocol}.max_ms", "ms"),
        Metric(f"reflex.{protocol}.interval_ms", "ms"),
    )
)
RATIOS = ()


def project(plant: SimPlant, protocol: str) -> tuple[dict[str, Any], str, str, str]:
    """The reflex project: trigger tag → expression → write; returns (doc, trigger signal,
    written address, expression)."""
    doc: dict[str, Any] = {
        "schema": "lineside.project/1", "name": f"reflex {protocol}",
        "connections": [
            {"id": "plc", "kind": "opcua", "endpoint": plant.opcua_url,
             "publishing_interval_ms": OPCUA_INTERVAL_MS},
            {"id": "vfd", "kind": "modbus", "host": plant.modbus_host,
             "port": plant.modbus_port, "poll_ms": MODBUS_INTERVAL_MS},
        ],
        "tags": [
            {"id": "trigger", "connection": "plc", "address": "ns=2;s=P101.Vibration",
             "type": "float64"},
            {"id": "target", "connection": "plc", "address": "ns=2;s=P101.SpeedSetpoint",
             "type": "float64", "writable": True, "envelope": {"min": 30, "max": 50}},
        ],
        "flows": [{"id": "reflex", "nodes": [
            {"id": "src", "type": "source.tag", "params": {"tag": "trigger"}},
            {"id": "calc", "type": "math.expression", "params": {"expression": "60 - a"}},
            {"id": "write", "type": "action.write", "params": {"tag": "target"}},
        ], "wires": [{"from": "src:out", "to": "calc:a"},
                     {"from": "calc:out", "to": "write:in"}]}],
    }
    if protocol == "opcua":
        return doc, "P101.Vibration", "ns=2;s=P101.SpeedSetpoint", "60 - a"
    doc["tags"] = [
        {"id": "trigger", "connection": "vfd", "address": "ir:9", "type": "int16",
         "scaling": {"raw_min": 0, "raw_max": 10, "eng_min": 0, "eng_max": 1}},
        {"id": "target", "connection": "vfd", "address": "hr:0", "type": "float32",
         "writable": True, "envelope": {"min": 30, "max": 50}},
    ]
    doc["flows"][0]["nodes"][1]["params"]["expression"] = "a"
    return doc, "VFD.DriveTemp", "hr:0", "a"


async def measure(protocol: str, trials: int = TRIALS) -> list[float]:
    """Latencies in ms of `trials` value changes through a live runtime."""
    with tempfile.TemporaryDirectory() as tmp:
        async with SimPlant(seed=1, tick_s=1.0) as plant, Store(Path(tmp) / "db") as store:
            return await _measure(plant, store, protocol, trials)


async def _measure(plant: SimPlant, store: Store, protocol: str, trials: int) -> list[float]:
    """The trials against a started plant, with the runtime recording into `store`."""
    doc, _, _, _ = project(plant, protocol)
    runtime = Runtime(NodeRegistry.with_builtins(plugins=False), store)
    try:
        await runtime.start(doc)
        for hub in runtime.hubs.values():
            await hub.wait_connected(10)
        gc.collect()
        gc.freeze()  # as the runtime process does after start-up
        return await changes(plant, protocol, trials)
    finally:
        await runtime.stop()
        gc.unfreeze()


async def changes(plant: SimPlant, protocol: str, trials: int = TRIALS) -> list[float]:
    """Latencies in ms of `trials` value changes (after WARMUP more) to the rule's write, by
    whatever runtime runs the reflex project (`project`) on `plant`."""
    _, signal, address, _ = project(plant, protocol)
    values = (42.0, 48.0) if protocol == "modbus" else (12.0, 18.0)
    expected = {12.0: 48.0, 18.0: 42.0, 42.0: 42.0, 48.0: 48.0}
    latencies: list[float] = []
    rng = random.Random(7)
    for i in range(trials + WARMUP):
        value = values[i % 2]
        t0 = await plant.override(signal, value)
        want = expected[value]
        write = await plant.wait_for_write(
            lambda w, want=want: w.address == address and abs(w.value - want) < 1e-3,
            timeout=5, since=t0)
        if i >= WARMUP:
            latencies.append((write.monotonic_ts - t0) * 1000)
        await asyncio.sleep(rng.uniform(0.02, 0.06))
    return latencies


def p99(values: list[float]) -> float:
    """The 99th percentile (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def run(ctx: Context) -> dict[str, float]:
    """Measure both protocols; metric name → number."""
    logging.getLogger("lineside.audit").setLevel(logging.WARNING)
    results: dict[str, float] = {}
    for protocol, interval in (("opcua", OPCUA_INTERVAL_MS), ("modbus", MODBUS_INTERVAL_MS)):
        latencies = asyncio.run(measure(protocol))
        ctx.note(NAME, f"{protocol}: {len(latencies)} changes measured")
        results[f"reflex.{protocol}.p50_ms"] = round(statistics.median(latencies), 2)
        results[f"reflex.{protocol}.p99_ms"] = round(p99(latencies), 2)
        results[f"reflex.{protocol}.max_ms"] = round(max(latencies), 2)
        results[f"reflex.{protocol}.interval_ms"] = float(interval)
    return results
