"""AI at the edge: ONNX model files and their metadata, the registry of model versions, and
the onnxruntime sessions the engine runs them in. Needs only numpy and onnxruntime."""

from runtime.ai.errors import (
    InvalidModel,
    ModelConflict,
    ModelError,
    ModelFailed,
    ModelInUse,
    ModelMismatch,
    UnknownModel,
)
from runtime.ai.model_file import (
    ModelFile,
    check_features,
    load_model_file,
    read_model,
    sha256,
)
from runtime.ai.registry import ModelRegistry, builtin_models
from runtime.ai.sessions import ModelSessions

__all__ = [
    "InvalidModel", "ModelConflict", "ModelError", "ModelFailed", "ModelFile", "ModelInUse",
    "ModelMismatch", "ModelRegistry", "ModelSessions", "UnknownModel", "builtin_models",
    "check_features", "load_model_file", "read_model", "sha256",
]
