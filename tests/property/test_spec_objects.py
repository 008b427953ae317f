"""Objects generated from Clerk's own OpenAPI schemas: the connector parses every one, and every
message it builds from them passes every validation rule of the platform.

The objects come from the component schemas of the spec kept in tests/data (see
`openapi_schemas`), parsed the way the client parses Clerk's bodies (JSON bytes through its
msgspec decoders), and are fed to every builder: resource types, user / organization / role /
permission resources, the member, role and permission entitlements, and the grants, all through
the builders' public entry points. `protocol_rules.violations` then checks each message.

Narrowings of the spec, each for a stated reason:
- object ids are 1-64 characters: the models reject ids a protocol id cannot carry (empty, or
  over 256 bytes; see `connector.clerk.models` and its tests); Clerk's are about 30 ASCII.
- arrays hold at most 3 items, a user's at most 2 (but 1 to 3 email addresses, so the email
  paths run every time; users without any are unit-tested), and `organization_memberships`
  none (the connector never reads that field; memberships are generated on their own): list
  length changes no rule, and a User's nested objects dominate the time.
Then, so that the interesting paths run at all, with values the schema allows: memberships,
role sets and role permissions are pointed at the generated organizations, roles and
permissions; most email addresses become well-formed (random strings never are) and verified,
and most users' `primary_email_address_id` names one of their addresses.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.json import Decoder

from connector.c1 import ids
from connector.c1.protocol import traits, unpack_all
from connector.c1.rules import violations
from connector.clerk import (
    OffsetPage,
    Organization,
    OrganizationMembership,
    OrganizationSettings,
    Permission,
    Role,
    RoleSet,
    User,
)
from connector.clerk.decoding import json_decoder
from connector.clerk.models import TotalCount
from connector.model import types
from connector.model.context import AccessNotAttributable
from tests.property.openapi_schemas import SPEC_SHA256, Generator, json_schema, spec_digest
from tests.property.settings import FEW
from tests.static_clerk import StaticClerk, build_everything

ID = {"minLength": 1, "maxLength": 64}
FEW_ITEMS = {"maxItems": 3}
USER_ARRAYS = (
    "email_addresses",
    "phone_numbers",
    "web3_wallets",
    "passkeys",
    "external_accounts",
    "saml_accounts",
    "enterprise_accounts",
)
ENVELOPES = ("Organizations", "OrganizationMemberships", "Roles", "Permissions", "RoleSets")
NARROWED = {
    ("User", "id"): ID,
    ("Organization", "id"): ID,
    ("Role", "id"): ID,
    ("Permission", "id"): ID,
    ("OrganizationMembershipPublicUserData", "user_id"): ID,
    **{("User", name): {"maxItems": 2} for name in USER_ARRAYS},
    ("User", "email_addresses"): {"minItems": 1, "maxItems": 3},
    ("User", "organization_memberships"): {"maxItems": 0},
    ("Role", "permissions"): FEW_ITEMS,
    ("RoleSet", "roles"): FEW_ITEMS,
    **{(name, "data"): FEW_ITEMS for name in ENVELOPES},
}
GENERATE = Generator(NARROWED)

PARSERS: dict[str, Decoder[Any]] = {
    "Organizations": json_decoder(OffsetPage[Organization]),
    "OrganizationMemberships": json_decoder(OffsetPage[OrganizationMembership]),
    "Roles": json_decoder(OffsetPage[Role]),
    "Permissions": json_decoder(OffsetPage[Permission]),
    "RoleSets": json_decoder(OffsetPage[RoleSet]),
    "TotalCount": json_decoder(TotalCount),
    "OrganizationSettings": json_decoder(OrganizationSettings),
}


@cache
def validator(name: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft7Validator(json_schema(name, NARROWED))


def assert_schema_valid(name: str, value: Any) -> None:
    """Guards the generator: what it made really is an instance of the spec's schema."""
    errors = sorted(validator(name).iter_errors(value), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def parse(decoder: Decoder[Any], value: Any) -> Any:
    return decoder.decode(json.dumps(value))  # as the client parses a body


def test_the_spec_copy_is_unmodified() -> None:
    assert spec_digest() == SPEC_SHA256


def objects(name: str, fewest: int, most: int) -> st.SearchStrategy[list[Any]]:
    # Copies: the wiring below edits them, and Hypothesis may hand out one object again.
    return st.lists(GENERATE.objects(name).map(copy.deepcopy), min_size=fewest, max_size=most)


def mostly(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 3)) > 0  # three times in four


def wire_user(draw: st.DrawFn, user: dict[str, Any]) -> None:
    """Mostly well-formed and verified addresses, and a primary that names one."""
    for email in user["email_addresses"]:
        if mostly(draw):
            email["email_address"] = draw(st.emails())
        if email["verification"] is not None and mostly(draw):
            email["verification"]["status"] = "verified"  # a status every variant allows
    email_ids = [email["id"] for email in user["email_addresses"] if "id" in email]
    if email_ids and mostly(draw):
        user["primary_email_address_id"] = draw(st.sampled_from(email_ids))


@st.composite
def users(draw: st.DrawFn) -> User:
    raw = copy.deepcopy(draw(GENERATE.objects("User")))
    wire_user(draw, raw)
    assert_schema_valid("User", raw)
    parsed: list[User] = parse(json_decoder(list[User]), [raw])  # GET /users: a bare array
    return parsed[0]


@given(users())
@FEW  # a User's nested objects make each example cost a few hundred ms to generate
def test_every_user_message_is_valid_and_attributable(user: User) -> None:
    built = build_everything(StaticClerk(users=[user]))
    for message in built.messages():
        assert violations(message) == [], message
    (res,) = built.resources
    (trait,) = unpack_all(res.annotations, traits.UserTrait)
    # Only verified addresses are identities, and none is invented.
    verified = {e.email_address for e in user.email_addresses if e.verified}
    assert {e.address for e in trait.emails} <= verified
    assert set(trait.login_aliases) <= verified
    primary = user.primary_email
    if primary is not None and primary.verified and primary.email_address in verified:
        assert [e.address for e in trait.emails if e.is_primary] in ([], [primary.email_address])


def wire(draw: st.DrawFn, raw: dict[str, list[Any]]) -> None:
    """Point memberships, role sets and roles at the generated objects (schema-valid values)."""
    org_ids = [org["id"] for org in raw["Organization"]]
    role_keys = [role["key"] for role in raw["Role"]]
    set_keys = [role_set["key"] for role_set in raw["RoleSet"]]
    for membership in raw["OrganizationMembership"]:
        membership["organization"]["id"] = draw(st.sampled_from(org_ids))
        if role_keys and mostly(draw):
            membership["role"] = draw(st.sampled_from(role_keys))
    for role_set in raw["RoleSet"]:
        for item in role_set["roles"]:
            if role_keys:
                item["key"] = draw(st.sampled_from(role_keys))
    for org in raw["Organization"]:
        if draw(st.booleans()) and set_keys:
            org["role_set_key"] = draw(st.sampled_from(set_keys))
    for role in raw["Role"]:
        if raw["Permission"]:
            role["permissions"] = draw(
                st.lists(st.sampled_from(raw["Permission"]), max_size=3, unique_by=id)
            )


@st.composite
def instances(draw: st.DrawFn) -> StaticClerk:
    """Organizations, their memberships, roles, permissions and role sets (users are tested
    on their own above: a grant's principal comes from the membership)."""
    raw = {
        "Organization": draw(objects("Organization", 1, 2)),
        "OrganizationMembership": draw(objects("OrganizationMembership", 1, 3)),
        "Role": draw(objects("Role", 1, 3)),
        "Permission": draw(objects("Permission", 0, 3)),
        "RoleSet": draw(objects("RoleSet", 0, 2)),
    }
    wire(draw, raw)
    # Clerk ids name one object each; generated ones may repeat, which no Clerk list does.
    for index, membership in enumerate(raw["OrganizationMembership"]):
        membership["id"] = f"{membership['id']}~{index}"
    for name, values in raw.items():
        for value in values:
            assert_schema_valid(name, value)
    return StaticClerk(
        organizations=[parse(json_decoder(Organization), v) for v in raw["Organization"]],
        memberships=[
            parse(json_decoder(OrganizationMembership), v) for v in raw["OrganizationMembership"]
        ],
        roles=[parse(json_decoder(Role), v) for v in raw["Role"]],
        permissions=[parse(json_decoder(Permission), v) for v in raw["Permission"]],
        role_sets=[parse(json_decoder(RoleSet), v) for v in raw["RoleSet"]],
    )


# Generating from the spec is slow on a loaded machine: an example cut short by the suite's
# 120 s limit would read as a flaky failure, not a slow test.
pytestmark = pytest.mark.timeout(900)


@given(instances())
@FEW
def test_every_organization_role_and_permission_message_is_valid(clerk: StaticClerk) -> None:
    userless = {m.organization.id for m in clerk.memberships if m.public_user_data is None}
    if userless & {org.id for org in clerk.organizations}:
        # A membership that names no user cannot become a grant: the only outcome allowed is
        # the loud failure (FAILED_PRECONDITION on the wire), naming the organization.
        with pytest.raises(AccessNotAttributable, match="has no public_user_data"):
            build_everything(clerk)
        return
    built = build_everything(clerk)
    for message in built.messages():
        assert violations(message) == [], message
    # Role entitlements: the id keeps the role id, the slug is the role's key (of the first
    # role listed with that id, as the catalog keeps).
    role_entitlements: dict[str, Role] = {}
    for org in clerk.organizations:
        for role in clerk.roles:
            role_entitlements.setdefault(
                ids.entitlement_id(types.ORGANIZATION, org.id, role.id), role
            )
    for item in built.entitlements:
        if item.resource.id.resource_type == types.ORGANIZATION and item.slug != types.MEMBER_SLUG:
            assert item.slug == role_entitlements[item.id].key


@given(
    st.sampled_from(sorted(PARSERS)).flatmap(
        lambda name: st.tuples(st.just(name), GENERATE.objects(name))
    )
)
@FEW
def test_list_envelopes_and_settings_parse(case: tuple[str, Any]) -> None:
    name, value = case
    assert_schema_valid(name, value)
    parsed = parse(PARSERS[name], value)
    if isinstance(parsed, OffsetPage):
        assert len(parsed.data) == len(value["data"])
        assert parsed.total_count == value["total_count"]
