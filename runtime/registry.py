"""NodeRegistry: the node types a runtime can run, built-in and from plug-ins.

A registry is an instance passed to whoever needs it (no module-level singleton).
Plug-ins declare an entry point in the group "lineside.nodes" that resolves to an
iterable of NodeSpec (or a callable returning one).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from runtime.contracts import LinesideError, NodeSpec
from runtime.contracts.catalog import BUILTIN_SPECS

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lineside.nodes"


class RegistryError(LinesideError):
    """A node type could not be registered or its implementation not loaded."""


class NodeRegistry:
    """Specs by type id (legacy ids resolve to the current spec) and their implementations."""

    def __init__(self, specs: Iterable[NodeSpec] = ()) -> None:
        self._specs: dict[str, NodeSpec] = {}
        self._aliases: dict[str, str] = {}
        self._classes: dict[str, type] = {}
        for spec in specs:
            self.register(spec)

    @classmethod
    def with_builtins(cls, plugins: bool = True) -> NodeRegistry:
        """A registry with the built-in types and, unless disabled, installed plug-ins."""
        registry = cls(BUILTIN_SPECS)
        if plugins:
            registry.load_entry_points()
        return registry

    def register(self, spec: NodeSpec) -> None:
        """Add a node type; a type id or legacy id may be registered once."""
        for type_id in (spec.type, *spec.legacy_ids):
            if type_id in self._specs or type_id in self._aliases:
                raise RegistryError(f"node type '{type_id}' is already registered")
        self._specs[spec.type] = spec
        for legacy in spec.legacy_ids:
            self._aliases[legacy] = spec.type

    def load_entry_points(self) -> None:
        """Register the node types of every installed plug-in; a broken one is logged."""
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded: Any = entry.load()
                specs = loaded() if callable(loaded) else loaded
                for spec in specs:
                    self.register(spec)
            except Exception as exc:
                log.error("registry.plugin_failed entry_point=%s error=%s", entry.name, exc)

    def spec(self, type_id: str) -> NodeSpec:
        """The spec for a type id or legacy id (KeyError if unknown)."""
        return self._specs[self._aliases.get(type_id, type_id)]

    def specs(self) -> list[NodeSpec]:
        """Every registered spec, in registration order."""
        return list(self._specs.values())

    def catalogue(self) -> Mapping[str, NodeSpec]:
        """Type id and legacy id → spec: what validation checks documents against."""
        catalogue = dict(self._specs)
        catalogue.update({alias: self._specs[target] for alias, target in self._aliases.items()})
        return catalogue

    def implementation(self, spec: NodeSpec) -> type:
        """The class named by the spec, imported on first use."""
        cls = self._classes.get(spec.type)
        if cls is None:
            module_name, _, attr = spec.implementation.partition(":")
            try:
                cls = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise RegistryError(
                    f"node type '{spec.type}': cannot load {spec.implementation}: {exc}"
                ) from exc
            self._classes[spec.type] = cls
        return cls
