"""The instance's organization roles, permissions and role sets, joined for lookups.

Memberships name roles by KEY (`org:admin`, legacy `admin`), which is neither stable nor
unique over time; everything the connector emits uses the role ID. This module is the one
place that turns keys into roles, by exact match against /organization_roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from connector.clerk import (
    ClerkClient,
    ClerkError,
    ClerkNotFoundError,
    ClerkPermissionError,
    ClerkRequestError,
    Permission,
    Role,
    RoleSet,
)
from connector.clerk.paging import EvidenceObserver

log = structlog.get_logger(__name__)

_Item = TypeVar("_Item", Role, Permission, RoleSet)


@dataclass(frozen=True)
class RoleCatalog:
    roles: tuple[Role, ...]
    permissions: tuple[Permission, ...]
    role_sets: tuple[RoleSet, ...] = ()
    initial_role_set_key: str | None = None
    _by_key: dict[str, Role] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, Role] = field(init=False, repr=False, compare=False)
    _set_roles: dict[str, tuple[Role, ...]] = field(init=False, repr=False, compare=False)
    _permissions: dict[str, Permission] = field(init=False, repr=False, compare=False)
    _default_keys: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {role.key: role for role in self.roles}
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_by_id", {role.id: role for role in self.roles})
        set_roles = {
            role_set.key: tuple(by_key[item.key] for item in role_set.roles if item.key in by_key)
            for role_set in self.role_sets
        }
        object.__setattr__(self, "_set_roles", set_roles)
        object.__setattr__(self, "_permissions", {p.id: p for p in self.permissions})
        defaults = {
            role_set.key: role_set.default_role.key
            for role_set in self.role_sets
            if role_set.default_role is not None
        }
        object.__setattr__(self, "_default_keys", defaults)

    def role_for_key(self, key: str) -> Role | None:
        """The role a membership's role key names, or None when no role has that key."""
        return self._by_key.get(key)

    def role(self, role_id: str) -> Role | None:
        return self._by_id.get(role_id)

    def assignable_roles(self, role_set_key: str | None) -> tuple[Role, ...]:
        """Roles an organization may assign: its role set, else the instance's initial set.

        Instances without role sets (or naming a set we cannot see) may assign every role.
        """
        key = role_set_key or self.initial_role_set_key
        if key is not None and key in self._set_roles:
            return self._set_roles[key]
        return self.roles

    def default_role(self, role_set_key: str | None) -> Role | None:
        """The role new members get: the organization's role set's default, else the initial
        set's; None when role sets say nothing (or name a role the catalog lacks)."""
        for key in (role_set_key, self.initial_role_set_key):
            if key is not None and key in self._default_keys:
                return self._by_key.get(self._default_keys[key])
        return None

    def roles_with_permission(self, permission_key: str) -> list[Role]:
        return [
            role for role in self.roles if any(p.key == permission_key for p in role.permissions)
        ]

    def permission(self, permission_id: str) -> Permission | None:
        return self._permissions.get(permission_id)


# The system permission that lets a member manage the organization's members: Clerk keeps at
# least one member holding it, and a role carrying it is "admin-level" here.
MANAGE_MEMBERS = "org:sys_memberships:manage"


def is_admin_level(role: Role) -> bool:
    return any(permission.key == MANAGE_MEMBERS for permission in role.permissions)


def privilege_order(roles: Iterable[Role]) -> dict[str, int]:
    """Role id -> rank from 1, rising with privilege: admin-level last, then by how many
    permissions a role carries, ties by key (stable across syncs)."""
    ranked = sorted(roles, key=lambda r: (is_admin_level(r), len(r.permissions), r.key))
    return {role.id: rank for rank, role in enumerate(ranked, start=1)}


def load_catalog(
    client: ClerkClient,
    *,
    with_permissions: bool = True,
    on_evidence: EvidenceObserver | None = None,
) -> RoleCatalog:
    roles = _unique(client.list_roles(on_evidence))
    permissions = _unique(client.list_permissions(on_evidence)) if with_permissions else ()
    try:
        role_sets = _unique(client.list_role_sets(on_evidence))
        # The set of type "initial" is the instance's initial set; only when no set says so
        # does it cost a request to the organization settings.
        initial_key = next(
            (role_set.key for role_set in role_sets if role_set.type == "initial"), None
        ) or (client.organization_settings().initial_role_set_key if role_sets else None)
    except (ClerkNotFoundError, ClerkPermissionError, ClerkRequestError) as exc:
        if not _feature_missing(exc):
            raise
        # Instances from before role sets (404), or a plan without them (402 or 403): every
        # role is assignable in every organization.
        log.warning(
            "role_sets_unavailable",
            status=exc.status,
            effect="every role counts as assignable everywhere",
        )
        role_sets, initial_key = (), None
    return RoleCatalog(
        roles=roles,
        permissions=permissions,
        role_sets=role_sets,
        initial_role_set_key=initial_key,
    )


# 404: no such endpoint on an old instance; 402 (payment required) or 403: not in the plan.
_FEATURE_MISSING = frozenset({402, 403, 404})


def _feature_missing(exc: ClerkError) -> bool:
    return exc.status in _FEATURE_MISSING


def _unique(items: Iterable[_Item]) -> tuple[_Item, ...]:
    seen: dict[str, _Item] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return tuple(sorted(seen.values(), key=lambda item: item.id))
