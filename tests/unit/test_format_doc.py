"""docs/project-format.md is generated from the schema and the node catalogue, and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.contracts.project_schema import PROJECT_SCHEMA
from runtime.format_doc import StaleProse, render
from runtime.registry import NodeRegistry

DOC = Path(__file__).resolve().parents[2] / "docs" / "project-format.md"


def test_the_committed_project_format_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/project-format.md is stale: run `make docs` and commit it")


def test_every_node_type_and_parameter_is_documented():
    text = render()
    for spec in NodeRegistry.with_builtins(plugins=False).specs():
        section = text.split(f"#### `{spec.type}`: ", 1)[1].split("\n#### ", 1)[0]
        for param in spec.params:
            assert f"| `{param.name}` |" in section, f"{spec.type}.{param.name}"
        for port in (*spec.inputs, *spec.outputs):
            assert f"`{port.name}` ({port.kind}" in section, f"{spec.type}:{port.name}"


def test_a_schema_field_without_prose_stops_the_generator(monkeypatch):
    tag_fields = PROJECT_SCHEMA["properties"]["tags"]["items"]["properties"]
    monkeypatch.setitem(tag_fields, "colour", {"type": "string"})
    with pytest.raises(StaleProse, match=r"section 'Tag': no prose for fields: \['colour'\]"):
        render()
