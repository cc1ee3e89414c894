"""Model operations: the registered models, uploading one and removing one.

Uploads are checked and registered by the same ModelRegistry code as `lineside-runtime
models add` (audited there), then made available to the running runtime at once."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from runtime.ai.errors import (
    InvalidModel,
    ModelConflict,
    ModelError,
    ModelInUse,
    ModelMismatch,
    UnknownModel,
)
from runtime.ai.model_file import info_to_dict
from runtime.ai.sessions import ModelSessions
from runtime.api.operation import Context
from runtime.contracts.api import ApiError, Detail, ErrorCode
from runtime.contracts.models import models_in_use

_CODES: dict[type[ModelError], str] = {
    InvalidModel: ErrorCode.INVALID, ModelMismatch: ErrorCode.INVALID,
    ModelConflict: ErrorCode.CONFLICT, ModelInUse: ErrorCode.CONFLICT,
    UnknownModel: ErrorCode.NOT_FOUND,
}


async def models_list(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The registered models: id@version, features in order, units, outputs; which are open."""
    inference = ctx.runtime.engine.inference
    if inference is None:
        return {"models": []}
    catalogue = inference.catalogue()
    opened = set(getattr(inference, "opened", lambda: [])())
    return {"models": [{"key": key, **info_to_dict(info), "open": key in opened}
                       for key, info in sorted(catalogue.items())]}


async def models_add(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Check an uploaded model with its sidecar like `models add` does, register it (audited)
    and offer it to projects at once."""
    name, encoded = data["file_name"], data["onnx_base64"]
    limit = ctx.config.model_upload_limit
    if len(encoded) > -(-limit // 3) * 4:
        raise ApiError(ErrorCode.TOO_LARGE, f"{name} is larger than the {limit} bytes a model "
                                            "upload may have (max_model_bytes)")
    try:
        onnx = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(ErrorCode.INVALID, f"{name}: onnx_base64 is not base64 ({exc})",
                       (Detail("not base64 text", "$.onnx_base64"),)) from None
    principal = ctx.principal
    try:
        info = await asyncio.to_thread(ctx.models.add_bytes, name, onnx, data["sidecar"],
                                       principal.user, principal.role)
        path = await asyncio.to_thread(ctx.models.path, info.key)
        sessions = _sessions(ctx)
        if sessions is not None:
            sessions.register(info, path)
    except ModelError as exc:
        raise _api_error(exc) from None
    return {"key": info.key, **info_to_dict(info)}


async def models_remove(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Unregister a model and delete its file (audited); refused while the deployed project
    uses it, naming the flows and nodes that do."""
    key = data["model"]
    project = ctx.runtime.project
    in_use = models_in_use(project, ctx.runtime.registry.catalogue()) if project else {}
    principal = ctx.principal
    try:
        info = await asyncio.to_thread(ctx.models.remove, key, in_use, principal.user,
                                       principal.role)
    except ModelError as exc:
        raise _api_error(exc) from None
    sessions = _sessions(ctx)
    if sessions is not None:
        sessions.unload(key)
    return {"key": info.key, **info_to_dict(info)}


def _sessions(ctx: Context) -> ModelSessions | None:
    """The runtime's model sessions (what projects may use), when it runs models."""
    inference = ctx.runtime.engine.inference
    return inference if isinstance(inference, ModelSessions) else None


def _api_error(exc: ModelError) -> ApiError:
    code = next((c for kind, c in _CODES.items() if isinstance(exc, kind)), ErrorCode.REFUSED)
    return ApiError(code, str(exc))
