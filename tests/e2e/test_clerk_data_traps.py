"""Schema-valid Clerk data a client tends to choke on (the fake's `traps()` instance), synced
over real HTTP and a real gRPC channel:

- every emitted message satisfies the platform's validation rules (`protocol_rules`);
- unverified or invalid addresses never become UserTrait emails or login aliases;
- names over the byte limits are cut, timestamps outside protobuf's range are left out;
- a membership that names no user fails the sync with FAILED_PRECONDITION after one re-read;
- a membership whose role key or role name disagrees with the catalog re-reads the catalog
  once; a key that still resolves to no role is reported with the permissions it carries.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.c1.protocol import traits, unpack_all
from connector.c1.rules import violations
from connector.fake_clerk import FakeClerk
from connector.fake_clerk.data import trap_samples as t
from connector.platform.syncer import SyncFailed, SyncResult, run_sync
from tests.e2e.harness import TEST_KEY, connector_for, expected_ids

MEMBERSHIPS_OF_ONE_ORGANIZATION = "GET /organizations/{id}/memberships"


def no_wait(_seconds: float) -> None:
    """The syncer's own retry pauses, skipped."""


@pytest.fixture
def attributable() -> Iterator[FakeClerk]:
    """The trap instance without its membership that names no user (tested on its own)."""
    data = t.traps()
    data.remove_membership(t.MEMBERSHIP_NO_USER_DATA)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        yield fake


def sync(fake: FakeClerk) -> SyncResult:
    with connector_for(fake, clerk_page_size=5) as conn:
        return run_sync(conn.channel, page_size=4, sleep=no_wait)


def user_trait(result: SyncResult, user_id: str) -> traits.UserTrait:
    (user,) = [r for r in result.resources if r.id.resource == user_id]
    (trait,) = unpack_all(user.annotations, traits.UserTrait)
    return trait


def test_every_message_of_the_trap_instance_is_valid(attributable: FakeClerk) -> None:
    result = sync(attributable)
    problems = [
        problem
        for message in (*result.resource_types, *result.resources, *result.entitlements)
        for problem in violations(message)
    ]
    problems += [problem for item in result.grants for problem in violations(item)]
    assert problems == []
    assert not result.invariant_violations()
    expected = expected_ids(attributable.dataset)
    assert {f"{r.id.resource_type}:{r.id.resource}" for r in result.resources} == expected.resources


def test_only_verified_valid_addresses_identify_a_user(attributable: FakeClerk) -> None:
    result = sync(attributable)
    trait = user_trait(result, t.USER_UNVERIFIED)
    addresses = {email.address for email in trait.emails}
    unverified = {
        attributable.dataset.users[t.USER_UNVERIFIED].email(email_id).email_address  # type: ignore[union-attr]
        for email_id in (t.EMAIL_UNVERIFIED, t.EMAIL_FAILED, t.EMAIL_EXPIRED)
    }
    assert addresses
    assert not addresses & unverified
    assert not set(trait.login_aliases) & unverified
    assert sum(email.is_primary for email in trait.emails) == 1
    only_unverified = user_trait(result, t.USER_ONLY_UNVERIFIED)
    assert list(only_unverified.emails) == []
    invalid = user_trait(result, t.USER_INVALID_EMAIL)
    assert t.INVALID_PRIMARY not in {email.address for email in invalid.emails}
    assert t.INVALID_SECONDARY not in set(invalid.login_aliases)


def test_long_names_are_cut_and_out_of_range_times_left_out(attributable: FakeClerk) -> None:
    result = sync(attributable)
    long_user = next(r for r in result.resources if r.id.resource == t.USER_LONG_NAME)
    assert 0 < len(long_user.display_name.encode()) <= 1024
    long_org = next(r for r in result.resources if r.id.resource == t.ORG_LONG_NAME)
    assert 0 < len(long_org.display_name.encode()) <= 1024
    early = next(r for r in result.resources if r.id.resource == t.USER_EARLY)
    assert not early.HasField("created_at")
    assert not user_trait(result, t.USER_EARLY).HasField("last_login")
    # A grant's principal reads as the user resource does.
    names = {
        r.id.resource: r.display_name for r in result.resources if r.id.resource_type == "user"
    }
    for item in result.grants:
        if item.principal.id.resource_type == "user":
            assert item.principal.display_name == names[item.principal.id.resource]


def test_a_membership_that_names_no_user_fails_after_one_reread() -> None:
    with FakeClerk(t.traps(), secret_key=TEST_KEY) as fake:
        with pytest.raises(SyncFailed) as caught:
            sync(fake)
        rereads = fake.stats.snapshot().by_route.get(MEMBERSHIPS_OF_ONE_ORGANIZATION, 0)
    message = str(caught.value)
    assert "FAILED_PRECONDITION" in message
    assert t.MEMBERSHIP_NO_USER_DATA in message
    assert t.ORG_HIDDEN_MEMBER in message
    assert rereads == 1


def test_a_renamed_role_rereads_the_catalog_once_and_reports_what_stays_unresolved(
    attributable: FakeClerk,
) -> None:
    result = sync(attributable)
    roles_reads = attributable.stats.snapshot().by_route["GET /organization_roles"]
    # Validate's roles page, then one re-read when memberships disagreed with the catalog.
    assert roles_reads == 2
    assert result.unresolved_role_keys() == {t.RENAMED_FROM: 1}
    assert result.unresolved_permissions() == {
        t.RENAMED_FROM: ["org:projects:manage", "org:sys_memberships:read"]
    }
    # The stale role name does not change the resolution: the key is authoritative.
    member_role = next(r for r in attributable.dataset.roles.values() if r.key == "org:member")
    stale_grant = f"organization:{t.ORG_STALE}:{member_role.id}:user:{t.USER_LONG_NAME}"
    assert stale_grant in {g.id for g in result.grants}
