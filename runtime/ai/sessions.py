"""The runtime's onnxruntime sessions: one per model version a deployed flow uses, made
once and reused for every batch. ModelSessions is the engine's ModelRunner.

Registering a model (`register`) makes it available to projects without opening it: its
file's hash is checked, its session opens when a deploy prepares a project that uses it (or
at its first run), so a runtime pays onnxruntime's memory only for models in use, and none
when no flow uses a model. `load` registers and opens at once.

Sessions use 1 (or 2) intra-op threads, one inter-op thread, sequential execution and no
spinning, so a loaded model costs no CPU while idle; with one thread onnxruntime starts no
thread of its own (it scores on the caller's thread), with two it keeps one worker per
session, ended when the session is unloaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
    check_threads,
    open_session,
    ort_reason,
)
from runtime.contracts.models import ModelInfo

if TYPE_CHECKING:
    import onnxruntime as ort


@dataclass(frozen=True)
class _Loaded:
    info: ModelInfo
    session: ort.InferenceSession
    input_name: str
    outputs: list[str]
    width: int


class ModelSessions:
    """Registered models by "id@version", their sessions opened on demand; `run` scores a
    batch of feature rows.

    Not thread-safe for load/unload against run: the runtime loads and runs from its event
    loop thread (load may run in a worker thread while nothing runs that model).
    """

    def __init__(self, intra_op_threads: int = 1) -> None:
        check_threads(intra_op_threads)
        self.intra_op_threads = intra_op_threads
        self._registered: dict[str, tuple[ModelInfo, Path]] = {}
        self._loaded: dict[str, _Loaded] = {}
        self._run_options: Any = None

    def register(self, info: ModelInfo, path: str | Path) -> ModelInfo:
        """Make a registered model file available to projects; its hash is checked now, its
        session opens when needed (`prepare`, or its first run).

        Registering the same file again is a no-op; another file under a registered
        id@version is a ModelConflict (unload the old one first)."""
        current = self._registered.get(info.key)
        if current is not None:
            if current[0].hash != info.hash:
                raise ModelConflict(f"model {info.key}", "another file is loaded under this "
                                                         "version; unload it first")
            return current[0]
        check_hash(info, _read(info, path), path)
        self._registered[info.key] = (info, Path(path))
        return info

    def load(self, info: ModelInfo, path: str | Path) -> ModelInfo:
        """Register a model file and open its session now; checks its hash and interface."""
        info = self.register(info, path)
        try:
            self._open(info.key)
        except Exception:
            self._registered.pop(info.key, None)
            raise
        return info

    def prepare(self, models: Iterable[str]) -> None:
        """Open the sessions of these models (those a project about to be deployed uses);
        UnknownModel, InvalidModel, ModelMismatch or ModelConflict when one can't be."""
        for key in models:
            self._open(key)

    def _open(self, key: str) -> _Loaded:
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        registered = self._registered.get(key)
        if registered is None:
            raise UnknownModel(f"model {key}", "is not loaded (is it registered?)")
        info, path = registered
        data = _read(info, path)
        check_hash(info, data, path)
        session = open_session(data, f"model {info.key} ({path})", self.intra_op_threads)
        check_interface(info, session)
        if self._run_options is None:
            import onnxruntime as ort

            # A failing run raises ModelFailed (the engine logs it once per distinct
            # error); onnxruntime need not print it to stderr at every run as well.
            self._run_options = ort.RunOptions()
            self._run_options.log_severity_level = 4
        loaded = _Loaded(info, session, info.input_name, list(info.outputs),
                         len(info.features))
        self._loaded[key] = loaded
        return loaded

    def run(self, model: str, rows: Any) -> dict[str, np.ndarray]:
        """Score rows (n, features) with model "id@version": each output as an array (n,)."""
        loaded = self._loaded.get(model) or self._open(model)
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
        """The registered model "id@version" (UnknownModel if it is not registered)."""
        registered = self._registered.get(key)
        if registered is None:
            raise UnknownModel(f"model {key}", "is not loaded")
        return registered[0]

    def catalogue(self) -> dict[str, ModelInfo]:
        """Every registered model by "id@version": what a project may use."""
        return {key: info for key, (info, _) in self._registered.items()}

    def registered(self) -> dict[str, tuple[ModelInfo, Path]]:
        """Every registered model by "id@version" with its file: what another process needs
        to register the same models."""
        return dict(self._registered)

    def opened(self) -> list[str]:
        """The models whose session is open."""
        return list(self._loaded)

    def unload(self, key: str) -> None:
        """Forget a model and end its session (and its threads); unknown keys are ignored."""
        self._registered.pop(key, None)
        self._loaded.pop(key, None)

    def close(self) -> None:
        """Unload every model."""
        self._registered.clear()
        self._loaded.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._registered

    def __len__(self) -> int:
        return len(self._registered)

    def __enter__(self) -> ModelSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(info: ModelInfo, path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidModel(f"model {info.key}", f"file {path} cannot be read "
                                                f"({exc.strerror})") from None
