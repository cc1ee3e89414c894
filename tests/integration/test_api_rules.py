"""Rule tuning through the real client against a real runtime process on the simulated
plant: backtests (result, traces, progress, cancel, bad changes) and shadow copies (start,
compare, promote, stop), each audited with the user."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from runtime.client import ErrorCode
from runtime.store import Store, StoreConfig
from tests.fixtures.api import RuntimeProcess, refused, until, user_of

TEMP = "P101.bearing_temp"


async def recorded(client, tag: str, start: float, count: int) -> None:
    """Wait until the runtime has recorded `count` samples of a tag since `start`."""
    async def enough() -> bool:
        series = (await client.history([tag], start, time.time() + 1, 1))["series"][tag]
        return bool(series["count"]) and series["count"][0] >= count
    await until(enough, 30, f"{count} samples of {tag}")


async def test_a_backtest_replays_changed_parameters_with_traces_and_progress(
        api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    start = time.time()
    await recorded(client, TEMP, start, 20)
    end = time.time()
    # the simulated bearing runs well below 70 °C: as deployed the rule stays quiet, with
    # its limit at -50 °C it would have raised its alarm at the first sample
    as_deployed = await client.backtest("temp_high", start, end, width=100)
    assert as_deployed["alarms_raised"] == 0 and as_deployed["samples"] >= 20
    fractions: list[float] = []
    lowered = await client.backtest("temp_high", start, end,
                                    {"hyst": {"on_above": -50, "off_below": -60}},
                                    width=100, progress=fractions.append)
    assert lowered["alarms_raised"] == 1 and lowered["errors"] == 0
    raised = next(e for e in lowered["events"] if e["kind"] == "alarm.raised")
    assert raised["data"]["alarm"] == "P101.TEMP_HIGH" and start <= raised["ts"] < end
    assert fractions and fractions[-1] <= 1.0
    # traces: the source's output follows the recorded temperature, the hysteresis is on
    traces = lowered["traces"]
    assert set(traces) >= {"src:out", "hyst:out"}
    assert 1 <= len(traces["src:out"]["count"]) <= 100
    recorded_series = (await client.history([TEMP], start, end, 1))["series"][TEMP]
    assert min(traces["src:out"]["min"]) == pytest.approx(recorded_series["min"][0])
    assert set(traces["hyst:out"]["max"]) == {1.0}
    # nothing was deployed and nothing raised live
    assert (await client.project())["number"] == 1
    assert not [a for a in (await client.alarms())["alarms"] if a["alarm_id"] == "P101.TEMP_HIGH"]


async def test_a_backtest_with_a_bad_change_names_it_and_a_viewer_may_not_run_one(
        api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    now = time.time()
    error = await refused(client.backtest("temp_high", now - 60, now,
                                          {"hyst": {"on_above": "hot"}}), ErrorCode.INVALID)
    assert [d.path for d in error.details] == ["$.flows[0].nodes[1].params.on_above"]
    error = await refused(client.backtest("temp_high", now - 60, now, {"nope": {"x": 1}}),
                          ErrorCode.INVALID)
    assert "has no node 'nope'" in error.details[0].message
    error = await refused(client.backtest("no_such_flow", now - 60, now), ErrorCode.INVALID)
    assert "no flow 'no_such_flow'" in error.details[0].message
    await refused(client.backtest("temp_high", now, now - 60), ErrorCode.BAD_REQUEST)
    viewer = await api_runtime.client("viewer")
    await refused(viewer.backtest("temp_high", now - 60, now), ErrorCode.FORBIDDEN)


def seed_week(database, tag: str, end: float) -> int:
    """A week of 1 Hz history of a tag, written before the runtime starts."""
    seconds = 7 * 86_400
    ts = end - seconds + np.arange(seconds, dtype=np.float64)
    values = (55 + 5 * np.sin(ts / 3600)).tolist()
    with Store(database, StoreConfig()) as store:
        for a in range(0, seconds, 20_000):
            while not store.append_columns(tag, ts[a:a + 20_000], values[a:a + 20_000]):
                store.flush_future().result()
        store.flush_future().result()
    return seconds


async def test_a_long_backtest_reports_progress_and_can_be_cancelled_while_the_plant_runs(
        runtime_process):
    runtime: RuntimeProcess = await runtime_process()
    await runtime.stop()
    week_end = time.time() - 60
    seed_week(runtime.data_dir / "lineside.db", TEMP, week_end)
    await runtime.start()
    client = await runtime.client("engineer")
    watcher = await runtime.client("viewer")
    live = await watcher.subscribe(f"tags/{TEMP}")
    fractions: list[float] = []
    run = client.backtest("temp_high", week_end - 7 * 86_400, week_end,
                          {"hyst": {"on_above": 58, "off_below": 54}}, run="week",
                          progress=fractions.append)
    task = asyncio.ensure_future(run)

    async def progressing() -> bool:
        return bool(fractions) or task.done()
    await until(progressing, 60, "the backtest's first progress")
    assert not task.done(), task.result()
    await client.cancel_backtest("week")
    error = await refused(task, ErrorCode.CANCELLED)
    assert "week" in error.message
    assert fractions[-1] < 1.0
    # the runtime served live values all along (the backtest ran in its own process)
    assert len(live.pending()) >= 1
    await refused(client.cancel_backtest("week"), ErrorCode.NOT_FOUND)
    # another runs after it (the slot was given back)
    done = await client.backtest("temp_high", week_end - 3600, week_end)
    assert done["samples"] == 3600


async def test_a_shadow_starts_compares_and_is_promoted_as_versions_audited_with_the_user(
        api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    started = await client.start_shadow("temp_high", {"hyst": {"on_above": -50,
                                                               "off_below": -60}},
                                        comment="try a lower limit")
    assert started["shadow"] == "temp_high.shadow" and started["version"] == 2
    assert started["started"] == ["temp_high.shadow"]
    assert set(started["kept"]) == {"temp_high", "vib_rms"}
    await refused(client.start_shadow("temp_high"), ErrorCode.INVALID)  # one at a time
    flows = {f["id"]: f for f in (await client.project())["document"]["flows"]}
    assert flows["temp_high.shadow"]["mode"] == "shadow"
    assert flows["temp_high.shadow"]["shadow_of"] == "temp_high"

    async def shadow_raised() -> bool:
        compared = await client.compare_shadow("temp_high")
        return bool(compared["comparison"]["only_shadow"])
    await until(shadow_raised, 30, "the shadow to raise its alarm")
    compared = await client.compare_shadow("temp_high")
    assert compared["params"]["hyst"]["on_above"] == -50
    assert any("raised only in shadow" in line for line in compared["summary"])
    # the shadow acts on nothing: no live alarm
    assert not [a for a in (await client.alarms())["alarms"] if a["alarm_id"] == "P101.TEMP_HIGH"]

    viewer = await api_runtime.client("viewer")
    assert (await viewer.compare_shadow("temp_high"))["shadow"] == "temp_high.shadow"
    await refused(viewer.promote_shadow("temp_high"), ErrorCode.FORBIDDEN)

    promoted = await client.promote_shadow("temp_high")
    assert promoted["version"] == 3
    assert promoted["changes"] == {"hyst": {"on_above": -50, "off_below": -60}}
    assert promoted["stopped"] == ["temp_high.shadow"]
    flows = {f["id"]: f for f in (await client.project())["document"]["flows"]}
    assert set(flows) == {"temp_high", "vib_rms"}
    assert flows["temp_high"]["nodes"][1]["params"] == {"on_above": -50, "off_below": -60}
    await refused(client.compare_shadow("temp_high"), ErrorCode.NOT_FOUND)

    # start another and stop it
    await client.start_shadow("temp_high", {"hyst": {"on_above": 90}})
    stopped = await client.stop_shadow("temp_high")
    assert stopped["version"] == 5 and stopped["stopped"] == ["temp_high.shadow"]
    await refused(client.stop_shadow("temp_high"), ErrorCode.INVALID)

    now = time.time()
    audit = (await client.audit(now - 600, now + 1))["records"]
    actions = [(r["action"], r["user"], r["result"]) for r in audit
               if r["action"].startswith("shadow.")]
    assert actions == [("shadow.start", user_of("engineer"), "ok"),
                       ("shadow.start", user_of("engineer"), "refused"),
                       ("shadow.promote", user_of("engineer"), "ok"),
                       ("shadow.start", user_of("engineer"), "ok"),
                       ("shadow.stop", user_of("engineer"), "ok"),
                       ("shadow.stop", user_of("engineer"), "refused")]


async def test_live_debug_shows_each_node_output_at_most_four_times_a_second(
        api_runtime: RuntimeProcess):
    client = await api_runtime.client("viewer")
    debug = await client.subscribe("flows/temp_high/debug")
    first = await debug.next(timeout=10)
    assert first.topic == "flows/temp_high/debug" and first.data["flow"] == "temp_high"
    outputs = first.data["outputs"]
    assert set(outputs) >= {"src:out", "hyst:out"}
    assert isinstance(outputs["src:out"]["value"], float)
    assert outputs["hyst:out"]["value"] is False and outputs["src:out"]["quality"] == 0
    started = time.monotonic()
    count = 0
    while time.monotonic() - started < 3:
        await debug.next(timeout=5)
        count += 1
    assert 2 <= count <= 3 * 4 + 1
    # a redeployed flow is watched again by itself
    engineer = await api_runtime.client("engineer")
    doc = (await engineer.project())["document"]
    doc["flows"][0]["nodes"][1]["params"].update(on_above=-50, off_below=-60)
    await engineer.deploy(doc, base_version=1)

    async def hysteresis_on() -> bool:
        update = await debug.next(timeout=5)
        return update.data["outputs"].get("hyst:out", {}).get("value") is True
    await until(hysteresis_on, 20, "the redeployed flow's output")
    # a late subscriber is current at once (retained); another flow is watched from the
    # moment somebody subscribes to it
    late = await api_runtime.client("viewer")
    retained = await late.subscribe("flows/temp_high/debug")
    assert (await retained.next(timeout=1)).data["flow"] == "temp_high"
    other = await late.subscribe("flows/vib_rms/debug")
    assert (await other.next(timeout=5)).data["flow"] == "vib_rms"
