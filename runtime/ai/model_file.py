"""A model file and its sidecar metadata: read them, hash the file, check that onnxruntime
loads it and that its interface is the one the metadata describes.

A model file `NAME.onnx` comes with `NAME.json`, a JSON object with the ModelInfo fields
(id, version, input_name, features, units, outputs, description) and anything else worth
keeping (training data, score range, suggested threshold); an optional `sha256` binds the
sidecar to one file. The hash of a model is the SHA-256 of the .onnx bytes.

Lineside feeds a model one float32 input of shape (rows, features) and reads one value per
row from each named output ((rows,) or (rows, 1)); `check_interface` refuses anything else
with a message that says what differs. Only numpy and onnxruntime are needed here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.ai.errors import InvalidModel, ModelConflict, ModelMismatch
from runtime.contracts.models import ModelInfo

if TYPE_CHECKING:
    import onnxruntime as ort

SIDECAR_SUFFIX = ".json"
MAX_THREADS = 2
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_INFO_FIELDS = tuple(f.name for f in fields(ModelInfo))
_NOT_ONNX = ("INVALID_PROTOBUF", "No graph was found")


@dataclass(frozen=True)
class ModelFile:
    """A model file read and checked: its bytes, its interface and its whole sidecar."""

    path: Path
    data: bytes
    info: ModelInfo
    metadata: dict[str, Any]


def sha256(data: bytes) -> str:
    """The hash that identifies a model file: SHA-256 of its bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def sidecar_of(onnx_path: str | Path) -> Path:
    """Where a model file's metadata lives: beside it, NAME.json for NAME.onnx."""
    return Path(onnx_path).with_suffix(SIDECAR_SUFFIX)


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The sidecar's JSON object (InvalidModel when it is missing or not a JSON object)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidModel(str(path), "sidecar metadata not found; a model file NAME.onnx "
                                      "needs NAME.json beside it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidModel(str(path), f"sidecar cannot be read ({exc})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidModel(str(path), f"sidecar is not valid JSON ({exc.msg} at line "
                                      f"{exc.lineno})") from None
    if not isinstance(meta, dict):
        raise InvalidModel(str(path), "sidecar must be a JSON object with the model's id, "
                                      "version, input_name, features, units and outputs")
    return meta


def info_from_metadata(meta: Mapping[str, Any], digest: str, subject: str) -> ModelInfo:
    """The ModelInfo the metadata describes for a file with this hash; InvalidModel if a field
    is missing or malformed, ModelMismatch if the metadata names another file's sha256."""

    def bad(message: str) -> InvalidModel:
        return InvalidModel(subject, message)

    def names(key: str, *, allow_empty_items: bool = False) -> tuple[str, ...]:
        value = meta.get(key)
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and (v or allow_empty_items) for v in value)):
            raise bad(f"'{key}' must be a non-empty list of names")
        return tuple(value)

    model_id = meta.get("id")
    if not isinstance(model_id, str) or not _ID.fullmatch(model_id):
        raise bad(f"'id' must be 1-64 letters, digits, '_', '.' or '-' (got {model_id!r})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad(f"'version' must be a whole number >= 1 (got {version!r})")
    input_name = meta.get("input_name")
    if not isinstance(input_name, str) or not input_name:
        raise bad("'input_name' must name the model's input")
    features = names("features")
    units = names("units", allow_empty_items=True)
    outputs = names("outputs")
    for key, values in (("features", features), ("outputs", outputs)):
        if len(set(values)) != len(values):
            raise bad(f"'{key}' names one entry twice")
    if len(units) != len(features):
        raise bad(f"'units' gives {len(units)} units for {len(features)} features")
    description = meta.get("description", "")
    if not isinstance(description, str):
        raise bad("'description' must be text")
    declared = meta.get("sha256", meta.get("hash"))
    if declared is not None and declared != digest:
        raise ModelMismatch(subject, f"the metadata is for another file (sha256 "
                                     f"{str(declared)[:12]}...; this file's is {digest[:12]}...)")
    return ModelInfo(model_id, version, digest, input_name, features, units, outputs,
                     description)


def info_to_dict(info: ModelInfo) -> dict[str, Any]:
    """A ModelInfo as a JSON-ready dict (lists for tuples)."""
    return {name: (list(v) if isinstance(v := getattr(info, name), tuple) else v)
            for name in _INFO_FIELDS}


def info_from_dict(data: Mapping[str, Any]) -> ModelInfo:
    """A ModelInfo from info_to_dict's output (or registered metadata holding its fields)."""
    return info_from_metadata(data, str(data.get("hash", "")), f"model {data.get('id')!r}")


# --- onnxruntime -------------------------------------------------------------------------


def check_threads(intra_op_threads: int) -> None:
    """ValueError unless 1 <= intra_op_threads <= MAX_THREADS."""
    if intra_op_threads not in range(1, MAX_THREADS + 1):
        raise ValueError(f"intra_op_threads must be 1..{MAX_THREADS}, got {intra_op_threads}")


def session_options(intra_op_threads: int = 1) -> ort.SessionOptions:
    """Options for an edge session: 1-2 intra-op threads, one inter-op thread, sequential
    execution, no spinning (idle threads sleep), every graph optimization.

    onnxruntime (about 20 MB resident) is imported here, on first use, not with the module:
    a runtime whose project uses no model never loads it."""
    import onnxruntime as ort

    check_threads(intra_op_threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only; refusals are reported as ModelError
    return options


def open_session(data: bytes, subject: str, intra_op_threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime session for model bytes; InvalidModel when onnxruntime can't load them."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(data, session_options(intra_op_threads),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        reason = ort_reason(exc)
        if any(marker in str(exc) for marker in _NOT_ONNX):
            raise InvalidModel(subject, "file is not an ONNX model") from None
        raise InvalidModel(subject, f"onnxruntime cannot load the model: {reason}") from None


def check_interface(info: ModelInfo, session: ort.InferenceSession) -> None:
    """ModelMismatch unless the session takes info's input (float32, rank 2, one column per
    feature) and gives each of info's outputs with one value per row (checked on 2 rows)."""
    subject = f"model {info.key}"
    inputs = session.get_inputs()
    if len(inputs) != 1:
        listed = ", ".join(f"'{i.name}'" for i in inputs)
        raise ModelMismatch(subject, f"the model has {len(inputs)} inputs ({listed}); Lineside "
                                     "feeds exactly one, a table of feature rows")
    actual = inputs[0]
    if actual.name != info.input_name:
        raise ModelMismatch(subject, f"input '{info.input_name}' not found; the model's input "
                                     f"is '{actual.name}'")
    if actual.type != "tensor(float)":
        raise ModelMismatch(subject, f"input '{actual.name}' takes {actual.type}; Lineside "
                                     "feeds float32 (tensor(float))")
    shape = list(actual.shape)
    if len(shape) != 2:
        raise ModelMismatch(subject, f"input '{actual.name}' has shape {shape} (rank "
                                     f"{len(shape)}); Lineside feeds rows x features (rank 2)")
    width = shape[1]
    if isinstance(width, int) and width != len(info.features):
        raise ModelMismatch(subject, f"expects {width} features, the metadata lists "
                                     f"{len(info.features)} ({', '.join(info.features)})")
    available = [o.name for o in session.get_outputs()]
    for name in info.outputs:
        if name not in available:
            listed = ", ".join(f"'{n}'" for n in available)
            raise ModelMismatch(subject, f"output '{name}' not found; the model's outputs are "
                                         f"{listed}")
    probe = np.zeros((2, len(info.features)), dtype=np.float32)
    try:
        results = session.run(list(info.outputs), {info.input_name: probe})
    except Exception as exc:  # onnxruntime's own exception types
        raise ModelMismatch(subject, f"the model fails on {len(info.features)} features: "
                                     f"{ort_reason(exc)}") from None
    for name, out in zip(info.outputs, results, strict=True):
        out = np.asarray(out)
        if out.shape not in ((2,), (2, 1)) or out.dtype.kind not in "fiub":
            raise ModelMismatch(subject, f"output '{name}' gives {out.dtype} of shape "
                                         f"{list(out.shape)} for 2 rows; Lineside needs one "
                                         "number per row, shape (rows,) or (rows, 1)")


def check_features(info: ModelInfo, features: Sequence[str] | int,
                   source: str = "the mapping") -> None:
    """ModelMismatch unless `features` (names, or how many) has one entry per model feature,
    e.g. "model pump_health@1: expects 5 features, the mapping gives 4"."""
    count = features if isinstance(features, int) else len(features)
    if count != len(info.features):
        raise ModelMismatch(f"model {info.key}", f"expects {len(info.features)} features "
                                                 f"({', '.join(info.features)}), {source} "
                                                 f"gives {count}")


def load_model_file(onnx_path: str | Path,
                    sidecar: str | Path | Mapping[str, Any] | None = None) -> ModelFile:
    """Read a model file and its metadata (a sidecar path, a mapping, or NAME.json beside it)
    and check them together; InvalidModel or ModelMismatch says what is wrong."""
    path = Path(onnx_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidModel(str(path), "file not found") from None
    except OSError as exc:
        raise InvalidModel(str(path), f"file cannot be read ({exc.strerror})") from None
    if sidecar is None or isinstance(sidecar, str | Path):
        sidecar_path = sidecar_of(path) if sidecar is None else Path(sidecar)
        return check_model(path, data, read_sidecar(sidecar_path), str(sidecar_path))
    return check_model(path, data, sidecar)


def check_model(path: str | Path, data: bytes, meta: Mapping[str, Any],
                meta_subject: str | None = None) -> ModelFile:
    """Check model bytes (from `path`, or uploaded under that name) with their metadata:
    the metadata's fields, then onnxruntime loads the model and its interface is the one the
    metadata describes; InvalidModel or ModelMismatch says what is wrong."""
    path = Path(path)
    meta = dict(meta)
    info = info_from_metadata(meta, sha256(data), meta_subject or f"metadata for {path.name}")
    session = open_session(data, f"{path} (model {info.key})")
    try:
        check_interface(info, session)
    finally:
        del session
    return ModelFile(path, data, info, {**meta, **info_to_dict(info)})


def read_model(onnx_path: str | Path,
               sidecar: str | Path | Mapping[str, Any] | None = None) -> ModelInfo:
    """The checked ModelInfo of a model file and its metadata (see load_model_file)."""
    return load_model_file(onnx_path, sidecar).info


def check_hash(info: ModelInfo, data: bytes, path: str | Path) -> None:
    """ModelConflict unless the bytes are the file registered as `info`."""
    digest = sha256(data)
    if digest != info.hash:
        raise ModelConflict(f"model {info.key}", f"file {path} changed since it was registered "
                                                 f"(sha256 {digest[:12]}..., registered "
                                                 f"{info.hash[:12]}...)")


def ort_reason(exc: BaseException) -> str:
    """onnxruntime's message without its "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT :" prefix."""
    text = str(exc).strip()
    return re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text)
