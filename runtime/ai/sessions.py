"""The runtime's onnxruntime sessions: one per loaded model version, made once and reused for
every batch. ModelSessions is the engine's ModelRunner.

Sessions use 1 (or 2) intra-op threads, one inter-op thread, sequential execution and no
spinning, so a loaded model costs no CPU while idle; with one thread onnxruntime starts no
thread of its own (it scores on the caller's thread), with two it keeps one worker per
session, ended when the session is unloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from runtime.ai.errors import (
    InvalidModel,
    ModelConflict,
    ModelFailed,
    ModelMismatch,
    UnknownModel,
)
from runtime.ai.model_file import (
    check_hash,
    check_interface,
    open_session,
    ort_reason,
    session_options,
)
from runtime.contracts.models import ModelInfo


@dataclass(frozen=True)
class _Loaded:
    info: ModelInfo
    session: ort.InferenceSession
    input_name: str
    outputs: list[str]
    width: int


class ModelSessions:
    """Loaded models by "id@version"; `run` scores a batch of feature rows.

    Not thread-safe for load/unload against run: the runtime loads and runs from its event
    loop thread (load may run in a worker thread while nothing runs that model).
    """

    def __init__(self, intra_op_threads: int = 1) -> None:
        session_options(intra_op_threads)  # validates 1..2
        self.intra_op_threads = intra_op_threads
        self._loaded: dict[str, _Loaded] = {}
        # A failing run raises ModelFailed (the engine logs it once per distinct error);
        # onnxruntime need not print it to stderr at every run as well.
        self._run_options = ort.RunOptions()
        self._run_options.log_severity_level = 4

    def load(self, info: ModelInfo, path: str | Path) -> ModelInfo:
        """Make the session of a registered model file; checks its hash and interface.

        Loading the same file again is a no-op; another file under a loaded id@version is
        a ModelConflict (unload the old one first).
        """
        current = self._loaded.get(info.key)
        if current is not None:
            if current.info.hash != info.hash:
                raise ModelConflict(f"model {info.key}", "another file is loaded under this "
                                                         "version; unload it first")
            return current.info
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidModel(f"model {info.key}", f"file {path} cannot be read "
                                                    f"({exc.strerror})") from None
        check_hash(info, data, path)
        session = open_session(data, f"model {info.key} ({path})", self.intra_op_threads)
        check_interface(info, session)
        self._loaded[info.key] = _Loaded(info, session, info.input_name, list(info.outputs),
                                         len(info.features))
        return info

    def run(self, model: str, rows: Any) -> dict[str, np.ndarray]:
        """Score rows (n, features) with model "id@version": each output as an array (n,)."""
        loaded = self._loaded.get(model)
        if loaded is None:
            raise UnknownModel(f"model {model}", "is not loaded (is it registered?)")
        x = np.ascontiguousarray(rows, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != loaded.width:
            raise ModelMismatch(f"model {model}", f"expects rows of {loaded.width} features, "
                                                  f"got an array of shape {list(x.shape)}")
        n = x.shape[0]
        if n == 0:
            return {name: np.empty(0, dtype=np.float32) for name in loaded.outputs}
        try:
            results = loaded.session.run(loaded.outputs, {loaded.input_name: x},
                                         self._run_options)
        except Exception as exc:  # onnxruntime's own exception types
            raise ModelFailed(f"model {model}", f"failed on {n} row(s): "
                                                f"{ort_reason(exc)}") from None
        try:
            return {name: out.reshape(n)
                    for name, out in zip(loaded.outputs, results, strict=True)}
        except ValueError:
            shapes = ", ".join(f"{name} {list(out.shape)}"
                               for name, out in zip(loaded.outputs, results, strict=True))
            raise ModelMismatch(f"model {model}", f"gave {shapes} for {n} rows; Lineside needs "
                                                  "one number per row") from None

    def info(self, key: str) -> ModelInfo:
        """The loaded model "id@version" (UnknownModel if it is not loaded)."""
        loaded = self._loaded.get(key)
        if loaded is None:
            raise UnknownModel(f"model {key}", "is not loaded")
        return loaded.info

    def catalogue(self) -> dict[str, ModelInfo]:
        """Every loaded model by "id@version": what a project may use."""
        return {key: loaded.info for key, loaded in self._loaded.items()}

    def unload(self, key: str) -> None:
        """End a model's session (and its threads); unknown keys are ignored."""
        self._loaded.pop(key, None)

    def close(self) -> None:
        """Unload every model."""
        self._loaded.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._loaded

    def __len__(self) -> int:
        return len(self._loaded)

    def __enter__(self) -> ModelSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
