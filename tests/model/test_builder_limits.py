"""Every builder, fed the traps Clerk's schema allows, emits only valid messages.

The traps: names with no length limit (1,801 bytes of multi-byte UTF-8 and more), int64
timestamps outside protobuf's range, and role entitlements named the way people read them.
"""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from connector.c1.protocol import grant_annotations, reset_adjustments, unpack_all
from connector.c1.rules import violations
from connector.clerk import Organization, OrganizationMembership, Permission, Role
from tests.clerk.clerk_testkit import (
    membership_json,
    organization_json,
    parse,
    permission_json,
    role_json,
)
from tests.static_clerk import Built, StaticClerk, build_everything

LONG = "李" * 300 + " " + "雷" * 300  # 1,801 bytes
HUGE = "🦄" * 700  # 2,800 bytes: over every name and description limit
OUT_OF_RANGE = [-62_135_596_800_001, 253_402_300_800_000, -(2**63), 2**63 - 1]


@pytest.fixture(autouse=True)
def fresh_adjustments() -> None:
    reset_adjustments()


def instance(
    *,
    org: dict[str, Any] | None = None,
    role: dict[str, Any] | None = None,
    permission: dict[str, Any] | None = None,
) -> StaticClerk:
    perm = parse(Permission, {**permission_json("perm_1", "org:app:read"), **(permission or {})})
    admin = parse(
        Role,
        {
            **role_json("role_1", "org:admin", [permission_json("perm_1", "org:app:read")]),
            **(role or {}),
        },
    )
    return StaticClerk(
        organizations=[parse(Organization, {**organization_json("org_1"), **(org or {})})],
        memberships=[
            parse(
                OrganizationMembership,
                membership_json("orgmem_1", org_id="org_1", user_id="user_1", role="org:admin"),
            ),
            parse(
                OrganizationMembership,
                membership_json("orgmem_2", org_id="org_1", user_id="user_2", role="org:ghost"),
            ),
        ],
        roles=[admin],
        permissions=[perm],
    )


def assert_all_valid(built: Built) -> None:
    for message in built.messages():
        assert violations(message) == [], message


def test_plain_instance_is_valid() -> None:
    built = build_everything(instance())
    assert_all_valid(built)
    assert len(built.grants) == 4  # two member grants, one role grant, one permission grant


@pytest.mark.parametrize("name", [LONG, HUGE])
def test_over_long_names_and_descriptions_are_cut(name: str) -> None:
    with capture_logs() as logs:
        built = build_everything(
            instance(
                org={"name": name, "slug": name},
                role={"name": name, "description": name},
                permission={"name": name, "description": name},
            )
        )
    assert_all_valid(built)
    (org,) = [r for r in built.resources if r.id.resource_type == "organization"]
    assert name.startswith(org.display_name)
    assert len(org.display_name.encode()) > 1020  # cut to the limit, not emptied
    cut = {(e["type"], e["field"]) for e in logs if e["event"] == "field_truncated"}
    assert ("organization", "display_name") in cut
    assert ("organization_role", "display_name") in cut
    if len(name.encode()) > 2048:
        assert ("organization_permission", "description") in cut


@pytest.mark.parametrize("milliseconds", OUT_OF_RANGE)
def test_timestamps_protobuf_cannot_hold_are_left_out(milliseconds: int) -> None:
    with capture_logs() as logs:
        built = build_everything(
            instance(
                org={"created_at": milliseconds},
                role={"created_at": milliseconds},
                permission={"created_at": milliseconds},
            )
        )
    assert_all_valid(built)
    assert not any(r.HasField("created_at") for r in built.resources)
    left_out = {(e["type"], e["field"]) for e in logs if e["event"] == "timestamp_out_of_range"}
    assert left_out == {
        ("organization", "created_at"),
        ("organization_role", "created_at"),
        ("organization_permission", "created_at"),
    }


def test_role_entitlement_slug_is_the_key_and_its_name_reads_like_member() -> None:
    built = build_everything(instance(org={"name": "Acme"}, role={"name": "Admin"}))
    by_id = {e.id: e for e in built.entitlements}
    role = by_id["organization:org_1:role_1"]  # the id keeps the role id: unchanged contract
    assert (role.slug, role.display_name) == ("org:admin", "Acme Admin")
    member = by_id["organization:org_1:member"]
    assert (member.slug, member.display_name) == ("member", "Acme member")


def test_role_grants_carry_the_same_metadata_as_member_grants() -> None:
    built = build_everything(instance())
    listed = ("permissions", "permissions_beyond_role")
    metadata = {
        g.id: {k: v.string_value for k, v in m.metadata.fields.items() if k not in listed}
        for g in built.grants
        for m in unpack_all(g.annotations, grant_annotations.GrantMetadata)
    }
    # The admin's membership lists org:sys_memberships:read, which role_1 does not carry.
    beyond = {
        g.id: [
            v.string_value for v in m.metadata.fields["permissions_beyond_role"].list_value.values
        ]
        for g in built.grants
        for m in unpack_all(g.annotations, grant_annotations.GrantMetadata)
        if "permissions_beyond_role" in m.metadata.fields
    }
    assert beyond == {
        "organization:org_1:member:user:user_1": ["org:sys_memberships:read"],
        "organization:org_1:role_1:user:user_1": ["org:sys_memberships:read"],
    }
    # Only the unresolved key's grant lists the permissions its membership carries.
    with_permissions = {
        g.id
        for g in built.grants
        for m in unpack_all(g.annotations, grant_annotations.GrantMetadata)
        if "permissions" in m.metadata.fields
    }
    assert with_permissions <= {"organization:org_1:member:user:user_2"}
    resolved = {"membership_id": "orgmem_1", "role_key": "org:admin", "role_id": "role_1"}
    assert metadata == {
        "organization:org_1:member:user:user_1": resolved,
        "organization:org_1:role_1:user:user_1": resolved,
        "organization:org_1:member:user:user_2": {
            "membership_id": "orgmem_2",
            "role_key": "org:ghost",
        },
    }
