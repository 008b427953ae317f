from __future__ import annotations

from typing import Any

from connector.clerk import User
from connector.protocol import resource, traits, unpack_all
from connector.resources.users import user_resource


def make_user(**fields: Any) -> User:
    base: dict[str, Any] = {"id": "user_1", "created_at": 1_700_000_000_000}
    base.update(fields)
    return User.model_validate(base)


def trait_of(res: resource.Resource) -> traits.UserTrait:
    (trait,) = unpack_all(res.annotations, traits.UserTrait)
    return trait


def test_primary_email_is_joined_by_id_not_position() -> None:
    user = make_user(
        primary_email_address_id="idn_2",
        email_addresses=[
            {"id": "idn_1", "email_address": "old@example.com"},
            {"id": "idn_2", "email_address": "main@example.com"},
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
        email_addresses=[{"id": "idn_1", "email_address": "zoe@example.com"}],
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
    assert res.status.status == resource.Resource.Status.STATUS_DISABLED


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
