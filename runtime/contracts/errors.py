"""Typed errors with a JSON path and a message a plant engineer understands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where it is (JSON path) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class LinesideError(Exception):
    """Base of every error the runtime raises on purpose."""


class ValidationFailed(LinesideError):
    """A project document has problems; nothing was deployed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"project has {len(self.problems)} problem(s):\n{lines}")


class ExpressionError(LinesideError):
    """An expression is not valid in the restricted expression language."""


class EvaluationError(ExpressionError):
    """A valid expression could not be computed for these inputs (division by zero,
    a result too large, a math domain error, an input that is not a number)."""


class AddressError(LinesideError, ValueError):
    """A tag address does not follow its protocol's grammar, or the tag's type or
    writability does not fit there; `field` names the tag field at fault."""

    def __init__(self, message: str, field: str = "address") -> None:
        self.field = field
        super().__init__(message)


class DriverError(LinesideError):
    """A PLC connection failed to read or write."""


class WriteRefused(LinesideError):
    """A write was refused by the safety checks (envelope, line mode, quality)."""

    def __init__(self, tag: str, reason: str) -> None:
        self.tag = tag
        self.reason = reason
        super().__init__(f"write to {tag} refused: {reason}")
