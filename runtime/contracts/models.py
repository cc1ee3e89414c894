"""What the engine, the validator and the HMI know of an AI model: its identity and its
interface (feature names and units in input order, outputs). Pure data; the model file and
its onnxruntime session live in runtime.ai."""

from __future__ import annotations

from dataclasses import dataclass

FEATURE_STATS = ("last", "mean", "rms", "std", "min", "max")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A registered model version: id@version, content hash, inputs and outputs.

    The model takes one float32 input `input_name` of shape (rows, len(features)), the
    features in this order and these units, and gives the named outputs, each (rows,) or
    (rows, 1).
    """

    id: str
    version: int
    hash: str
    input_name: str
    features: tuple[str, ...]
    units: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str = ""

    @property
    def key(self) -> str:
        """How a project names this model: "id@version"."""
        return f"{self.id}@{self.version}"
