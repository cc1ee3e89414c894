"""Every operation of the control API through the real client, against a real runtime
process on the simulated plant (no in-process shortcuts)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from runtime.client import ErrorCode, RuntimeClient
from runtime.contracts.api import PROTOCOL
from tests.fixtures.api import RuntimeProcess, refused, until, user_of


async def test_session_status_and_node_types(api_runtime: RuntimeProcess):
    client = await api_runtime.client("viewer")
    assert client.hello is not None and client.hello.protocol == PROTOCOL
    assert client.hello.node_id == "test-node-1"
    assert client.whoami == {"user": user_of("viewer"), "role": "viewer", "via": "password",
                             "subscriptions": []}
    status = await client.status()
    assert status["node_id"] == "test-node-1" and status["project"] == "test pump"
    assert {c["connection"] for c in status["connections"]} == {"plc", "vfd"}
    assert {f["id"]: f["state"] for f in status["flows"]} == {"temp_high": "running",
                                                              "vib_rms": "running"}
    assert "api-topics" in {t["name"] for t in status["tasks"]}
    node_types = {spec["type"]: spec for spec in (await client.node_types())["node_types"]}
    assert node_types["logic.hysteresis"]["params"][0]["tunable"] is True
    assert node_types["action.write"]["role"] == "action"
    await client.logout()
    await refused(client.status(), ErrorCode.UNAUTHENTICATED)


async def test_project_validate_deploy_versions_diff_and_rollback(api_runtime: RuntimeProcess):
    client = await api_runtime.client("engineer")
    current = await client.project()
    assert current["number"] == 1 and current["running"] is True
    doc = current["document"]
    assert (await client.validate(doc)) == {"problems": []}
    broken = copy.deepcopy(doc)
    broken["flows"][0]["nodes"][1]["params"]["off_below"] = "low"
    assert (await client.validate(broken))["problems"] == [
        {"path": "$.flows[0].nodes[1].params.off_below",
         "message": "must be a number, found 'low'"}]
    error = await refused(client.deploy(broken), ErrorCode.INVALID)
    assert [d.path for d in error.details] == ["$.flows[0].nodes[1].params.off_below"]

    changed = copy.deepcopy(doc)
    changed["flows"][0]["nodes"][1]["params"]["on_above"] = 72
    deployed = await client.deploy(changed, base_version=1, comment="raise the limit")
    assert deployed["version"] == 2 and deployed["started"] == ["temp_high"]
    assert deployed["kept"] == ["vib_rms"]
    # someone deploys from version 1 again: a conflict naming version 2
    error = await refused(client.deploy(doc, base_version=1), ErrorCode.CONFLICT)
    assert "version 2 (by engineer-user)" in error.message
    versions = (await client.versions())["versions"]
    assert [(v["number"], v["user"], v["comment"]) for v in versions] == [
        (2, user_of("engineer"), "raise the limit"), (1, "runtime", "start")]
    changes = (await client.diff(1, 2))["changes"]
    assert changes == [{"path": "flows/temp_high/nodes/hyst/params/on_above",
                        "kind": "changed", "old": 70, "new": 72}]
    rolled = await client.rollback(1)  # version 1's document again, as version 3
    assert rolled["version"] == 3 and rolled["started"] == ["temp_high"]
    again = await client.project()
    assert again["document"] == doc and again["comment"] == "rollback to version 1"
    await refused(client.project(9), ErrorCode.NOT_FOUND)
    audit = (await client.audit(0, time.time() + 10, action="rollback"))["records"]
    assert [(a["user"], a["role"], a["result"]) for a in audit] == [
        (user_of("engineer"), "engineer", "ok")]


async def test_tags_read_write_browse_and_subscriptions(api_runtime: RuntimeProcess,
                                                        sim_plant):
    operator = await api_runtime.client("operator")
    engineer = await api_runtime.client("engineer")
    tags = {t["id"]: t for t in (await operator.tags())["tags"]}
    assert tags["VFD.speed_sp"]["envelope"] == {"min": 30.0, "max": 50.0, "max_step": 10.0,
                                                "min_interval_s": 0.0}
    await until(lambda: _good(operator, "P101.vibration"), 10, "a good vibration value")
    subscription = await operator.subscribe("tags/P101.*")
    first = await subscription.next(5)
    assert first.topic.startswith("tags/P101.") and set(first.data) == {"ts", "value",
                                                                         "quality"}
    await sim_plant.override("P101.Vibration", 4.25)
    async for update in subscription:
        if update.topic == "tags/P101.vibration" and update.data["value"] == 4.25:
            break
    await subscription.close()

    written = await operator.write("VFD.speed_sp", 42.5)
    assert written == {"tag": "VFD.speed_sp", "value": 42.5}
    write = await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=5)
    assert write.value == pytest.approx(42.5)
    error = await refused(operator.write("VFD.speed_sp", 80), ErrorCode.REFUSED)
    assert "80 is outside the envelope 30 to 50" in error.message
    await refused(operator.write("P101.vibration", 1), ErrorCode.REFUSED)  # not writable
    await refused(operator.write("nope", 1), ErrorCode.NOT_FOUND)
    audit = (await operator.audit(0, time.time() + 10, action="write"))["records"]
    assert [(a["target"], a["user"], a["result"]) for a in audit if a["cause"] == "person"] == [
        ("VFD.speed_sp", user_of("operator"), "ok"),
        ("VFD.speed_sp", user_of("operator"), "refused"),
        ("P101.vibration", user_of("operator"), "refused")]

    browsed = await engineer.browse("plc")
    line = next(n for n in browsed["nodes"] if n["browse_name"] == "PumpLine")
    assert browsed["kind"] == "opcua" and line["node_class"] == "Object"
    inside = await engineer.browse("plc", line["node_id"])  # one level down, live
    assert inside["nodes"] and all(n["node_id"] for n in inside["nodes"])
    modbus = await engineer.browse("vfd")
    assert {n["node_id"] for n in modbus["nodes"]} >= {"hr:0", "ir:0"}
    await refused(engineer.browse("nowhere"), ErrorCode.NOT_FOUND)


async def test_alarms_line_mode_history_events_models_and_sync(api_runtime: RuntimeProcess,
                                                               sim_plant):
    operator = await api_runtime.client("operator")
    alarms_topic = await operator.subscribe("alarms")
    line_topic = await operator.subscribe("line")
    assert (await line_topic.next(5)).data == {"mode": "automatic"}
    sim_plant.inject("bearing_wear", rate=1.0)
    while True:
        update = await alarms_topic.next(30)
        if any(a["alarm"] == "P101.VIB_HIGH" for a in update.data):
            break
    listed = {a["alarm"]: a for a in (await operator.alarms())["alarms"]}
    assert listed["P101.VIB_HIGH"]["state"] == "active-unacked"
    acked = await operator.ack("P101.VIB_HIGH", "bearing being checked")
    assert (acked["state"], acked["ack_user"], acked["ack_note"]) == (
        "active-acked", user_of("operator"), "bearing being checked")
    shelved = await operator.shelve("P101.VIB_HIGH", 600, "during the repair")
    assert shelved["state"] == "shelved" and shelved["shelved_by"] == user_of("operator")
    assert (await operator.unshelve("P101.VIB_HIGH"))["state"] == "active-unacked"
    await refused(operator.ack("P101.NONE"), ErrorCode.NOT_FOUND)

    assert await operator.set_line_mode("manual", "maintenance") == {
        "mode": "manual", "cancelled_writes": 0}
    assert (await line_topic.next(5)).data == {"mode": "manual"}
    assert await operator.stop_ai_writes() == {"mode": "manual", "cancelled_writes": 0}

    now = time.time()
    history = await operator.history(["P101.vibration", "VFD.speed"], now - 60, now + 1, 100)
    assert set(history["series"]) == {"P101.vibration", "VFD.speed"}
    assert history["series"]["P101.vibration"]
    events = (await operator.events(now - 120, now + 10, kinds=["alarm.raised"]))["events"]
    assert "P101.VIB_HIGH" in {e["data"]["alarm"] for e in events}
    models = (await operator.models())["models"]
    assert [(m["key"], m["open"]) for m in models] == [("pump_health@1", False)]
    sync = await operator.sync_status()
    assert sync["broker_state"] == "disabled" and sync["queue_records"] > 0
    backlog = await operator.sync_backlog(hours=1)  # recorded every second since the start
    assert backlog["period_s"] == 30.0 and backlog["ts"]
    assert len(backlog["ts"]) == len(backlog["records"]) == len(backlog["oldest_age_s"])
    assert backlog["records"][-1] > 0  # no broker: the outbox only grows
    await refused(operator.history(["P101.vibration"], now, now - 5, 10),
                  ErrorCode.BAD_REQUEST)


async def _good(client: RuntimeClient, tag: str) -> bool:
    value = (await client.read([tag]))["values"][tag]
    return value is not None and value["quality"] == 0


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=1)[:2000]
