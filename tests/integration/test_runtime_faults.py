"""The runtime under faults: a flow whose model raises for ten minutes, deploys racing each
other and the line mode, a store that can't save, a password change, a redeploy right after
an alarm, shadow runs across a restart."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

from runtime.ai import ModelSessions, builtin_models, read_model
from runtime.contracts import GOOD, EventKind, Sample, ValidationFailed
from runtime.registry import NodeRegistry
from runtime.service import DeployRefused, Runtime
from runtime.store import Store, StoreConfig
from tests.integration.test_runtime import project_for, until
from tests.integration.test_shadow_compare import slowdown
from tests.projects import with_changes
from tests.unit.test_engine_failures import (
    SIM_MINUTES,
    failing_model,
    fault_project,
    registry_with_plugins,
    samples_at,
)


class SimClock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self) -> None:
        self.now = round(time.time())

    def __call__(self) -> float:
        return self.now


FAST = StoreConfig(commit_interval_s=0.05)


@asynccontextmanager
async def running(path: Path, doc: dict[str, Any] | None, config: StoreConfig = FAST,
                  registry: NodeRegistry | None = None,
                  **options: Any) -> AsyncIterator[Runtime]:
    """A started Runtime (built-in node types unless `registry` is given) on a store at
    `path`, stopped on the way out; its store stays open as `runtime.store` until then."""
    async with Store(path, config) as store:
        runtime = Runtime(registry or NodeRegistry.with_builtins(), store, **options)
        await runtime.start(doc)
        try:
            yield runtime
        finally:
            await runtime.stop()


def audits(store: Store, action: str) -> list[Any]:
    store.flush_future().result(10)
    return store.audit_records(0, float("inf"), action=action)


async def test_a_flow_whose_model_raises_for_ten_minutes_fails_alone(
        sim_plant, faulty_plugin, tmp_path, caplog):
    doc = fault_project()
    doc["connections"].append({"id": "vfd", "kind": "modbus", "host": sim_plant.modbus_host,
                               "port": sim_plant.modbus_port, "poll_ms": 100})
    doc["tags"][-1].update(connection="vfd", address="hr:0", type="float32")
    clock = SimClock()
    caplog.set_level(logging.ERROR, logger="runtime.engine.engine")
    with ModelSessions() as sessions:
        demo = builtin_models()[0]
        sessions.load(demo.info, demo.path)
        broken = failing_model(tmp_path)
        sessions.load(read_model(broken), broken)
        async with running(tmp_path / "lineside.db", doc, registry=registry_with_plugins(),
                           clock=clock, models=sessions) as runtime:
            await until(lambda: (runtime.engine.tag_values.get("VFD.speed_sp") or
                                 (0, 0, 3))[2] == GOOD, 10, "the setpoint's read-back")
            for second in range(SIM_MINUTES * 60):
                clock.now += 1
                temp = 65.0 if second % 120 >= 60 else 55.0
                runtime.ingest([Sample(tag, clock.now, value, GOOD)
                                for tag, value in samples_at(temp)])
                runtime.advance()
                await asyncio.sleep(0)  # the write worker and the hubs run meanwhile
            await runtime.actions.drain()
            status = runtime.status()
            await runtime.store.flush()
            failed_events = [e for e in runtime.store.events(0, float("inf"))
                             if e.kind == EventKind.FLOW_FAILED]

    flows = {f.id: f for f in status.flows}
    assert {f.id for f in status.failed_flows} == {"broken", "after_model"}
    assert flows["broken"].errors >= SIM_MINUTES * 60 - 3
    assert flows["broken"].last_error.startswith("ModelFailed: model broken@1")
    assert flows["after_model"].last_error == "RuntimeError: bad node"
    assert flows["broken"].distinct_errors == flows["after_model"].distinct_errors == 1
    assert (flows["health"].state, flows["slowdown"].state) == ("running", "running")
    # the other flows kept scoring and writing all ten minutes
    assert len(runtime.engine.flows["health"].nodes["scores"].got) >= SIM_MINUTES * 60 - 3
    assert [w.value for w in sim_plant.writes] == [50.0, 45.0] * (SIM_MINUTES // 2)
    assert status.writes_done == SIM_MINUTES and status.writes_failed == 0
    # logged once per distinct error, recorded once as an event; no task crashed
    logged = [r for r in caplog.records if "engine.flow_failed" in r.getMessage()]
    assert len(logged) == 2
    assert sorted(e.flow for e in failed_events) == ["after_model", "broken"]
    assert all(t.crashes == 0 for t in status.tasks)
    assert {t.name for t in status.tasks} >= {"advance", "write-worker", "opcua-hub:plc",
                                              "modbus-hub:vfd"}


async def test_a_redeploy_right_after_a_raise_does_not_raise_again(tmp_path):
    doc = project_for_unreachable()
    clock = SimClock()
    slow = StoreConfig(commit_interval_s=30.0)  # the raise is not committed for a while
    async with running(tmp_path / "lineside.db", doc, slow, clock=clock) as runtime:
        clock.now += 1
        runtime.ingest([Sample("P101.bearing_temp", clock.now, 80.0)])
        changed = with_changes(doc, lambda d: d["flows"][0]["nodes"][1]["params"].update(
            off_below=60))  # the alarm's flow is rebuilt
        result = await runtime.deploy(changed)
        assert result.started == ("temp_high",)
        clock.now += 1
        runtime.ingest([Sample("P101.bearing_temp", clock.now, 81.0)])
        await runtime.store.flush()
        raised = [e for e in runtime.store.events(0, float("inf"))
                  if e.kind == EventKind.ALARM_RAISED]
    assert [e.data["alarm"] for e in raised] == ["P101.TEMP_HIGH"]


async def test_a_store_that_cannot_save_refuses_the_deploy_and_changes_nothing(tmp_path):
    doc = project_for_unreachable()
    async with running(tmp_path / "lineside.db", doc) as runtime:
        store, running_project = runtime.store, runtime.project
        store.set_max_db_bytes(1).result(5)  # as full as a full disk
        for i in range(200):
            runtime.ingest([Sample("P101.vibration", time.time() + i, float(i))])
        await until(lambda: bool(store.status().degraded), 10, "the store degraded")
        changed = with_changes(doc, lambda d: d["flows"].pop())
        started = time.monotonic()
        with pytest.raises(DeployRefused, match=r"the store cannot save a new version "
                                                r"\(disk full\)"):
            await runtime.deploy(changed, user="erik")
        assert time.monotonic() - started < 1.0
        assert runtime.project is running_project
        assert set(runtime.engine.flows) == {"temp_high", "vib_rms"}
        store.set_max_db_bytes(None).result(5)
        refused = [a for a in audits(store, "deploy") if a.result == "refused"]
    assert refused[0].user == "erik" and "disk full" in refused[0].details["error"]


async def test_deploys_and_line_mode_changes_run_one_at_a_time(tmp_path):
    doc = project_for_unreachable()
    async with running(tmp_path / "lineside.db", doc) as runtime:
        first = with_changes(doc, lambda d: d["flows"].pop())
        second = with_changes(doc, lambda d: d["flows"].pop(0))
        deploys = [asyncio.create_task(runtime.deploy(d, comment=c))
                   for d, c in ((first, "first"), (second, "second"))]
        await asyncio.sleep(0)  # the first deploy holds the lock, waiting for the store
        await runtime.set_line_mode("manual", user="anna")
        assert all(d.done() for d in deploys)  # the mode change waited for both
        await asyncio.gather(*deploys)
        assert set(runtime.engine.flows) == {"vib_rms"}
        versions = runtime.store.versions()
        order = [(a.action, a.details.get("comment", a.target))
                 for a in audits(runtime.store, "deploy") + audits(runtime.store, "line_mode")]
    assert [v.comment for v in versions] == ["start", "first", "second"]
    assert order == [("deploy", "start"), ("deploy", "first"), ("deploy", "second"),
                     ("line_mode", "manual")]


async def test_a_refused_deploy_is_audited_with_every_problem(tmp_path):
    doc = project_for_unreachable()

    def break_it(d: dict[str, Any]) -> None:
        d["flows"][0]["nodes"][1]["params"]["off_below"] = "low"
        d["tags"][0]["connection"] = "nowhere"

    async with running(tmp_path / "lineside.db", doc) as runtime:
        with pytest.raises(ValidationFailed) as refused:
            await runtime.deploy(with_changes(doc, break_it), user="erik")
        (record,) = [a for a in audits(runtime.store, "deploy") if a.result == "refused"]
    problems = [{"path": p.path, "message": p.message} for p in refused.value.problems]
    assert len(problems) == 2
    assert record.details["problems"] == problems
    assert {p["path"] for p in problems} == {"$.tags[0].connection",
                                              "$.flows[0].nodes[1].params.off_below"}


async def test_a_password_change_alone_restarts_the_connection(tmp_path):
    server = await _server_with_a_user()
    url = f"opc.tcp://127.0.0.1:{server.bserver.port}/pw"
    doc = {"schema": "lineside.project/1", "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": url, "username": "operator",
         "password": "wrong", "timeout_s": 2}],
        "tags": [{"id": "x", "connection": "plc", "address": "nsu=urn:lineside:pw;s=x",
                  "type": "float64"}], "flows": []}
    try:
        async with running(tmp_path / "lineside.db", doc) as runtime:
            await until(lambda: "BadUserAccessDenied" in getattr(
                runtime.statuses.get("plc"), "last_error", ""), 10, "the login refused")
            fixed = with_changes(doc, lambda d: d["connections"][0].update(password="s3cret"))
            await runtime.deploy(fixed)
            await until(lambda: runtime.statuses["plc"].connected, 10, "connected")
            await until(lambda: runtime.engine.tag_values.get("x", (0, 0, 3))[2] == GOOD,
                        5, "a good value")
    finally:
        await server.stop()


async def test_a_shadow_comparison_survives_a_restart(tmp_path):
    doc = project_for_unreachable()
    doc["tags"].append({"id": "VFD.speed_sp", "connection": "plc", "address": "ns=2;s=Sp",
                        "type": "float64", "writable": True,
                        "envelope": {"min": 30, "max": 50, "max_step": 10}})
    doc["flows"] = [slowdown("slowdown", 7.0, 40.0),
                    slowdown("candidate", 4.0, 42.0, mode="shadow")]
    path = tmp_path / "lineside.db"
    clock = SimClock()
    start = clock.now
    async with running(path, doc, clock=clock) as runtime:
        for vibration in (3.0, 5.0, 8.0):
            clock.now += 1
            runtime.ingest([Sample("VFD.speed_sp", clock.now, 50.0),
                            Sample("P101.vibration", clock.now, vibration)])
        before = await runtime.shadow_comparison("candidate", "slowdown", start, clock.now + 1)
    async with running(path, None, clock=clock) as runtime:  # resumes the last version
        after = await runtime.shadow_comparison("candidate", "slowdown", start, clock.now + 1)
    assert after == before
    assert after.leads["P101.SLOWED"].shadow_earlier_s == 1.0
    assert after.shadow_writes["VFD.speed_sp"].values == (42.0,)


def project_for_unreachable() -> dict[str, Any]:
    """The test pump project with its PLC at an address where nothing listens (samples
    come from the test) and no Modbus device."""
    doc = project_for_plant_at("opc.tcp://127.0.0.1:1")
    doc["connections"] = [c for c in doc["connections"] if c["kind"] == "opcua"]
    doc["tags"] = [t for t in doc["tags"] if t["connection"] == "plc"]
    return doc


def project_for_plant_at(url: str) -> dict[str, Any]:
    class Plant:
        opcua_url, modbus_host, modbus_port = url, "127.0.0.1", 1
    return project_for(Plant)


class _Users:
    def get_user(self, iserver, username=None, password=None, certificate=None):
        if (username, password) == ("operator", "s3cret"):
            return User(role=UserRole.User, name=username)
        return None


async def _server_with_a_user() -> Server:
    server = Server(user_manager=_Users())
    server.disable_clock()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/pw")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    idx = await server.register_namespace("urn:lineside:pw")
    await server.nodes.objects.add_variable(ua.NodeId("x", idx), "x", 1.5)
    await server.start()
    return server

