"""Reading a model file with its sidecar: every kind of bad model is refused with a message a
plant engineer understands; a good one gives its ModelInfo."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from runtime.ai import (
    InvalidModel,
    ModelMismatch,
    check_features,
    load_model_file,
    read_model,
)
from runtime.ai.model_file import info_from_dict, info_to_dict, session_options

FEATURES = ["vibration_rms", "bearing_temp", "motor_current", "flow", "discharge_pressure"]
UNITS = ["mm/s", "°C", "A", "m³/h", "bar"]


def model_bytes(input_name: str = "features", shape: tuple[Any, ...] = ("N", 5),
                elem: int = TensorProto.FLOAT, outputs: tuple[str, ...] = ("score",),
                keepdims: int = 0, extra_input: bool = False, op: str = "ReduceMean") -> bytes:
    """A small valid ONNX model: each output is the mean of the row (or, with op "Identity",
    the row itself)."""
    nodes, out_infos = [], []
    for name in outputs:
        if op == "Identity":
            nodes.append(helper.make_node("Identity", [input_name], [name]))
            out_shape: list[Any] = list(shape)
        else:
            nodes.append(helper.make_node("ReduceMean", [input_name], [name], axes=[-1],
                                          keepdims=keepdims))
            out_shape = [shape[0], 1][: 1 + keepdims] if len(shape) == 2 else list(shape[:-1])
        out_infos.append(helper.make_tensor_value_info(name, elem, out_shape))
    inputs = [helper.make_tensor_value_info(input_name, elem, list(shape))]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("speed", elem, ["N"]))
    graph = helper.make_graph(nodes, "test", inputs, out_infos)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def sidecar(**changes: Any) -> dict[str, Any]:
    meta = {"id": "pump_health", "version": 1, "input_name": "features",
            "features": list(FEATURES), "units": list(UNITS), "outputs": ["score"],
            "description": "test model"}
    meta.update(changes)
    return meta


def write(tmp_path: Path, data: bytes, meta: dict[str, Any] | None = None,
          name: str = "model") -> Path:
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    if meta is not None:
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_a_good_model_gives_its_info_and_hash(tmp_path):
    data = model_bytes()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    path = write(tmp_path, data, sidecar(extra={"threshold": 6}))
    info = read_model(path)
    assert info.key == "pump_health@1"
    assert info.hash == hashlib.sha256(data).hexdigest()
    assert (info.input_name, info.features, info.units, info.outputs) == (
        "features", tuple(FEATURES), tuple(UNITS), ("score",))
    assert load_model_file(path).metadata["extra"] == {"threshold": 6}
    assert info_from_dict(json.loads(json.dumps(info_to_dict(info)))) == info


def test_metadata_may_be_given_instead_of_a_sidecar_file(tmp_path):
    path = write(tmp_path, model_bytes())
    assert read_model(path, sidecar(version=3)).key == "pump_health@3"
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps(sidecar(version=4)), encoding="utf-8")
    assert read_model(path, other).key == "pump_health@4"


@pytest.mark.parametrize("data", [b"", b"hello, this is not a model",
                                  json.dumps(sidecar()).encode()])
def test_a_file_that_is_not_onnx_is_refused(tmp_path, data):
    path = write(tmp_path, data, sidecar())
    with pytest.raises(InvalidModel, match=r"model\.onnx \(model pump_health@1\): file is not "
                                           r"an ONNX model$"):
        read_model(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidModel, match=r"nothing\.onnx: file not found"):
        read_model(tmp_path / "nothing.onnx", sidecar())


def test_a_model_onnxruntime_cannot_load_is_refused(tmp_path):
    node = helper.make_node("NoSuchOp", ["features"], ["score"], domain="acme.ops")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("acme.ops", 1)])
    model.ir_version = 8
    path = write(tmp_path, model.SerializeToString(), sidecar())
    with pytest.raises(InvalidModel, match=r"onnxruntime cannot load the model: .*acme\.ops"):
        read_model(path)


def test_a_wrong_input_name_is_refused(tmp_path):
    path = write(tmp_path, model_bytes(), sidecar(input_name="x"))
    with pytest.raises(ModelMismatch, match=r"^model pump_health@1: input 'x' not found; the "
                                            r"model's input is 'features'$"):
        read_model(path)


def test_a_wrong_width_is_refused(tmp_path):
    path = write(tmp_path, model_bytes(), sidecar(features=FEATURES[:4], units=UNITS[:4]))
    with pytest.raises(ModelMismatch, match=r"^model pump_health@1: expects 5 features, the "
                                            r"metadata lists 4 "):
        read_model(path)


def test_a_mapping_of_the_wrong_width_is_refused(tmp_path):
    info = read_model(write(tmp_path, model_bytes(), sidecar()))
    check_features(info, FEATURES)
    with pytest.raises(ModelMismatch, match=r"^model pump_health@1: expects 5 features "
                                            r"\(vibration_rms, .*\), the mapping gives 4$"):
        check_features(info, FEATURES[:4])
    with pytest.raises(ModelMismatch, match="the node gives 6"):
        check_features(info, 6, source="the node")


def test_a_symbolic_width_is_checked_by_running_the_model(tmp_path):
    path = write(tmp_path, model_bytes(shape=("N", "F")), sidecar())
    assert read_model(path).key == "pump_health@1"


def test_a_missing_output_is_refused(tmp_path):
    path = write(tmp_path, model_bytes(outputs=("score", "health")),
                 sidecar(outputs=["score", "label"]))
    with pytest.raises(ModelMismatch, match=r"^model pump_health@1: output 'label' not found; "
                                            r"the model's outputs are 'score', 'health'$"):
        read_model(path)


def test_extra_outputs_of_the_model_are_allowed(tmp_path):
    path = write(tmp_path, model_bytes(outputs=("score", "health")), sidecar())
    assert read_model(path).outputs == ("score",)


def test_a_sidecar_for_another_file_is_refused(tmp_path):
    path = write(tmp_path, model_bytes(), sidecar(sha256="0" * 64))
    with pytest.raises(ModelMismatch, match=r"the metadata is for another file \(sha256 "
                                            r"000000000000\.\.\.; this file's is "):
        read_model(path)
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_model(path, sidecar(sha256=good)).hash == good


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"extra_input": True}, r"the model has 2 inputs \('features', 'speed'\); Lineside feeds "
                            r"exactly one"),
    ({"elem": TensorProto.DOUBLE}, r"input 'features' takes tensor\(double\); Lineside feeds "
                                   r"float32"),
    ({"shape": ("N", 1, 5)}, r"input 'features' has shape \['N', 1, 5\] \(rank 3\)"),
    ({"op": "Identity"}, r"output 'score' gives float32 of shape \[2, 5\] for 2 rows; Lineside "
                         r"needs one number per row"),
])
def test_an_interface_lineside_cannot_feed_is_refused(tmp_path, kwargs, message):
    path = write(tmp_path, model_bytes(**kwargs), sidecar())
    with pytest.raises(ModelMismatch, match=message):
        read_model(path)


def test_a_missing_sidecar_is_refused(tmp_path):
    path = write(tmp_path, model_bytes())
    with pytest.raises(InvalidModel, match=r"model\.json: sidecar metadata not found; a model "
                                           r"file NAME\.onnx needs NAME\.json beside it"):
        read_model(path)


def test_a_sidecar_that_is_not_json_is_refused(tmp_path):
    path = write(tmp_path, model_bytes())
    path.with_suffix(".json").write_text("{id: pump", encoding="utf-8")
    with pytest.raises(InvalidModel, match=r"sidecar is not valid JSON .*at line 1"):
        read_model(path)
    path.with_suffix(".json").write_text("[1]", encoding="utf-8")
    with pytest.raises(InvalidModel, match="sidecar must be a JSON object"):
        read_model(path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"id": "pump@health"}, "'id' must be 1-64 letters"),
    ({"id": None}, "'id' must be 1-64 letters"),
    ({"version": 0}, "'version' must be a whole number >= 1"),
    ({"version": "1"}, "'version' must be a whole number >= 1"),
    ({"version": True}, "'version' must be a whole number >= 1"),
    ({"input_name": ""}, "'input_name' must name the model's input"),
    ({"features": []}, "'features' must be a non-empty list of names"),
    ({"features": ["a", "a", "b", "c", "d"]}, "'features' names one entry twice"),
    ({"units": ["mm/s"]}, "'units' gives 1 units for 5 features"),
    ({"outputs": "score"}, "'outputs' must be a non-empty list of names"),
    ({"description": 3}, "'description' must be text"),
])
def test_malformed_metadata_is_refused(tmp_path, changes, message):
    path = write(tmp_path, model_bytes(), sidecar(**changes))
    with pytest.raises(InvalidModel, match=f"model.json: {message}"):
        read_model(path)


def test_rows_by_one_output_are_accepted(tmp_path):
    assert read_model(write(tmp_path, model_bytes(keepdims=1), sidecar())).outputs == ("score",)


@pytest.mark.parametrize("threads", [0, 3, -1])
def test_session_threads_are_one_or_two(threads):
    with pytest.raises(ValueError, match=r"intra_op_threads must be 1\.\.2"):
        session_options(threads)

