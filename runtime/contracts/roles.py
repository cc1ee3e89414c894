"""The control API's roles, least to most privileged; a role grants what every role before
it does. Pure data shared by the runtime (which checks requests) and the HMI (which shows
what a user may do)."""

from __future__ import annotations

ROLES = ("viewer", "operator", "engineer", "admin")
VIEWER, OPERATOR, ENGINEER, ADMIN = ROLES


def role_at_least(role: str, needed: str) -> bool:
    """True when `role` grants at least what `needed` does; an unknown role grants nothing.

    ValueError for an unknown `needed`: that is a mistake in the caller, not in a request."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r}; roles: {', '.join(ROLES)}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
