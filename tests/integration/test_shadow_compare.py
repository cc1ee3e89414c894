"""Shadow mode against the simulated plant: a candidate copy of a live flow with a lower
threshold runs beside it, its actions captured, and is compared with the live flow."""

from __future__ import annotations

import time

from runtime.contracts import EventKind
from runtime.engine.compare import writes_from_events
from runtime.engine.replay import backtest
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store, StoreConfig
from tests.integration.test_runtime import project_for, until


def slowdown(flow_id: str, threshold: float, speed: float, mode: str = "live"):
    """Vibration above `threshold` → write `speed` to the VFD and raise P101.SLOWED."""
    return {"id": flow_id, "mode": mode, "nodes": [
        {"id": "vib", "type": "source.tag", "params": {"tag": "P101.vibration"}},
        {"id": "high", "type": "logic.compare", "params": {"op": ">", "threshold": threshold}},
        {"id": "write", "type": "action.write",
         "params": {"tag": "VFD.speed_sp", "on_true": speed, "min_change": 0.5}},
        {"id": "alarm", "type": "alarm", "params": {"alarm_id": "P101.SLOWED",
                                                    "message": "P-101 slowed down"}},
    ], "wires": [{"from": "vib:out", "to": "high:in"}, {"from": "high:out", "to": "write:in"},
                 {"from": "high:out", "to": "alarm:in"}]}


async def test_the_shadow_copy_raises_earlier_and_writes_nothing(sim_plant, tmp_path):
    doc = project_for(sim_plant)
    doc["flows"] = [slowdown("slowdown", 7.0, 40.0),
                    slowdown("candidate", 4.0, 42.0, mode="shadow")]
    async with Store(tmp_path / "db", StoreConfig(commit_interval_s=0.05)) as store:
        runtime = Runtime(NodeRegistry.with_builtins(), store)
        start = time.time()
        await runtime.start(doc)
        try:
            await until(lambda: len(runtime.engine.tag_values) == 6, 10, "every tag")
            sim_plant.inject("bearing_wear", rate=1.0)
            await sim_plant.wait_for_write(lambda w: w.server == "modbus", timeout=10)
            await until(lambda: store.alarm("P101.SLOWED") is not None, 10, "the live alarm")
            await runtime.actions.drain()
        finally:
            await runtime.stop()
        end = time.time()
        result = await runtime.shadow_comparison("candidate", "slowdown", start, end)
        shadow = [e for e in store.events(0, end + 1) if e.flow == "candidate"]
        live_alarm = store.alarm("P101.SLOWED")
        # a backtest of the candidate over the recording does what its shadow run did
        replayed = backtest(doc, "candidate", store, 0, end + 1,
                            registry=NodeRegistry.with_builtins())

    lead = result.leads["P101.SLOWED"]
    assert lead.shadow_earlier_s > 0.1  # vibration passes 4 mm/s before 7 mm/s
    assert (result.only_live, result.only_shadow) == ((), ())
    assert result.live_writes["VFD.speed_sp"].values == (40.0,)
    assert result.shadow_writes["VFD.speed_sp"].values == (42.0,)
    assert result.shadow_writes["VFD.speed_sp"].first_ts == lead.shadow_raised
    # captured, never executed: the plant saw the live write only
    assert [w.value for w in sim_plant.writes] == [40.0]
    assert live_alarm.raised_ts == lead.live_raised  # the shadow moved no alarm state
    # what the shadow would have done is in the store, marked shadow
    assert shadow and all(e.shadow for e in shadow)
    assert {e.kind for e in shadow} == {EventKind.ALARM_RAISED, EventKind.WRITE}
    assert [(e.kind, e.ts, e.node, e.data) for e in replayed.events] == [
        (e.kind, e.ts, e.node, e.data) for e in shadow]
    assert replayed.writes == writes_from_events(shadow)
