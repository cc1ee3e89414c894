"""The OPC UA standard address space, built once and copied into each simulated PLC.

asyncua builds the ~6 200 standard nodes for every Server.init(), which costs ~0.5-1 s of CPU;
copying a prebuilt set costs ~0.1 s. Tests start a plant per test, so they share one
StandardNodes (a session fixture) and each plant starts in a fraction of a second.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from asyncua import ua
from asyncua.server.address_space import (
    AddressSpace,
    AttributeValue,
    NodeData,
    NodeManagementService,
)
from asyncua.server.internal_server import InternalServer
from asyncua.server.standard_address_space import standard_address_space

_T = TypeVar("_T")


class StandardNodes:
    """A pristine standard address space; `copy_into` gives a server its own copy of it.

    A copy shares only what no server changes in place (node ids, scalar values, reference
    descriptions); node records, attribute records, reference lists and container values
    (lists, structures) are the copy's own, so servers made from one template stay independent.
    """

    def __init__(self, template: AddressSpace) -> None:
        self._template = template

    @classmethod
    def build(cls) -> StandardNodes:
        """Build the standard nodes the way asyncua does (blocking, ~1 s)."""
        template = AddressSpace()
        with gc_paused():
            standard_address_space.fill_address_space(NodeManagementService(template))
        return cls(template)

    def __len__(self) -> int:
        return len(self._template.keys())

    def copy_into(self, aspace: AddressSpace) -> None:
        """Add an independent copy of every standard node to an address space."""
        with gc_paused():
            for nodeid in list(self._template.keys()):
                aspace[nodeid] = _copy_node(self._template[nodeid])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while tens of thousands of long-lived nodes are made.

    Each allocation burst triggers full collections of an ever larger heap, which more than
    doubles asyncua's build time (1.2 s -> 0.5 s without them). GC is re-enabled only if it
    was enabled before, so nested or overlapping pauses end in the state they found.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class PrebuiltInternalServer(InternalServer):
    """asyncua InternalServer that copies the standard nodes instead of building them."""

    def __init__(self, standard_nodes: StandardNodes) -> None:
        super().__init__()
        self._standard_nodes = standard_nodes

    async def load_standard_address_space(self, shelf_file: Path | None = None) -> None:
        """Copy the prebuilt standard nodes (asyncua's hook for where they come from)."""
        self._standard_nodes.copy_into(self.aspace)


def _copy_node(node: NodeData) -> NodeData:
    new = _shallow(node)
    new.attributes = {attr: _copy_attribute(attr, value) for attr, value in node.attributes.items()}
    new.references = list(node.references)
    return new


def _copy_attribute(attr: ua.AttributeIds, attribute: AttributeValue) -> AttributeValue:
    new = _shallow(attribute)
    new.datachange_callbacks = {}
    value = attribute.value
    if attr == ua.AttributeIds.Value and value is not None and value.Value is not None:
        payload = value.Value.Value
        if _is_mutable_container(payload):
            variant = dataclasses.replace(value.Value, Value=copy.deepcopy(payload))
            new.value = dataclasses.replace(value, Value=variant)
    return new


def _shallow(obj: _T) -> _T:
    """A new object of the same class with the same attribute bindings (faster than copy.copy)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _is_mutable_container(value: object) -> bool:
    if isinstance(value, list | dict):
        return True
    params = getattr(value, "__dataclass_params__", None)
    return params is not None and not isinstance(value, type) and not params.frozen
