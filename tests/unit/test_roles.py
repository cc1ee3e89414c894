"""The control API's roles: ordered least to most privileged, each granting what the ones
before it do; an unknown role grants nothing."""

from __future__ import annotations

import pytest

from runtime.contracts.roles import ADMIN, ENGINEER, OPERATOR, ROLES, VIEWER, role_at_least


def test_roles_run_from_least_to_most_privileged():
    assert ROLES == (VIEWER, OPERATOR, ENGINEER, ADMIN) == (
        "viewer", "operator", "engineer", "admin")


def test_a_role_grants_what_every_role_before_it_does():
    granted = {(role, needed) for role in ROLES for needed in ROLES
               if role_at_least(role, needed)}
    assert granted == {(role, needed) for i, role in enumerate(ROLES) for needed in ROLES[:i + 1]}


@pytest.mark.parametrize("role", ["", "root", "Admin", "admin "])
def test_an_unknown_role_grants_nothing(role):
    assert not role_at_least(role, VIEWER)


def test_asking_for_an_unknown_role_is_a_mistake_in_the_caller():
    with pytest.raises(ValueError, match="unknown role 'superuser'; roles: viewer, operator"):
        role_at_least(ADMIN, "superuser")
