"""What the engine, the validator and the HMI know of an AI model: its identity and its
interface (feature names and units in input order, outputs). Pure data; the model file and
its onnxruntime session live in runtime.ai."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runtime.contracts.nodespec import NodeSpec
from runtime.contracts.project import Project

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


def models_in_use(project: Project, specs: Mapping[str, NodeSpec]) -> dict[str, list[str]]:
    """Every model ("id@version") the project's nodes name in a model parameter, with where:
    ["flow health, node model", ...] (disabled flows too: they come back when enabled)."""
    used: dict[str, list[str]] = {}
    for flow in project.flows:
        for node in flow.nodes:
            spec = specs.get(node.type)
            for param in spec.params if spec is not None else ():
                key = node.params.get(param.name)
                if param.type == "model" and isinstance(key, str):
                    used.setdefault(key, []).append(f"flow {flow.id}, node {node.id}")
    return used
