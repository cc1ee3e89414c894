"""The operation table is the one truth: docs/api.md is generated from it, the client has a
method for each operation, and every schema is valid JSON Schema."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from runtime.api.docs import render
from runtime.api.operations import OPERATIONS
from runtime.client import client as client_module
from runtime.contracts.roles import ROLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_docs_api_md_is_what_the_table_says():
    assert DOC.read_text() == render(), "docs/api.md is stale: run `make docs`"


def test_every_operation_has_a_valid_schema_and_a_known_role():
    for op in OPERATIONS:
        Draft202012Validator.check_schema(op.data)
        assert op.role is None or op.role in ROLES, op.name
        assert op.summary and op.result, op.name
    assert len({op.name for op in OPERATIONS}) == len(OPERATIONS)


def test_the_client_has_a_method_for_every_operation():
    source = inspect.getsource(client_module)
    called = set(re.findall(r'request\("([a-z_.]+)"', source))
    called |= set(re.findall(r'_send\(ws, "([a-z_.]+)"', source))
    assert {op.name for op in OPERATIONS} - called == set()
