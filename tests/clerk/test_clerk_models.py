from __future__ import annotations

import pytest
from msgspec import ValidationError

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
from connector.clerk.models import ClerkModel
from tests.clerk.clerk_testkit import (
    email_json,
    membership_json,
    organization_json,
    page_json,
    parse,
    permission_json,
    role_json,
    role_set_item_json,
    user_json,
)


def test_user_parses_spec_shaped_body_and_ignores_unknown_fields() -> None:
    body = user_json(
        "user_1",
        created_at=1700000000123,
        username="ada",
        external_id="ext-1",
        last_sign_in_at=1700000999000,
        last_active_at=1700000000000,
        banned=True,
        locked=True,
        lockout_expires_in_seconds=300,
        two_factor_enabled=True,
        totp_enabled=True,
        deprovisioned=True,
        some_future_field={"nested": [1, 2]},
        external_accounts=[
            {
                "object": "external_account",
                "id": "eac_1",
                "provider": "oauth_google",
                "identification_id": "idn_g",
                "provider_user_id": "g-123",
                "approved_scopes": "email",
                "email_address": "ada@gmail.com",
                "first_name": "Ada",
                "last_name": "L",
                "public_metadata": {},
                "created_at": 1,
                "updated_at": 1,
                "verification": {"object": "verification_oauth", "status": "verified"},
                "unknown_provider_field": True,
            }
        ],
        saml_accounts=[
            {
                "id": "samlacc_1",
                "object": "saml_account",
                "provider": "saml_okta",
                "active": True,
                "email_address": "ada@corp.com",
                "verification": None,
            }
        ],
        enterprise_accounts=[
            {
                "id": "eacc_1",
                "object": "enterprise_account",
                "protocol": "saml",
                "provider": "saml_okta",
                "active": False,
                "email_address": "ada@corp.com",
                "verification": None,
                "enterprise_connection": None,
            }
        ],
        passkeys=[
            {
                "id": "pk_1",
                "object": "passkey",
                "name": "laptop",
                "last_used_at": 5,
                "verification": None,
            }
        ],
    )
    user = parse(User, body)
    assert user.id == "user_1"
    assert user.username == "ada"
    assert user.external_id == "ext-1"
    assert user.created_at == 1700000000123
    assert user.last_sign_in_at == 1700000999000
    assert (user.banned, user.locked, user.deprovisioned) == (True, True, True)
    assert user.lockout_expires_in_seconds == 300
    assert (user.two_factor_enabled, user.totp_enabled, user.backup_code_enabled) == (
        True,
        True,
        False,
    )
    assert user.password_enabled is True
    assert user.external_accounts[0].provider == "oauth_google"
    assert user.saml_accounts[0].active is True
    assert user.enterprise_accounts[0].active is False
    assert len(user.passkeys) == 1
    assert not hasattr(user, "some_future_field")


def test_primary_email_is_joined_by_id_not_position() -> None:
    body = user_json(
        "user_1",
        primary_email_address_id="idn_b",
        email_addresses=[
            email_json("idn_a", "first@example.com"),
            email_json("idn_b", "primary@example.com", status="unverified"),
        ],
    )
    user = parse(User, body)
    assert user.primary_email is not None
    assert user.primary_email.email_address == "primary@example.com"


@pytest.mark.parametrize("primary_id", [None, "idn_missing"])
def test_primary_email_absent_when_id_is_null_or_dangling(primary_id: str | None) -> None:
    body = user_json("user_1", primary_email_address_id=primary_id)
    assert parse(User, body).primary_email is None


def test_user_tolerates_null_and_absent_optional_fields() -> None:
    body = {
        "id": "user_min",
        "created_at": 1,
        "email_addresses": None,
        "external_accounts": None,
        "banned": None,
        "primary_email_address_id": None,
    }
    user = parse(User, body)
    assert user.email_addresses == []
    assert user.external_accounts == []
    assert user.passkeys == []
    assert user.banned is False
    assert user.deprovisioned is False
    assert user.last_sign_in_at is None
    assert user.primary_email is None


@pytest.mark.parametrize("missing", ["id", "created_at"])
def test_user_without_required_field_is_rejected(missing: str) -> None:
    body = user_json("user_1")
    del body[missing]
    with pytest.raises(ValidationError):
        parse(User, body)


def test_models_are_frozen() -> None:
    user = parse(User, user_json("user_1"))
    with pytest.raises(AttributeError):
        user.banned = True  # type: ignore[misc]


def test_members_count_absent_is_none_not_zero() -> None:
    without = parse(Organization, organization_json("org_1"))
    with_zero = parse(Organization, organization_json("org_2", members_count=0))
    with_some = parse(Organization, organization_json("org_3", members_count=7))
    assert without.members_count is None
    assert with_zero.members_count == 0
    assert with_some.members_count == 7
    assert without.role_set_key is None
    assert (
        parse(Organization, organization_json("org_4", role_set_key="role_set:eng")).role_set_key
        == "role_set:eng"
    )


def test_membership_parses_and_exposes_user_id() -> None:
    membership = parse(
        OrganizationMembership,
        membership_json("orgmem_1", org_id="org_9", user_id="user_7", role="org:admin"),
    )
    assert membership.user_id == "user_7"
    assert membership.role == "org:admin"
    assert membership.organization.id == "org_9"
    assert membership.public_user_data is not None
    assert membership.public_user_data.identifier == "user_7@example.com"


def test_membership_without_public_user_data_has_no_user_id() -> None:
    body = membership_json("orgmem_1")
    del body["public_user_data"]
    membership = parse(OrganizationMembership, body)
    assert membership.user_id is None


def test_role_embeds_full_permissions() -> None:
    role = parse(
        Role,
        role_json(
            "role_1",
            "org:admin",
            [
                permission_json("perm_1", "org:sys_memberships:manage"),
                permission_json("perm_2", "org:app:read"),
            ],
        ),
    )
    assert role.is_creator_eligible is True
    assert [p.key for p in role.permissions] == ["org:sys_memberships:manage", "org:app:read"]
    assert role.permissions[0].type == "system"
    assert role.description is None


def test_role_set_lists_its_roles_by_key_and_type() -> None:
    body = {
        "object": "role_set",
        "id": "rs_1",
        "name": "Default",
        "key": "role_set:default",
        "description": None,
        "roles": [
            role_set_item_json("role_1", "org:admin"),
            role_set_item_json("role_2", "org:member"),
        ],
        "default_role": role_set_item_json("role_2", "org:member"),
        "creator_role": role_set_item_json("role_1", "org:admin"),
        "type": "initial",
        "role_set_migration": None,
        "created_at": 1,
        "updated_at": 2,
    }
    role_set = parse(RoleSet, body)
    assert [r.key for r in role_set.roles] == ["org:admin", "org:member"]
    assert role_set.type == "initial"
    assert parse(RoleSet, {**body, "roles": None}).roles == []


def test_organization_settings() -> None:
    settings = parse(
        OrganizationSettings,
        {
            "object": "organization_settings",
            "enabled": True,
            "max_allowed_memberships": 5,
            "max_allowed_roles": 10,
            "max_allowed_domains": 10,
            "creator_role": "org:admin",
            "admin_delete_enabled": True,
            "domains_default_role": "org:member",
            "initial_role_set_key": None,
        },
    )
    assert settings.initial_role_set_key is None
    named = parse(OrganizationSettings, {"initial_role_set_key": "role_set:eng"})
    assert named.initial_role_set_key == "role_set:eng"


def test_offset_page_is_generic() -> None:
    page = parse(OffsetPage[Organization], page_json([organization_json("org_1")], total_count=42))
    assert page.total_count == 42
    assert isinstance(page.data[0], Organization)
    with pytest.raises(ValidationError):
        parse(OffsetPage[Organization], {"data": [{"id": "org_1"}], "total_count": 1})


@pytest.mark.parametrize(
    ("verification", "verified"),
    [
        ({"object": "verification_otp", "status": "verified", "strategy": "email_code"}, True),
        ({"object": "verification_admin", "status": "verified", "strategy": "admin"}, True),
        ({"object": "verification_otp", "status": "unverified", "strategy": "email_code"}, False),
        ({"object": "verification_ticket", "status": "expired", "strategy": "ticket"}, False),
        ({"object": "verification_otp", "status": "failed", "strategy": "email_code"}, False),
        ({"object": "verification_saml", "status": "transferable", "strategy": "saml"}, False),
        (None, False),  # required but nullable: Clerk never verified the address
    ],
)
def test_email_verification_status(verification: object, verified: bool) -> None:
    body = user_json("user_1", email_addresses=[{**email_json("idn_1", "a@example.com")}])
    body["email_addresses"][0]["verification"] = verification
    (email,) = parse(User, body).email_addresses
    assert email.verified is verified


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (User, user_json("user_1")),
        (Organization, organization_json("org_1")),
        (Role, role_json("role_1", "org:admin", [])),
        (Permission, permission_json("perm_1", "org:app:read")),
    ],
)
@pytest.mark.parametrize("bad_id", ["", "x" * 257, "é" * 129])
def test_an_id_the_protocol_cannot_carry_is_rejected(
    model: type[ClerkModel], body: dict[str, object], bad_id: str
) -> None:
    # Schema-valid, but as a protocol id it would be empty or push a grant id past 1024 bytes;
    # the read fails loudly rather than emitting a cut (possibly colliding) id.
    with pytest.raises(ValidationError):
        parse(model, {**body, "id": bad_id})
    fits = parse(model, {**body, "id": "é" * 128})  # 256 bytes: fits
    assert getattr(fits, "id") == "é" * 128  # noqa: B009
