"""models.add and models.remove through the real client, against a real runtime process
running the demo project (which uses pump_health@1) on the simulated plant."""

from __future__ import annotations

import base64
import copy
import json
import time
from typing import Any

import pytest

from runtime.client import ErrorCode, RuntimeClient
from runtime.demo import demo_project, point_at_sim
from runtime.shipped import shipped
from tests.fixtures.api import RuntimeProcess, refused, user_of

MODEL = shipped("models", "pump_health-1.onnx")
NEW_KEY = "pump_health_upload@7"


def sidecar(**changes: Any) -> dict[str, Any]:
    """The shipped model's sidecar with some fields changed."""
    return {**json.loads(MODEL.with_suffix(".json").read_text()), **changes}


def using(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """The demo project with its model node using another model."""
    new = copy.deepcopy(doc)
    flow = next(f for f in new["flows"] if f["id"] == "p101_health")
    next(n for n in flow["nodes"] if n["id"] == "model")["params"]["model"] = key
    return new


@pytest.fixture
async def demo_runtime(runtime_process, sim_plant) -> RuntimeProcess:
    """A runtime running the demo project on the test's simulated plant."""
    doc = demo_project()
    point_at_sim(doc, {"opcua_url": sim_plant.opcua_url, "modbus_host": sim_plant.modbus_host,
                       "modbus_port": sim_plant.modbus_port})
    return await runtime_process(project=doc)


async def keys(client: RuntimeClient) -> list[str]:
    return [m["key"] for m in (await client.models())["models"]]


async def test_upload_use_and_remove_a_model(demo_runtime: RuntimeProcess):
    engineer = await demo_runtime.client("engineer")
    doc = (await engineer.project())["document"]
    # the demo project uses the shipped model: it stays
    error = await refused(engineer.remove_model("pump_health@1"), ErrorCode.CONFLICT)
    assert "(flow p101_health, node model)" in error.message

    added = await engineer.add_model(MODEL, sidecar(id="pump_health_upload", version=7))
    assert added["key"] == NEW_KEY and added["features"][0] == "vibration_rms"
    assert added["outputs"] == ["score"] and len(added["hash"]) == 64
    assert await keys(engineer) == ["pump_health@1", NEW_KEY]
    # the same file again changes nothing
    assert (await engineer.add_model(MODEL.read_bytes(), sidecar(
        id="pump_health_upload", version=7)))["key"] == NEW_KEY

    # the running runtime offers it to projects at once: a deploy using it validates
    assert (await engineer.validate(using(doc, NEW_KEY)))["problems"] == []
    await engineer.deploy(using(doc, NEW_KEY), comment="the uploaded model")
    error = await refused(engineer.remove_model(NEW_KEY), ErrorCode.CONFLICT)
    assert error.message == (f"model {NEW_KEY}: is used by the deployed project (flow "
                             "p101_health, node model); remove it from the flows and deploy "
                             "before removing the model")
    await engineer.deploy(doc, comment="back to the shipped model")

    removed = await engineer.remove_model(NEW_KEY)
    assert removed["key"] == NEW_KEY
    assert await keys(engineer) == ["pump_health@1"]
    problems = (await engineer.validate(using(doc, NEW_KEY)))["problems"]
    assert [p["path"] for p in problems] == ["$.flows[3].nodes[0].params.model"]
    await refused(engineer.remove_model(NEW_KEY), ErrorCode.NOT_FOUND)

    now = time.time()
    audit = (await engineer.audit(now - 120, now + 10))["records"]
    model_records = [(r["action"], r["target"], r["result"], r["user"]) for r in audit
                     if r["action"].startswith("model.")]
    assert (("model.add", NEW_KEY, "ok", user_of("engineer")) in model_records)
    assert (("model.remove", NEW_KEY, "ok", user_of("engineer")) in model_records)
    assert any(a == "model.remove" and r == "refused" for a, _, r, _u in model_records)


async def test_a_corrupt_upload_says_what_is_wrong(demo_runtime: RuntimeProcess):
    engineer = await demo_runtime.client("engineer")
    good = sidecar(id="broken", version=1)

    not_base64 = await refused(engineer.request("models.add", {
        "file_name": "broken.onnx", "onnx_base64": "not base64!", "sidecar": good}),
        ErrorCode.INVALID)
    assert "onnx_base64 is not base64" in not_base64.message
    assert [d.path for d in not_base64.details] == ["$.onnx_base64"]

    no_sha = {k: v for k, v in good.items() if k != "sha256"}
    not_onnx = await refused(engineer.add_model(b"this is not a model", no_sha,
                                                file_name="broken.onnx"), ErrorCode.INVALID)
    assert not_onnx.message == "broken.onnx (model broken@1): file is not an ONNX model"

    other_file = await refused(engineer.add_model(b"this is not a model", good,
                                                  file_name="broken.onnx"), ErrorCode.INVALID)
    assert "the metadata is for another file" in other_file.message

    four = sidecar(id="broken", version=1, features=good["features"][:4],
                   units=good["units"][:4])
    mismatch = await refused(engineer.add_model(MODEL, four), ErrorCode.INVALID)
    assert mismatch.message == (
        "model broken@1: expects 5 features, the metadata lists 4 (vibration_rms, "
        "bearing_temp, motor_current, flow)")

    missing = await refused(engineer.add_model(MODEL, {"id": "broken", "version": 1}),
                            ErrorCode.INVALID)
    assert "'input_name' must name the model's input" in missing.message

    # the same model with a field protobuf skips: another file, under a registered version
    another_file = MODEL.read_bytes() + b"\x98\x06\x01"
    taken = await refused(engineer.add_model(another_file, no_sha | {
        "id": "pump_health", "version": 1}), ErrorCode.CONFLICT)
    assert "already registered with another file" in taken.message
    assert await keys(engineer) == ["pump_health@1"]


async def test_an_upload_above_the_limit_is_too_large(runtime_process):
    runtime = await runtime_process(api={"max_frame_bytes": 1_200_000})  # ~150 kB models
    engineer = await runtime.client("engineer")
    big = base64.b64encode(bytes(200_000)).decode()
    error = await refused(engineer.request("models.add", {
        "file_name": "big.onnx", "onnx_base64": big, "sidecar": sidecar()}),
        ErrorCode.TOO_LARGE)
    assert "larger than the" in error.message
