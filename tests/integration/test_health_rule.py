"""The demo's "Pump P-101 health" rule against the real simulated plant: with bearing wear
injected, the anomaly model's alarm rises before the fixed-threshold rules' alarms."""

from __future__ import annotations

import pytest

from runtime.ai.registry import builtin_models
from runtime.ai.sessions import ModelSessions
from runtime.demo import demo_project as shipped_demo_project
from runtime.demo import point_at_sim
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store
from tests.integration.test_runtime import until


def demo_project(plant) -> dict:
    doc = shipped_demo_project()
    point_at_sim(doc, {"opcua_url": plant.opcua_url, "modbus_host": plant.modbus_host,
                       "modbus_port": plant.modbus_port})
    return doc


@pytest.fixture
def sessions():
    with ModelSessions() as sessions:
        for model in builtin_models():
            sessions.load(model.info, model.path)
        yield sessions


@pytest.mark.slow
async def test_health_alarm_leads_the_fixed_threshold_alarms(sim_plant, sessions, tmp_path):
    async with Store(tmp_path / "db") as store:
        runtime = Runtime(NodeRegistry.with_builtins(), store, models=sessions)
        await runtime.start(demo_project(sim_plant))
        try:
            model = runtime.engine.flows["p101_health"].nodes["model"]
            await until(lambda: model.next_index is not None, 10, "the model scoring")
            first = model.next_index
            await until(lambda: model.next_index >= first + 10, 20,
                        "ten seconds of scores on the healthy pump")
            assert store.active_alarms() == []  # the healthy pump raised nothing
            sim_plant.inject("bearing_wear", rate=0.02)
            await until(lambda: store.alarm("P101.VIBRATION_HIGH") is not None, 90,
                        "the fixed vibration alarm")
        finally:
            await runtime.stop()
        raised = {e.data["alarm"]: e.ts for e in store.events(0, 2e9, kinds=["alarm.raised"])}
    assert "P101.HEALTH" in raised
    lead = raised["P101.VIBRATION_HIGH"] - raised["P101.HEALTH"]
    print(f"health alarm leads the vibration RMS alarm by {lead:.1f} s "
          f"(bearing wear rate 0.02/s)")
    assert lead > 5.0
    assert raised.get("P101.BEARING_TEMP_HIGH", float("inf")) > raised["P101.HEALTH"]


MODEL_PARAMS = "$.flows[3].nodes[0].params"


def _expects(index: int, expected: str, found: str) -> tuple[str, str]:
    return (f"{MODEL_PARAMS}.features[{index}].name",
            f"model pump_health@1 expects '{expected}' here, found '{found}'")


@pytest.mark.parametrize("change,problems", [
    (lambda m: m["params"].update(model="pump_health@2"),
     [(f"{MODEL_PARAMS}.model", "unknown model 'pump_health@2'; registered: pump_health@1")]),
    (lambda m: m["params"]["features"].pop(),
     [(f"{MODEL_PARAMS}.features", "model pump_health@1 expects 5 features (vibration_rms, "
       "bearing_temp, motor_current, flow, discharge_pressure); the mapping gives 4")]),
    (lambda m: m["params"]["features"][1].update(tag="P101.bearing_temperature"),
     [(f"{MODEL_PARAMS}.features[1].tag", "unknown tag 'P101.bearing_temperature'")]),
    (lambda m: m["params"]["features"].reverse(),
     [_expects(0, "vibration_rms", "discharge_pressure"), _expects(1, "bearing_temp", "flow"),
      _expects(3, "flow", "bearing_temp"), _expects(4, "discharge_pressure", "vibration_rms")]),
])
def test_a_bad_model_mapping_is_refused_at_deploy_and_nothing_changes(sessions, tmp_path,
                                                                      change, problems):
    from runtime.contracts import ValidationFailed
    from runtime.engine import CaptureSink, Engine

    doc = shipped_demo_project()
    engine = Engine(NodeRegistry.with_builtins(), CaptureSink(), inference=sessions)
    engine.deploy(doc)
    before = (engine.project, dict(engine.flows))
    flow = next(f for f in doc["flows"] if f["id"] == "p101_health")
    change(next(n for n in flow["nodes"] if n["id"] == "model"))
    with pytest.raises(ValidationFailed) as refused:
        engine.deploy(doc)
    assert [(p.path, p.message) for p in refused.value.problems] == problems
    assert (engine.project, engine.flows) == before
