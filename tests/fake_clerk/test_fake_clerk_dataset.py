"""The fake Clerk's datasets: generate() determinism and shape, awkward(), demo(), mutations."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

import pytest

from connector.fake_clerk.data import (
    Dataset,
    MembershipRecord,
    OrganizationRecord,
    UserRecord,
    awkward,
    demo,
    generate,
    samples,
)

PREFIXES = {"users": "user_", "organizations": "org_", "memberships": "orgmem_"}


def _fingerprint(dataset: Dataset) -> tuple[object, ...]:
    return (
        tuple(dataset.users.values()),
        tuple(dataset.organizations.values()),
        tuple(dataset.memberships.values()),
        tuple(dataset.roles.values()),
        tuple(dataset.permissions.values()),
        tuple(dataset.role_sets.values()),
        dataset.settings,
    )


# -- generate() ------------------------------------------------------------------------------


def test_generate_is_deterministic_per_seed() -> None:
    first = generate(users=500, organizations=40, memberships=1_500, seed=5)
    again = generate(users=500, organizations=40, memberships=1_500, seed=5)
    other = generate(users=500, organizations=40, memberships=1_500, seed=6)
    assert _fingerprint(first) == _fingerprint(again)
    assert set(first.users).isdisjoint(other.users)


def test_generate_sizes_ids_and_references() -> None:
    dataset = generate(users=800, organizations=60, memberships=2_400, seed=1, roles=7)
    assert (len(dataset.users), len(dataset.organizations), len(dataset.memberships)) == (
        800,
        60,
        2_400,
    )
    assert all(i.startswith("user_") for i in dataset.users)
    assert all(i.startswith("org_") for i in dataset.organizations)
    assert all(i.startswith("orgmem_") for i in dataset.memberships)
    assert all(r.id.startswith("role_") for r in dataset.roles.values())
    assert all(p.id.startswith("perm_") for p in dataset.permissions.values())
    assert all(s.id.startswith("rs_") for s in dataset.role_sets.values())
    assert len(dataset.roles) == 7
    assert {"org:admin", "org:member"} <= set(dataset.roles)
    pairs = Counter((m.organization_id, m.user_id) for m in dataset.memberships.values())
    assert max(pairs.values()) == 1
    slugs = [o.slug for o in dataset.organizations.values()]
    assert len(set(slugs)) == len(slugs)


def test_generated_memberships_are_consistent() -> None:
    dataset = generate(users=800, organizations=60, memberships=2_400, seed=2)
    for membership in dataset.memberships.values():
        org = dataset.organizations[membership.organization_id]
        user = dataset.users[membership.user_id]
        assert membership.created_at >= max(org.created_at, user.created_at)
        role_set = dataset.role_set_of(org)
        assert role_set is not None
        assert membership.role in role_set.roles
    for role in dataset.roles.values():
        assert all(key in dataset.permissions for key in role.permissions)
    system = [p for p in dataset.permissions.values() if p.key.startswith("org:sys_")]
    assert system
    assert all(p.type == "system" for p in system)


def test_generated_timestamps_mostly_increase_with_some_ties() -> None:
    dataset = generate(users=3_000, organizations=10, memberships=0, seed=3)
    stamps = [u.created_at for u in dataset.users.values()]
    assert stamps == sorted(stamps)
    repeats = sum(1 for a, b in itertools.pairwise(stamps) if a == b)
    assert 0 < repeats < len(stamps) * 0.1


def _largest_tie(rows: object) -> int:
    assert isinstance(rows, Mapping)
    return max(Counter(row.created_at for row in rows.values()).values())


def test_bulk_import_puts_n_rows_of_each_collection_in_one_millisecond() -> None:
    dataset = generate(users=300, organizations=80, memberships=900, seed=6, bulk_import=50)
    for rows in (dataset.users, dataset.organizations, dataset.memberships):
        assert _largest_tie(rows) >= 50
    plain = generate(users=300, organizations=80, memberships=900, seed=6)
    assert all(_largest_tie(rows) < 10 for rows in (plain.users, plain.memberships))
    # Still consistent: nobody joins before the organization or the user existed.
    for membership in dataset.memberships.values():
        org = dataset.organizations[membership.organization_id]
        user = dataset.users[membership.user_id]
        assert membership.created_at >= max(org.created_at, user.created_at)
    # Same ids as without the option: only creation times moved.
    assert set(dataset.users) == set(plain.users)


def test_tie_rate_controls_how_many_rows_share_a_millisecond() -> None:
    many = generate(users=2_000, organizations=10, memberships=0, seed=3, tie_rate=0.9)
    stamps = [u.created_at for u in many.users.values()]
    repeats = sum(1 for a, b in itertools.pairwise(stamps) if a == b)
    assert repeats > len(stamps) * 0.8
    none = generate(users=2_000, organizations=10, memberships=0, seed=3, tie_rate=0.0)
    assert _largest_tie(none.users) == 1
    with pytest.raises(ValueError, match="tie_rate"):
        generate(users=1, organizations=1, memberships=0, tie_rate=1.0)


def test_generated_organization_sizes_are_skewed_and_some_are_empty() -> None:
    dataset = generate(users=2_000, organizations=400, memberships=3_000, seed=4)
    sizes = sorted((dataset.members_count(o) for o in dataset.organizations), reverse=True)
    assert sizes[0] > 5 * (3_000 / 400)
    assert sizes[-1] == 0
    assert sum(sizes) == 3_000


def test_generate_dense_and_impossible_sizes() -> None:
    dense = generate(users=5, organizations=3, memberships=15)
    assert len(dense.memberships) == 15
    with pytest.raises(ValueError, match="memberships"):
        generate(users=5, organizations=3, memberships=16)
    with pytest.raises(ValueError, match="roles"):
        generate(users=5, organizations=3, memberships=1, roles=1)
    empty = generate(users=0, organizations=0, memberships=0)
    assert (len(empty.users), len(empty.memberships)) == (0, 0)


def test_generate_100k_users_in_seconds() -> None:
    started = time.perf_counter()
    dataset = generate(users=100_000, organizations=10_000, memberships=300_000)
    elapsed = time.perf_counter() - started
    print(f"\ngenerate(100k users, 10k orgs, 300k memberships): {elapsed:.1f} s")
    assert len(dataset.memberships) == 300_000
    assert elapsed < 60  # a loose guard against a pathological slowdown, not a benchmark


# -- awkward() -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def awkward_dataset() -> Dataset:
    return awkward()


def test_awkward_users(awkward_dataset: Dataset) -> None:
    users = awkward_dataset.users
    no_email = users[samples.USER_NO_EMAIL]
    assert no_email.email_addresses == ()
    assert no_email.primary_email_address_id is None
    second = users[samples.USER_PRIMARY_SECOND]
    assert second.email_addresses[0].id == samples.EMAIL_NOT_PRIMARY
    assert second.primary_email_address_id == samples.EMAIL_PRIMARY_SECOND
    null_primary = users[samples.USER_NULL_PRIMARY]
    assert null_primary.email_addresses
    assert null_primary.primary_email_address_id is None
    assert users[samples.USER_BANNED].banned
    assert users[samples.USER_LOCKED].locked
    assert users[samples.USER_LOCKED].lockout_expires_in_seconds == samples.LOCKOUT_SECONDS
    forever = users[samples.USER_LOCKED_FOREVER]
    assert forever.locked
    assert forever.lockout_expires_in_seconds is None
    assert users[samples.USER_DEPROVISIONED].deprovisioned
    totp = users[samples.USER_TOTP]
    assert totp.two_factor_enabled
    assert totp.totp_enabled
    assert {a.provider for a in users[samples.USER_OAUTH].external_accounts} == {
        "oauth_google",
        "oauth_github",
    }
    assert users[samples.USER_SSO].saml_accounts
    assert users[samples.USER_SSO].enterprise_accounts
    assert (users[samples.USER_LI].first_name, users[samples.USER_LI].last_name) == ("李雷", None)
    assert any(ord(c) > 0xFFFF for c in users[samples.USER_EMOJI].first_name or "")
    assert (users[samples.USER_NO_NAME].first_name, users[samples.USER_NO_NAME].last_name) == (
        None,
        None,
    )
    ties = [samples.USER_TIE_A, samples.USER_TIE_B, samples.USER_TIE_C]
    assert {users[u].created_at for u in ties} == {samples.TIE_AT}


def test_awkward_organizations_and_memberships(awkward_dataset: Dataset) -> None:
    data = awkward_dataset
    assert data.members_count(samples.ORG_EMPTY) == 0
    assert data.organizations[samples.ORG_ACME].role_set_key is None
    assert data.organizations[samples.ORG_RESTRICTED].role_set_key == samples.ROLE_SET_RESTRICTED
    assert all(m.user_id != samples.USER_LONELY for m in data.memberships.values())

    ghost = data.memberships[samples.MEMBERSHIP_GHOST]
    assert ghost.role not in data.roles
    outside = data.memberships[samples.MEMBERSHIP_OUTSIDE_SET]
    restricted = data.role_set_of(data.organizations[outside.organization_id])
    assert restricted is not None
    assert outside.role in data.roles
    assert outside.role not in restricted.roles
    assert data.memberships[samples.MEMBERSHIP_LEGACY_ADMIN].role == "admin"
    assert data.memberships[samples.MEMBERSHIP_LEGACY_BASIC_MEMBER].role == "basic_member"
    stamps = Counter(m.created_at for m in data.memberships.values())
    assert max(stamps.values()) > 1


def test_awkward_roles(awkward_dataset: Dataset) -> None:
    roles = awkward_dataset.roles
    assert {"admin", "basic_member", "org:admin", "org:member", "org:billing_viewer"} <= set(roles)
    assert roles["admin"].id != roles["org:admin"].id
    assert "org:sys_memberships:manage" in roles["org:admin"].permissions
    assert len(roles["org:billing_viewer"].permissions) >= 2
    assert roles["org:observer"].permissions == ()
    granted = {key for role in roles.values() for key in role.permissions}
    assert samples.PERMISSION_UNUSED in awkward_dataset.permissions
    assert samples.PERMISSION_UNUSED not in granted


# -- demo() ----------------------------------------------------------------------------------


def test_demo_tells_a_small_story() -> None:
    dataset = demo()
    assert (len(dataset.users), len(dataset.organizations)) == (8, 3)
    assert [u.id for u in dataset.users.values() if u.banned] == ["user_demo_linus"]
    assert any(m.role == "admin" for m in dataset.memberships.values())
    assert all(m.role in dataset.roles for m in dataset.memberships.values())


# -- mutation helpers ------------------------------------------------------------------------


def test_removing_a_user_or_organization_removes_its_memberships() -> None:
    dataset = awkward()
    alice_memberships = [m for m in dataset.memberships.values() if m.user_id == samples.USER_ALICE]
    assert len(alice_memberships) == 2
    dataset.remove_user(samples.USER_ALICE)
    assert all(m.user_id != samples.USER_ALICE for m in dataset.memberships.values())
    assert dataset.user_cursor_key(samples.USER_ALICE) is not None  # a deleted cursor still works
    members = dataset.members_count(samples.ORG_ACME)
    assert members > 0
    dataset.remove_organization(samples.ORG_ACME)
    assert all(m.organization_id != samples.ORG_ACME for m in dataset.memberships.values())
    assert dataset.organization("acme") is None
    assert dataset.members_count(samples.ORG_ACME) == 0


def test_adding_rows_validates_references_and_uniqueness() -> None:
    dataset = awkward()
    stamp = dataset.next_created_at()
    assert stamp > max(u.created_at for u in dataset.users.values())
    new_user = dataset.add_user(UserRecord(dataset.new_id("user"), stamp, first_name="New"))
    new_org = dataset.add_organization(
        OrganizationRecord(dataset.new_id("org"), "New", "new", stamp)
    )
    membership = dataset.create_membership(new_org.id, new_user.id, "org:member")
    assert dataset.membership(new_org.id, new_user.id) == membership
    assert dataset.view("memberships").rows[-1] == membership  # newest sorts last ascending
    with pytest.raises(ValueError, match="already a member"):
        dataset.create_membership(new_org.id, new_user.id, "org:admin")
    with pytest.raises(ValueError, match="unknown user"):
        dataset.add_membership(MembershipRecord("orgmem_x", new_org.id, "user_missing", "x", stamp))
    with pytest.raises(ValueError, match="duplicate user id"):
        dataset.add_user(UserRecord(new_user.id, stamp))
    with pytest.raises(ValueError, match="slug"):
        dataset.add_organization(OrganizationRecord("org_other", "Other", "new", stamp))


def test_replace_and_change_role_refresh_views() -> None:
    dataset = awkward()
    first = dataset.view("users", "username")
    renamed = replace(dataset.users[samples.USER_ZOE], username="aaa_first")
    dataset.replace_user(renamed)
    assert dataset.view("users", "username").rows[0] is renamed
    assert first.rows[0] is not renamed
    changed = dataset.change_role(samples.MEMBERSHIP_GHOST, "org:member")
    assert dataset.memberships[samples.MEMBERSHIP_GHOST] == changed
    assert changed.role == "org:member"
    assert changed.updated_at is not None


def test_replace_organization_keeps_slug_lookups_right() -> None:
    dataset = awkward()
    old = dataset.organizations[samples.ORG_EMPTY]
    moved = replace(old, created_at=1, slug="emptier")
    assert dataset.replace_organization(moved) is old
    assert dataset.view("organizations").rows[0] is moved
    assert dataset.organization("emptier") is moved
    assert dataset.organization("empty") is None
    with pytest.raises(ValueError, match="slug"):
        dataset.replace_organization(replace(moved, slug="acme"))


def test_rows_past_year_9999_do_not_move_now() -> None:
    dataset = awkward()
    now = dataset.next_created_at()
    far = replace(dataset.users[samples.USER_ALICE], created_at=2**63 - 1)
    dataset.replace_user(far)
    assert dataset.next_created_at() == now
