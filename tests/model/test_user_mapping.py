from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from connector.c1.protocol import reset_adjustments, resource_pb, traits, unpack_all
from connector.c1.rules import violations
from connector.clerk import User
from connector.model.users import user_resource
from tests.clerk.clerk_testkit import parse


@pytest.fixture(autouse=True)
def fresh_adjustments() -> None:
    reset_adjustments()  # each test sees the first cut of a field logged


def email(email_id: str, address: str, status: str | None = "verified") -> dict[str, Any]:
    verification = None if status is None else {"object": "verification_otp", "status": status}
    return {"id": email_id, "email_address": address, "verification": verification}


def make_user(**fields: Any) -> User:
    base: dict[str, Any] = {"id": "user_1", "created_at": 1_700_000_000_000}
    base.update(fields)
    return parse(User, base)


def trait_of(res: resource_pb.Resource) -> traits.UserTrait:
    (trait,) = unpack_all(res.annotations, traits.UserTrait)
    return trait


def test_primary_email_is_joined_by_id_not_position() -> None:
    user = make_user(
        primary_email_address_id="idn_2",
        email_addresses=[
            email("idn_1", "old@example.com"),
            email("idn_2", "main@example.com"),
        ],
    )
    trait = trait_of(user_resource(user))
    assert [(e.address, e.is_primary) for e in trait.emails] == [
        ("old@example.com", False),
        ("main@example.com", True),
    ]
    assert trait.login == "main@example.com"


def test_username_wins_login_and_emails_become_aliases() -> None:
    user = make_user(
        username="zoe",
        primary_email_address_id="idn_1",
        email_addresses=[email("idn_1", "zoe@example.com")],
    )
    trait = trait_of(user_resource(user))
    assert trait.login == "zoe"
    assert list(trait.login_aliases) == ["zoe@example.com"]


def test_user_without_email() -> None:
    res = user_resource(make_user(first_name="Zoë", last_name="Ångström"))
    trait = trait_of(res)
    assert list(trait.emails) == []
    assert trait.login == ""
    assert res.display_name == "Zoë Ångström"
    assert trait.structured_name.given_name == "Zoë"


def test_banned_locked_and_deprovisioned_are_disabled_with_details() -> None:
    res = user_resource(
        make_user(banned=True, locked=True, lockout_expires_in_seconds=600, deprovisioned=True)
    )
    trait = trait_of(res)
    assert trait.status.status == traits.UserTrait.Status.STATUS_DISABLED
    assert trait.status.details == "banned, locked (lockout expires in 600 s), deprovisioned"
    assert res.status.status == resource_pb.Resource.Status.STATUS_DISABLED


def test_active_user_is_enabled() -> None:
    trait = trait_of(user_resource(make_user()))
    assert trait.status.status == traits.UserTrait.Status.STATUS_ENABLED


def test_mfa_sso_and_times() -> None:
    user = make_user(
        totp_enabled=True,
        last_sign_in_at=1_700_000_123_456,
        saml_accounts=[{"id": "samlacc_1", "provider": "saml_okta", "active": True}],
        external_accounts=[{"id": "eac_1", "provider": "oauth_google"}],
    )
    res = user_resource(user)
    trait = trait_of(res)
    assert trait.mfa_status.mfa_enabled
    assert trait.sso_status.sso_enabled
    assert trait.last_login.ToMilliseconds() == 1_700_000_123_456
    assert trait.created_at.ToMilliseconds() == 1_700_000_000_000
    assert res.created_at.ToMilliseconds() == 1_700_000_000_000
    providers = trait.profile.fields["external_providers"].list_value.values
    assert [v.string_value for v in providers] == ["oauth_google"]


def test_no_sign_in_leaves_last_login_unset() -> None:
    trait = trait_of(user_resource(make_user()))
    assert not trait.HasField("last_login")
    assert not trait.mfa_status.mfa_enabled
    assert not trait.sso_status.sso_enabled


def test_only_verified_addresses_are_identities() -> None:
    user = make_user(
        primary_email_address_id="idn_1",
        email_addresses=[
            email("idn_1", "main@example.com"),
            email("idn_2", "claimed@example.com", status="unverified"),
            email("idn_3", "never@example.com", status=None),
            email("idn_4", "late@example.com", status="expired"),
            email("idn_5", "second@example.com"),
        ],
    )
    trait = trait_of(user_resource(user))
    assert [(e.address, e.is_primary) for e in trait.emails] == [
        ("main@example.com", True),
        ("second@example.com", False),
    ]
    assert trait.login == "main@example.com"
    assert list(trait.login_aliases) == ["second@example.com"]
    unverified = trait.profile.fields["unverified_emails"].list_value.values
    assert [v.string_value for v in unverified] == [
        "claimed@example.com",
        "never@example.com",
        "late@example.com",
    ]
    assert violations(user_resource(user)) == []


def test_an_unverified_primary_is_not_the_login() -> None:
    user = make_user(
        primary_email_address_id="idn_1",
        email_addresses=[email("idn_1", "main@example.com", status="unverified")],
    )
    res = user_resource(user)
    trait = trait_of(res)
    assert list(trait.emails) == []
    assert trait.login == ""
    assert list(trait.login_aliases) == []
    assert trait.profile.fields["primary_email"].string_value == "main@example.com"
    assert res.display_name == "main@example.com"  # a label, not an identity


def test_invalid_addresses_are_left_out_of_the_trait() -> None:
    user = make_user(
        primary_email_address_id="idn_1",
        email_addresses=[email("idn_1", "not an address"), email("idn_2", "ok@example.com")],
    )
    trait = trait_of(user_resource(user))
    assert [(e.address, e.is_primary) for e in trait.emails] == [("ok@example.com", False)]
    assert trait.login == ""
    invalid = trait.profile.fields["invalid_emails"].list_value.values
    assert [v.string_value for v in invalid] == ["not an address"]
    assert violations(user_resource(user)) == []


def test_two_addresses_sharing_the_primary_id_make_one_primary() -> None:
    user = make_user(
        primary_email_address_id="idn_1",
        email_addresses=[email("idn_1", "a@example.com"), email("idn_1", "b@example.com")],
    )
    trait = trait_of(user_resource(user))
    assert [(e.address, e.is_primary) for e in trait.emails] == [
        ("a@example.com", True),
        ("b@example.com", False),
    ]
    assert violations(user_resource(user)) == []


def test_an_over_long_name_is_cut_at_a_character_boundary() -> None:
    # 300 + 300 three-byte characters and a space: a 1,801-byte display name.
    with capture_logs() as logs:
        res = user_resource(make_user(first_name="李" * 300, last_name="雷" * 300))
    assert res.display_name == "李" * 300 + " " + "雷" * 41  # 900 + 1 + 123 = 1,024 bytes
    assert violations(res) == []
    assert trait_of(res).structured_name.given_name == "李" * 300  # the trait's name has no limit
    (cut,) = [e for e in logs if e["event"] == "field_truncated"]
    assert (cut["type"], cut["id"], cut["field"], cut["original_bytes"]) == (
        "user",
        "user_1",
        "display_name",
        1801,
    )
    # A four-byte character is never split either: 256 of them fill 1,024 bytes exactly.
    assert user_resource(make_user(first_name="🦄" * 300)).display_name == "🦄" * 256


@pytest.mark.parametrize(
    "milliseconds", [-62_135_596_800_001, 253_402_300_800_000, -(2**63), 2**63 - 1]
)
def test_timestamps_protobuf_cannot_hold_are_left_out(milliseconds: int) -> None:
    res = user_resource(make_user(created_at=milliseconds, last_sign_in_at=milliseconds))
    trait = trait_of(res)
    assert not res.HasField("created_at")
    assert not trait.HasField("created_at")
    assert not trait.HasField("last_login")
    assert violations(res) == []
