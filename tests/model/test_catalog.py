from __future__ import annotations

from typing import Any

from connector.clerk import Permission, Role, RoleSet
from connector.model.catalog import RoleCatalog
from tests.clerk.clerk_testkit import parse


def role(role_id: str, key: str, *perms: str) -> Role:
    return parse(
        Role,
        {
            "id": role_id,
            "key": key,
            "name": key,
            "permissions": [{"id": f"perm_{p}", "key": p} for p in perms],
        },
    )


def role_set(key: str, *role_keys: str) -> RoleSet:
    body: dict[str, Any] = {
        "id": f"rs_{key}",
        "key": key,
        "roles": [{"id": f"x_{k}", "key": k} for k in role_keys],
    }
    return parse(RoleSet, body)


ADMIN = role("role_1", "org:admin", "org:sys_memberships:manage", "org:invoices:read")
MEMBER = role("role_2", "org:member", "org:invoices:read")
LEGACY = role("role_3", "admin", "org:sys_memberships:manage")
CATALOG = RoleCatalog(
    roles=(ADMIN, MEMBER, LEGACY),
    permissions=(parse(Permission, {"id": "perm_x", "key": "org:invoices:read"}),),
    role_sets=(role_set("default", "org:admin", "org:member"), role_set("legacy", "admin")),
    initial_role_set_key="default",
)


def test_keys_resolve_by_exact_match_only() -> None:
    assert CATALOG.role_for_key("org:admin") == ADMIN
    assert CATALOG.role_for_key("admin") == LEGACY  # a legacy key is its own role
    assert CATALOG.role_for_key("ORG:ADMIN") is None
    assert CATALOG.role_for_key("org:ghost") is None


def test_assignable_roles_follow_the_role_set() -> None:
    assert CATALOG.assignable_roles("legacy") == (LEGACY,)
    assert CATALOG.assignable_roles(None) == (ADMIN, MEMBER)  # the initial set


def test_unknown_or_missing_role_sets_allow_every_role() -> None:
    assert CATALOG.assignable_roles("not-a-set") == (ADMIN, MEMBER, LEGACY)
    bare = RoleCatalog(roles=(ADMIN, MEMBER), permissions=())
    assert bare.assignable_roles(None) == (ADMIN, MEMBER)


def test_roles_with_permission() -> None:
    assert CATALOG.roles_with_permission("org:sys_memberships:manage") == [ADMIN, LEGACY]
    assert CATALOG.roles_with_permission("org:unused") == []
    assert CATALOG.permission("perm_x") is not None
    assert CATALOG.permission("perm_missing") is None
