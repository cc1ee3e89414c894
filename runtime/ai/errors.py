"""Errors of the model registry and sessions: what was refused and why, worded for the
engineer registering a model or wiring a model node."""

from __future__ import annotations

from runtime.contracts.errors import LinesideError


class ModelError(LinesideError):
    """A model file, its metadata or a request about a model is refused; nothing changed.

    `subject` names what is wrong (a file, "model pump_health@1"), `message` says what.
    """

    def __init__(self, subject: str, message: str) -> None:
        self.subject = subject
        self.message = message
        super().__init__(f"{subject}: {message}")


class InvalidModel(ModelError):
    """The file is not a model onnxruntime can load, or its sidecar metadata is unusable."""


class ModelMismatch(ModelError):
    """The model's interface (input, width, outputs) differs from its metadata or its use."""


class ModelConflict(ModelError):
    """Another file is registered under this id@version, or a registered file changed."""


class UnknownModel(ModelError):
    """No model is registered (or loaded) under this id@version."""


class ModelFailed(ModelError):
    """The model raised while scoring a batch (onnxruntime's reason in the message)."""


class ModelInUse(ModelError):
    """The deployed project uses the model, so it cannot be removed."""
