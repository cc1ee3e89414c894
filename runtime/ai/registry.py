"""The model registry: which model versions this runtime has, their files and their metadata.

A registered model is a checked copy of its file in the models folder, named
`{id}-{version}-{hash[:12]}.onnx`, and a row in the store (metadata, hash, file name, who
added it, when), written with its audit record in one transaction. An id@version names one
file for ever: registering another file under it is refused (give it a new version), the same
file again changes nothing. A model the deployed project uses cannot be removed.

The methods block (file copies, onnxruntime checks, store commits): from asyncio call them in
a worker thread, `await asyncio.to_thread(registry.add, path)`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from runtime.ai.errors import ModelConflict, ModelError, ModelInUse, UnknownModel
from runtime.ai.model_file import (
    ModelFile,
    check_model,
    info_from_dict,
    info_from_metadata,
    info_to_dict,
    load_model_file,
    read_sidecar,
    sha256,
    sidecar_of,
)
from runtime.ai.sessions import ModelSessions
from runtime.contracts.models import ModelInfo
from runtime.shipped import shipped
from runtime.store import ModelRecord, ModelVersionTaken, Store, UnknownModelVersion
from runtime.store.models import ADD, REMOVE

log = logging.getLogger("runtime.ai")

COMMIT_TIMEOUT_S = 30.0


def builtin_model_paths(directory: str | Path | None = None) -> list[Path]:
    """The model files in `directory` (default: the demo models shipped in
    resources/models); each NAME.onnx has its NAME.json beside it."""
    directory = shipped("models") if directory is None else Path(directory)
    return sorted(directory.glob("*.onnx"))


def shipped_model(path: Path) -> ModelFile:
    """A shipped model file: trusted without onnxruntime when its sidecar pins its sha256
    (InvalidModel if the metadata is unusable), else checked in full."""
    meta = read_sidecar(sidecar_of(path))
    data = path.read_bytes()
    digest = sha256(data)
    if meta.get("sha256") != digest:
        return load_model_file(path)
    info = info_from_metadata(meta, digest, str(sidecar_of(path)))
    return ModelFile(path, data, info, {**meta, **info_to_dict(info)})


def builtin_models(directory: str | Path | None = None) -> list[ModelFile]:
    """The models in `directory` (default: the demo models shipped in resources/models),
    every NAME.onnx with its NAME.json, checked."""
    return [load_model_file(path) for path in builtin_model_paths(directory)]


def file_name(info: ModelInfo) -> str:
    """The name of a registered model's copy in the models folder."""
    return f"{info.id}-{info.version}-{info.hash[:12]}.onnx"


class ModelRegistry:
    """Registered models: files in `models_dir`, registrations in `store`."""

    def __init__(self, store: Store, models_dir: str | Path) -> None:
        self.store = store
        self.models_dir = Path(models_dir)
        self.models_dir.mkdir(parents=True, exist_ok=True)

    def add(self, onnx_path: str | Path,
            sidecar: str | Path | Mapping[str, Any] | None = None,
            user: str = "", role: str = "") -> ModelInfo:
        """Check a model file with its metadata (a sidecar path, a mapping, or NAME.json
        beside it) and register it; refusals raise ModelError and are audited."""
        return self._add(Path(onnx_path).name, lambda: load_model_file(onnx_path, sidecar),
                         user, role)

    def add_bytes(self, name: str, data: bytes, sidecar: Mapping[str, Any], user: str = "",
                  role: str = "") -> ModelInfo:
        """Check an uploaded model file (its bytes, under its file name) with its metadata
        and register it, exactly as `add` does a file on disk."""
        return self._add(name, lambda: check_model(name, data, sidecar), user, role)

    def _add(self, name: str, check: Callable[[], ModelFile], user: str,
             role: str) -> ModelInfo:
        try:
            model = check()
        except ModelError as exc:
            self._refused(ADD, name, exc, user, role)
            raise
        return self._register(model, user, role)

    def add_builtins(self, user: str = "lineside") -> list[ModelInfo]:
        """Register the shipped demo models not registered yet; returns every builtin's info.

        A shipped file whose sidecar pins its sha256 is taken as shipped (its interface is
        checked by Lineside's own tests), so starting the runtime opens no model in
        onnxruntime; any other file is checked in full."""
        return [self._register(shipped_model(path), user, "") for path in builtin_model_paths()]

    def list(self) -> list[ModelInfo]:
        """Every registered model version, by id then version."""
        return [info_from_dict(r.info) for r in self.store.models()]

    def get(self, key: str) -> ModelInfo:
        """The registered model "id@version" (UnknownModel if there is none)."""
        return info_from_dict(self._record(key).info)

    def metadata(self, key: str) -> dict[str, Any]:
        """Everything registered with the model: its ModelInfo fields and the sidecar's extras
        (training data, score range, suggested threshold...)."""
        return dict(self._record(key).info)

    def path(self, key: str) -> Path:
        """Where the registered file of "id@version" is."""
        return self.models_dir / self._record(key).file

    def remove(self, key: str, in_use: Collection[str] = frozenset(), user: str = "",
               role: str = "") -> ModelInfo:
        """Unregister a model and delete its file, unless `in_use` (the keys the deployed
        project references; a mapping may say where, see `models_in_use`) holds it. Unload
        it from the sessions yourself."""
        if key in in_use:
            where = in_use.get(key, ()) if isinstance(in_use, Mapping) else ()
            used = f" ({'; '.join(where)})" if where else ""
            exc = ModelInUse(f"model {key}", f"is used by the deployed project{used}; remove "
                                             "it from the flows and deploy before removing "
                                             "the model")
            self._refused(REMOVE, key, exc, user, role)
            raise exc
        try:
            record = self.store.remove_model(key, user, role).result(COMMIT_TIMEOUT_S)
        except UnknownModelVersion:
            raise UnknownModel(f"model {key}", "is not registered") from None
        (self.models_dir / record.file).unlink(missing_ok=True)
        log.info("ai.model_removed model=%s user=%s", key, user or "-")
        return info_from_dict(record.info)

    def load_all(self, sessions: ModelSessions) -> dict[str, ModelError]:
        """Register every registered model with `sessions` (their sessions open when a
        deployed flow uses them); returns the ones that failed (a file missing or changed
        since it was registered...) with why, each also logged."""
        failed: dict[str, ModelError] = {}
        for record in self.store.models():
            try:
                sessions.register(info_from_dict(record.info), self.models_dir / record.file)
            except ModelError as exc:
                failed[record.key] = exc
                log.error("ai.model_load_failed model=%s error=%s", record.key,
                          json.dumps(str(exc), ensure_ascii=False))
        return failed

    # --- internals ---

    def _record(self, key: str) -> ModelRecord:
        try:
            record = self.store.model(key)
        except UnknownModelVersion:
            record = None
        if record is None:
            raise UnknownModel(f"model {key}", "is not registered")
        return record

    def _register(self, model: ModelFile, user: str, role: str) -> ModelInfo:
        info = model.info
        existing = self.store.model(info.key)
        if existing is not None and existing.hash != info.hash:
            exc = self._taken(info.key, existing.hash)
            self._refused(ADD, info.key, exc, user, role)
            raise exc
        name = file_name(info)
        target = self.models_dir / name
        written = _write_if_needed(target, model.data, info.hash)
        if existing is not None:  # the same file again: nothing to record
            return info_from_dict(existing.info)
        try:
            record = self.store.add_model(info.id, info.version, info.hash, name,
                                          json.dumps(model.metadata, ensure_ascii=False),
                                          user, role).result(COMMIT_TIMEOUT_S)
        except ModelVersionTaken as taken:  # registered by someone else meanwhile
            if written:
                target.unlink(missing_ok=True)
            raise self._taken(info.key, taken.registered_hash) from None
        log.info("ai.model_added model=%s hash=%s file=%s user=%s", info.key, info.hash,
                 name, user or "-")
        return info_from_dict(record.info)

    @staticmethod
    def _taken(key: str, registered_hash: str) -> ModelConflict:
        return ModelConflict(f"model {key}", f"is already registered with another file (sha256 "
                                             f"{registered_hash[:12]}...); register the new "
                                             "file under a new version")

    def _refused(self, action: str, target: str, exc: ModelError, user: str,
                 role: str) -> None:
        self.store.audit(user, role, action, target, "refused", "", {"error": str(exc)})
        log.warning("ai.model_refused action=%s target=%s error=%s", action, target,
                    json.dumps(str(exc), ensure_ascii=False))


def _write_if_needed(target: Path, data: bytes, digest: str) -> bool:
    """Put the bytes at target atomically (temp file, fsync, rename) unless the same file is
    there already; True when it wrote."""
    if target.exists() and sha256(target.read_bytes()) == digest:
        return False
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True
