"""A platform-style sync over real gRPC against the fake Clerk over real HTTP: exact id sets."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from connector.c1.protocol import grant_annotations, resource_pb, traits, unpack_all
from connector.c1.rules import violations
from connector.demo import render_summary
from connector.fake_clerk import FakeClerk, awkward, demo, generate
from connector.fake_clerk.data import samples as s
from connector.platform.syncer import SyncResult, run_sync
from tests.e2e.harness import TEST_KEY, connector_for, expected_ids, running


def ids_of(result: SyncResult) -> tuple[list[str], list[str], list[str]]:
    resources = [f"{r.id.resource_type}:{r.id.resource}" for r in result.resources]
    return resources, [e.id for e in result.entitlements], [g.id for g in result.grants]


def assert_exact(result: SyncResult, dataset_factory: object) -> None:
    expected = expected_ids(dataset_factory)  # type: ignore[arg-type]
    resources, entitlements, grants = ids_of(result)
    assert len(resources) == len(set(resources)), "duplicate resources"
    assert len(entitlements) == len(set(entitlements)), "duplicate entitlements"
    assert len(grants) == len(set(grants)), "duplicate grants"
    assert set(resources) == expected.resources
    assert set(entitlements) == expected.entitlements
    assert set(grants) == expected.grants


@pytest.mark.parametrize("page_size", [0, 1, 3])
def test_awkward_instance_exact_ids(page_size: int) -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel, page_size=page_size)
    assert_exact(result, data)
    assert result.unresolved_role_keys() == Counter(expected_ids(data).unresolved)


def test_demo_instance_exact_ids() -> None:
    data = demo()
    with running(data) as c:
        result = run_sync(c.channel)
    assert_exact(result, data)


@pytest.mark.parametrize(
    ("users", "orgs", "memberships"),
    [(499, 3, 40), (500, 500, 700), (501, 501, 1001), (1001, 2, 1001)],
)
def test_page_boundaries(users: int, orgs: int, memberships: int) -> None:
    data = generate(users=users, organizations=orgs, memberships=memberships, seed=users)
    with running(data) as c:
        result = run_sync(c.channel)
    assert_exact(result, data)
    counts = result.counts()
    assert counts["user"]["resources"] == users
    assert counts["organization"]["resources"] == orgs


def test_every_grant_has_its_entitlement_and_principal() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    entitlements = {e.id for e in result.entitlements}
    resources = {(r.id.resource_type, r.id.resource) for r in result.resources}
    for item in result.grants:
        assert item.entitlement.id in entitlements
        assert (item.principal.id.resource_type, item.principal.id.resource) in resources
        assert item.id == f"{item.entitlement.id}:{item.principal.id.resource_type}:" + (
            item.principal.id.resource
        )


def test_legacy_and_unresolvable_role_keys() -> None:
    data = awkward()
    with running(data) as c, capture_logs() as logs:
        result = run_sync(c.channel)
    warnings = [e for e in logs if e["event"] == "unresolved_role_key"]
    assert [(w["organization_id"], w["role_key"], w["members"]) for w in warnings] == [
        (s.ORG_ACME, "org:ghost", 1)
    ]
    assert all(w["log_level"] == "warning" for w in warnings)
    grants = {g.id for g in result.grants}
    ghost = data.memberships[s.MEMBERSHIP_GHOST]
    legacy = data.memberships[s.MEMBERSHIP_LEGACY_ADMIN]
    # The legacy key resolves to its own role id; the ghost key keeps only the member grant.
    assert (
        f"organization:{legacy.organization_id}:{s.ROLE_LEGACY_ADMIN}:user:{legacy.user_id}"
        in grants
    )
    assert f"organization:{ghost.organization_id}:member:user:{ghost.user_id}" in grants
    assert not any(
        g.startswith(f"organization:{ghost.organization_id}:")
        and g.endswith(f":user:{ghost.user_id}")
        and ":member:" not in g
        for g in grants
    )
    assert result.unresolved_role_keys() == Counter({"org:ghost": 1})
    # The member grant tells reviewers the raw key.
    (member_grant,) = [
        g
        for g in result.grants
        if g.id == f"organization:{ghost.organization_id}:member:user:{ghost.user_id}"
    ]
    (meta,) = unpack_all(member_grant.annotations, grant_annotations.GrantMetadata)
    assert meta.metadata.fields["role_key"].string_value == "org:ghost"
    assert "role_id" not in meta.metadata.fields


def test_role_outside_the_set_still_gets_an_entitlement() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    outside = data.memberships[s.MEMBERSHIP_OUTSIDE_SET]
    entitlements = {e.id: e for e in result.entitlements}
    # The id keeps the stable role id; slug and name are what people recognise.
    ent = entitlements[f"organization:{s.ORG_RESTRICTED}:{s.ROLE_BILLING_VIEWER}"]
    (viewer,) = [r for r in data.roles.values() if r.id == s.ROLE_BILLING_VIEWER]
    assert ent.slug == viewer.key == "org:billing_viewer"
    org_name = data.organizations[s.ORG_RESTRICTED].name
    assert ent.display_name == f"{org_name} {viewer.name}"
    assert f"organization:{s.ORG_RESTRICTED}:{s.ROLE_BILLING_VIEWER}:user:{outside.user_id}" in {
        g.id for g in result.grants
    }
    # The restricted set does not include legacy roles: no entitlement for them there.
    assert f"organization:{s.ORG_RESTRICTED}:{s.ROLE_LEGACY_ADMIN}" not in entitlements


@pytest.mark.parametrize("dataset", [awkward, demo])
def test_every_message_of_a_sync_passes_the_platforms_rules(dataset: Callable[[], Any]) -> None:
    with running(dataset()) as c:
        result = run_sync(c.channel)
    messages = [*result.resource_types, *result.resources, *result.entitlements, *result.grants]
    assert {item.id for item in result.grants}
    assert [(item, violations(item)) for item in messages if violations(item)] == []


def test_role_grants_carry_the_membership_metadata() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    roles = {role.id: role for role in data.roles.values()}
    role_grants = [
        g
        for g in result.grants
        if g.entitlement.resource.id.resource_type == "organization"
        and g.entitlement.slug != "member"
    ]
    assert role_grants
    for item in role_grants:
        (meta,) = unpack_all(item.annotations, grant_annotations.GrantMetadata)
        fields = meta.metadata.fields
        membership = data.memberships[fields["membership_id"].string_value]
        role_id = item.entitlement.id.rsplit(":", 1)[1]
        assert fields["role_id"].string_value == role_id
        assert fields["role_key"].string_value == membership.role == roles[role_id].key
        assert item.entitlement.slug == roles[role_id].key
        assert membership.user_id == item.principal.id.resource


def test_unverified_addresses_are_no_identity() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    trait = user_traits(result)[s.USER_PRIMARY_SECOND]
    user = data.users[s.USER_PRIMARY_SECOND]
    unverified = user.email(s.EMAIL_NOT_PRIMARY)
    primary = user.email(s.EMAIL_PRIMARY_SECOND)
    assert unverified is not None
    assert primary is not None
    assert [(e.address, e.is_primary) for e in trait.emails] == [(primary.email_address, True)]
    assert unverified.email_address not in trait.login_aliases
    listed = trait.profile.fields["unverified_emails"].list_value.values
    assert [v.string_value for v in listed] == [unverified.email_address]


def user_traits(result: SyncResult) -> dict[str, traits.UserTrait]:
    found = {}
    for res in result.resources:
        if res.id.resource_type == "user":
            (trait,) = unpack_all(res.annotations, traits.UserTrait)
            found[res.id.resource] = trait
    return found


def test_user_details_survive_the_wire() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    users = user_traits(result)
    disabled = traits.UserTrait.Status.STATUS_DISABLED
    assert list(users[s.USER_NO_EMAIL].emails) == []
    assert users[s.USER_BANNED].status.status == disabled
    assert "banned" in users[s.USER_BANNED].status.details
    assert users[s.USER_LOCKED].status.status == disabled
    assert str(s.LOCKOUT_SECONDS) in users[s.USER_LOCKED].status.details
    assert users[s.USER_LOCKED_FOREVER].status.details == "locked"
    assert users[s.USER_DEPROVISIONED].status.status == disabled
    assert users[s.USER_ALICE].status.status == traits.UserTrait.Status.STATUS_ENABLED
    primary = [e for e in users[s.USER_PRIMARY_SECOND].emails if e.is_primary]
    expected_primary = data.users[s.USER_PRIMARY_SECOND].email(s.EMAIL_PRIMARY_SECOND)
    assert expected_primary is not None
    assert [e.address for e in primary] == [expected_primary.email_address]
    assert not any(e.is_primary for e in users[s.USER_NULL_PRIMARY].emails)
    assert users[s.USER_TOTP].mfa_status.mfa_enabled
    assert users[s.USER_SSO].sso_status.sso_enabled
    providers = users[s.USER_OAUTH].profile.fields["external_providers"].list_value.values
    assert {v.string_value for v in providers} == {"oauth_google", "oauth_github"}
    names = {r.id.resource: r.display_name for r in result.resources}
    assert names[s.USER_ZOE] == "Zoë Ångström"
    assert "李雷" in names[s.USER_LI]
    disabled_resources = {
        r.id.resource
        for r in result.resources
        if r.status.status == resource_pb.Resource.Status.STATUS_DISABLED
    }
    expected_disabled = {
        u.id for u in data.users.values() if u.banned or u.locked or u.deprovisioned
    }
    assert disabled_resources == expected_disabled


def test_organization_trait_has_slug_and_member_count() -> None:
    data = awkward()
    with running(data) as c:
        result = run_sync(c.channel)
    for res in result.resources:
        if res.id.resource_type != "organization":
            continue
        (group,) = unpack_all(res.annotations, traits.GroupTrait)
        org = data.organizations[res.id.resource]
        assert group.profile.fields["slug"].string_value == org.slug
        assert group.profile.fields["members_count"].number_value == data.members_count(org.id)


@pytest.mark.parametrize(
    "off", ["user", "organization", "organization_role", "organization_permission"]
)
def test_switched_off_type_is_not_served_and_never_named(off: str) -> None:
    data = awkward()
    variable = {
        "user": "CONNECTOR_SYNC_USERS",
        "organization": "CONNECTOR_SYNC_ORGANIZATIONS",
        "organization_role": "CONNECTOR_SYNC_ORGANIZATION_ROLES",
        "organization_permission": "CONNECTOR_SYNC_ORGANIZATION_PERMISSIONS",
    }[off]
    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        connector_for(fake, env={variable: "false"}) as c,
    ):
        result = run_sync(c.channel)
    served = frozenset(
        {"user", "organization", "organization_role", "organization_permission"} - {off}
    )
    expected = expected_ids(data, served=served)
    resources, entitlements, grants = ids_of(result)
    assert off not in {rt.id for rt in result.resource_types}
    assert set(resources) == expected.resources
    assert set(entitlements) == expected.entitlements
    assert set(grants) == expected.grants
    assert not any(g.principal.id.resource_type == off for g in result.grants)


def test_initial_role_set_found_by_type_when_settings_do_not_name_it() -> None:
    data = awkward()
    expected = expected_ids(data)  # computed while the settings still name the initial set
    data.settings = dataclasses.replace(data.settings, initial_role_set_key=None)
    with running(data) as c:
        result = run_sync(c.channel)
    assert {e.id for e in result.entitlements} == expected.entitlements


def test_summary_shows_roles_unresolved_keys_and_disabled_users() -> None:
    data = awkward()
    with running(data) as c:
        summary = render_summary(run_sync(c.channel))
    ghost = data.memberships[s.MEMBERSHIP_GHOST]
    assert "role key 'org:ghost' matches no role" in summary
    assert summary.count("matches no role") == 1
    assert "[banned]" in summary
    assert data.organizations[ghost.organization_id].name in summary


@pytest.mark.parametrize("page_size", [0, 2])
def test_pipelined_driver_receives_exactly_what_the_serial_one_does(page_size: int) -> None:
    """The driver's pipeline (resources listed side by side) against its slow twin, the
    platform's one-at-a-time order: the same messages in the same order."""
    data = generate(users=60, organizations=12, memberships=150, seed=5)
    with running(data) as c:
        serial = run_sync(c.channel, page_size=page_size, pipeline=1)
        pipelined = run_sync(c.channel, page_size=page_size, pipeline=4)
    assert pipelined.resources == serial.resources
    assert pipelined.entitlements == serial.entitlements
    assert pipelined.grants == serial.grants
    assert pipelined.calls == serial.calls
    assert_exact(pipelined, data)


def test_pipeline_depth_must_be_positive() -> None:
    with running(demo()) as c, pytest.raises(ValueError, match="pipeline"):
        run_sync(c.channel, pipeline=0)
