"""Typed errors of the simulated plant, worded for the engineer driving a test or a demo."""

from __future__ import annotations

from runtime.contracts.errors import LinesideError


class SimError(LinesideError):
    """A request to the simulated plant cannot be honoured; nothing was changed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class UnknownSignal(SimError):
    """The signal does not exist, or cannot be faulted or overridden (a command)."""


class UnknownFault(SimError):
    """The fault kind is not one the simulated plant knows."""


class InvalidFault(SimError):
    """The fault kind is known but its parameters are missing or out of range."""
