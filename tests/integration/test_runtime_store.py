"""The runtime records what it reads and does: historian, alarms, audit, versions, restarts."""

from __future__ import annotations

import asyncio

import pytest

from runtime.contracts import GOOD, ValidationFailed
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store
from tests.integration.test_runtime import add_slowdown_flow, project_for, until


async def started(store: Store, doc=None) -> Runtime:
    runtime = Runtime(NodeRegistry.with_builtins(), store)
    await runtime.start(doc)
    return runtime


def good_value(runtime: Runtime, tag: str) -> bool:
    latest = runtime.engine.tag_values.get(tag)
    return latest is not None and latest[2] == GOOD


async def test_samples_reach_the_historian(sim_plant, tmp_path):
    async with Store(tmp_path / "db") as store:
        runtime = await started(store, project_for(sim_plant))
        try:
            await until(lambda: good_value(runtime, "P101.vibration"), 10, "samples")
            await asyncio.sleep(0.5)
        finally:
            await runtime.stop()
        history = store.history("P101.vibration", 0, 2e9)
        assert len(history) >= 3
        assert all(1.0 < s.value < 4.0 and s.quality == GOOD for s in history)
        assert [s.ts for s in history] == sorted(s.ts for s in history)


async def test_rule_writes_deploys_and_mode_changes_are_audited(sim_plant, tmp_path):
    async with Store(tmp_path / "db") as store:
        runtime = await started(store, add_slowdown_flow(project_for(sim_plant)))
        try:
            await until(lambda: good_value(runtime, "VFD.speed_sp"), 10, "VFD setpoint")
            await sim_plant.override("P101.Vibration", 9.0)
            await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=5)
            await runtime.actions.drain()
            await runtime.set_line_mode("manual", user="anna", cause="maintenance")
        finally:
            await runtime.stop()
        records = {r.action: r for r in store.audit_records(0, 2e9)}
        assert records["deploy"].result == "ok" and records["deploy"].details["version"] == 1
        write = records["write"]
        assert (write.target, write.result, write.user, write.cause) == (
            "VFD.speed_sp", "ok", "rule", "flow=slowdown node=write")
        assert write.details["value"] == 40.0
        mode = records["line_mode"]
        assert (mode.target, mode.user, mode.cause) == ("manual", "anna", "maintenance")


async def test_a_restart_resumes_the_project_line_mode_and_alarm_state(sim_plant, tmp_path):
    path = tmp_path / "db"
    async with Store(path) as store:
        runtime = await started(store, project_for(sim_plant))
        try:
            await sim_plant.override("P101.BearingTemp", 80.0)
            await until(lambda: store.alarm("P101.TEMP_HIGH") is not None, 10, "the alarm")
            await runtime.set_line_mode("manual", user="anna")
        finally:
            await runtime.stop()

    async with Store(path) as store:  # a new process: nothing but the data folder is kept
        runtime = await started(store)  # no project given: the last version resumes
        try:
            assert runtime.project is not None and runtime.project.name == "test pump"
            assert runtime.line_mode == "manual"
            await until(lambda: good_value(runtime, "P101.bearing_temp"), 10, "samples")
            assert store.alarm("P101.TEMP_HIGH").state == "active-unacked"  # not raised twice
            raised = [e for e in store.events(0, 2e9) if e.kind == "alarm.raised"]
            assert len(raised) == 1
            await sim_plant.release("P101.BearingTemp")  # cleared while we watch
            await until(lambda: store.alarm("P101.TEMP_HIGH").state == "returned-unacked", 10,
                        "the alarm to return")
        finally:
            await runtime.stop()
        assert [v.number for v in store.versions()] == [1]  # the same document: no new version


async def test_rollback_redeploys_an_earlier_version(sim_plant, tmp_path):
    async with Store(tmp_path / "db") as store:
        first = project_for(sim_plant)
        runtime = await started(store, first)
        try:
            second = add_slowdown_flow(project_for(sim_plant))
            await runtime.deploy(second, user="ben", comment="slow down on vibration")
            assert "slowdown" in runtime.engine.flows
            with pytest.raises(ValidationFailed):
                await runtime.deploy({"schema": "lineside.project/1"}, user="ben")
            result = await runtime.rollback(1, user="ben")
            assert result.stopped == ("slowdown",)
            assert "slowdown" not in runtime.engine.flows
        finally:
            await runtime.stop()
        versions = store.versions()
        assert [(v.number, v.user, v.comment) for v in versions] == [
            (1, "runtime", "start"), (2, "ben", "slow down on vibration"),
            (3, "ben", "rollback to version 1")]
        actions = [(r.action, r.result) for r in store.audit_records(0, 2e9)]
        assert actions == [("deploy", "ok"), ("deploy", "ok"), ("deploy", "refused"),
                           ("rollback", "ok")]


async def test_outbox_over_budget_drops_oldest_counts_and_keeps_running(sim_factory, tmp_path):
    from runtime.store import StoreConfig
    from runtime.sync.config import BrokerConfig
    from runtime.sync.forwarder import Forwarder
    from tests.fixtures.broker import free_port

    plant = await sim_factory(extra_tags=50)
    doc = project_for(plant)
    doc["tags"] += [{"id": f"s{i}", "connection": "plc", "address": f"ns=2;s=Synth.{i:04d}",
                     "type": "float64"} for i in range(50)]
    config = StoreConfig(outbox_max_bytes=64 * 1024, commit_interval_s=0.05,
                         retention_interval_s=0.2)
    async with Store(tmp_path / "db", config) as store:
        away = BrokerConfig(host="127.0.0.1", port=free_port(), backoff_cap_s=1.0)
        runtime = Runtime(NodeRegistry.with_builtins(), store, Forwarder(store, away, "n1"))
        await runtime.start(doc)
        try:
            await until(lambda: store.outbox_stats().dropped_records > 0, 30,
                        "the outbox to drop records over its budget")
            stats = store.outbox_stats()
            assert stats.bytes <= 64 * 1024 + 16 * 1024  # within a chunk of the budget
            before = runtime.samples_in
            await until(lambda: runtime.samples_in > before + 200, 10, "ingest to go on")
            committed = store.status().committed_samples
            await until(lambda: store.status().committed_samples > committed, 10,
                        "the historian to keep recording")
            assert runtime.forwarder.status().broker_state == "unreachable"
            tasks = {t.name: t for t in runtime.status().tasks}
            assert tasks["sync-forwarder:n1"].state == "running"  # supervised with the rest
            assert runtime.status().sync["broker_state"] == "unreachable"
            # Nothing was ever sent and events are kept while samples can go, so every
            # sequence number below the oldest sample chunk left is a dropped sample or a
            # kept event.
            before, chunks, after = (store.outbox_stats(), store.outbox_peek(10**9),
                                     store.outbox_stats())
            oldest = next(c for c in chunks if c.kind == "samples")
            events_before = sum(c.count for c in chunks
                                if c.kind == "events" and c.seq_last < oldest.seq_first)
            assert (before.dropped_records <= oldest.seq_first - events_before
                    <= after.dropped_records)
            assert after.dropped_event_records == 0
        finally:
            await runtime.stop()
