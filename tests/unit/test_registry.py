"""NodeRegistry: built-ins, legacy ids, and plug-ins from the "lineside.nodes" entry points."""

from __future__ import annotations

import sys

import pytest

from runtime.contracts import NodeSpec, PortSpec
from runtime.registry import NodeRegistry, RegistryError
from tests.fixtures.plugins import install_plugin


def test_builtins_cover_every_family():
    categories = {spec.category for spec in NodeRegistry.with_builtins().specs()}
    assert categories == {"sources", "math", "logic", "ai", "alarms", "actions"}


def test_legacy_id_resolves_to_the_current_spec():
    registry = NodeRegistry.with_builtins()
    assert registry.spec("logic.persistence") is registry.spec("logic.debounce")
    assert "logic.persistence" in registry.catalogue()


def test_a_type_id_is_registered_once():
    registry = NodeRegistry.with_builtins()
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(NodeSpec(type="tag", title="x", category="x", implementation="x:y"))


def test_unknown_implementation_is_a_clear_error():
    registry = NodeRegistry()
    spec = NodeSpec(type="x.y", title="x", category="x", implementation="no.module:Thing")
    registry.register(spec)
    with pytest.raises(RegistryError, match=r"cannot load no\.module:Thing"):
        registry.implementation(spec)


ACME_NODES = '''
    from runtime.contracts import NodeSpec, PortSpec
    from runtime.nodes.base import Node

    class Doubler(Node):
        def receive(self, port, ts, values, quality):
            self.emit("out", ts, [v * 2 for v in values], quality)

    def specs():
        return [NodeSpec(type="acme.double", title="Double", category="math",
                         implementation="acme_nodes:Doubler",
                         inputs=(PortSpec("in"),), outputs=(PortSpec("out"),))]

    def broken():
        raise RuntimeError("acme licence missing")
'''


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """An installed plug-in distribution: a module and a dist-info with entry points."""
    install_plugin(tmp_path, monkeypatch, "acme_nodes", ACME_NODES,
                   {"acme": "acme_nodes:specs", "broken": "acme_nodes:broken"})
    yield
    sys.modules.pop("acme_nodes", None)


def test_plugins_register_through_entry_points(plugin_on_path, caplog):
    registry = NodeRegistry.with_builtins()
    spec = registry.spec("acme.double")
    assert registry.implementation(spec).__name__ == "Doubler"
    assert "acme licence missing" in caplog.text  # the broken plug-in is logged, not fatal
    assert PortSpec("in") in spec.inputs
