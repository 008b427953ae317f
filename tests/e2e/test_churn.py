"""Churn: users, organizations and memberships are created and deleted while a platform-style
sync runs (the fake's `Churn` hook, between requests, over real HTTP and a real gRPC channel).

What a correct sync returns, whatever the churn:
- every resource, entitlement and grant of an object that existed for the whole sync (a
  survivor), exactly once: emitted ids are collected as lists and duplicates counted;
- nothing that never existed: every id belongs to an object present at some moment of the sync;
- a survivor organization is never skipped (NOT_FOUND is only right for a deleted one).

Small page sizes make every listing cross many page boundaries, so deletions shift offsets under
it: `PAGE` for the gRPC pages (users by cursor, organizations by offset, one Clerk request each)
and `CLERK_PAGE` for the client's own offset listings (memberships, roles, permissions).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from connector.c1.protocol import resource_grpc, resource_pb
from connector.fake_clerk import Churn, ChurnRecord, Dataset, FakeClerk, Mutation, generate
from connector.platform.syncer import SyncResult, run_sync
from tests.e2e.harness import TEST_KEY, Connected, ExpectedIds, connector_for, expected_ids

PAGE = 4
CLERK_PAGE = 5


def no_wait(_seconds: float) -> None:
    """The syncer's own retry pauses, skipped."""


def possible_ids(record: ChurnRecord, catalog: Dataset) -> ExpectedIds:
    """Every id a sync may emit: those of any object that existed at some moment of the churn.

    Roles, permissions and role sets do not churn, so their ids come from `catalog`."""
    static = expected_ids(
        Dataset(
            permissions=catalog.permissions.values(),
            roles=catalog.roles.values(),
            role_sets=catalog.role_sets.values(),
            settings=catalog.settings,
        )
    )
    roles_by_key = {role.key: role for role in catalog.roles.values()}
    resources = set(static.resources)
    entitlements = set(static.entitlements)
    grants = set(static.grants)
    resources |= {f"user:{user_id}" for user_id in record.ever.users}
    for org in record.ever.organizations.values():
        resources.add(f"organization:{org.id}")
        entitlements.add(f"organization:{org.id}:member")
        set_key = org.role_set_key or catalog.settings.initial_role_set_key
        role_set = catalog.role_sets.get(set_key) if set_key else None
        keys = role_set.roles if role_set is not None else tuple(roles_by_key)
        entitlements |= {f"organization:{org.id}:{roles_by_key[k].id}" for k in keys}
    for membership in record.ever.memberships.values():
        org_id, user_id = membership.organization_id, membership.user_id
        grants.add(f"organization:{org_id}:member:user:{user_id}")
        held = roles_by_key.get(membership.role)
        if held is not None:
            entitlements.add(f"organization:{org_id}:{held.id}")
            grants.add(f"organization:{org_id}:{held.id}:user:{user_id}")
    return ExpectedIds(resources, entitlements, grants, {})


def check_exactly_once(
    what: str, emitted: Iterable[str], must: set[str], may: set[str]
) -> dict[str, int]:
    """Asserts survivors are all there and nothing was invented; returns the ids emitted more
    than once (the caller asserts there are none)."""
    counts = Counter(emitted)
    missing = must - counts.keys()
    invented = counts.keys() - may
    assert not missing, f"{what}: {len(missing)} survivors never emitted, e.g. {_some(missing)}"
    assert not invented, f"{what}: {len(invented)} never existed, e.g. {_some(invented)}"
    return {item: n for item, n in counts.items() if n > 1}


def _some(items: Iterable[str]) -> list[str]:
    return sorted(items)[:3]


def sync_under_churn(
    data: Dataset, churn_options: dict[str, float]
) -> tuple[SyncResult, ChurnRecord, Dataset]:
    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        connector_for(fake, clerk_page_size=CLERK_PAGE) as conn,
    ):
        churn = Churn(fake.dataset, **churn_options)  # type: ignore[arg-type]
        fake.hooks = [churn]
        try:
            result = run_sync(conn.channel, page_size=PAGE, sleep=no_wait)
        finally:
            record = churn.stop()
            fake.hooks = []
        assert not fake.stats.exceptions
    return result, record, fake.dataset


CASES = [
    pytest.param({"rate": 0.2, "seed": 1}, id="rate-0.2"),
    pytest.param({"rate": 1.0, "seed": 2}, id="rate-1"),
    pytest.param({"rate": 3.0, "seed": 3}, id="rate-3"),
    # Rows created in the same millisecond as the newest row: the paging edge's ties.
    pytest.param({"rate": 1.0, "seed": 4, "same_instant": 0.5}, id="rate-1-same-instant"),
]


@pytest.mark.parametrize("options", CASES)
def test_sync_under_churn_emits_every_survivor_exactly_once(options: dict[str, float]) -> None:
    data = generate(users=120, organizations=40, memberships=300, seed=int(options["seed"]))
    result, record, final = sync_under_churn(data, options)

    # The churn really happened, deletions included, or this test proves nothing.
    applied = sum(record.applied.values())
    assert applied >= 10, record.applied
    deletions = (Mutation.DELETE_USER, Mutation.DELETE_ORGANIZATION, Mutation.DELETE_MEMBERSHIP)
    assert any(record.applied.get(kind, 0) for kind in deletions), record.applied

    must = expected_ids(record.survivor_dataset(final))
    may = possible_ids(record, final)
    resource_ids = [f"{r.id.resource_type}:{r.id.resource}" for r in result.resources]
    repeated = check_exactly_once("resources", resource_ids, must.resources, may.resources)
    assert not repeated, f"resources emitted more than once: {_some(repeated)}"
    entitlement_ids = [e.id for e in result.entitlements]
    repeated = check_exactly_once(
        "entitlements", entitlement_ids, must.entitlements, may.entitlements
    )
    assert not repeated, f"entitlements emitted more than once: {_some(repeated)}"

    survivors = {f"organization:{org_id}" for org_id in record.survivors.organizations}
    skipped_survivors = [line for line in result.skipped if any(s in line for s in survivors)]
    assert not skipped_survivors

    repeated = check_exactly_once("grants", [g.id for g in result.grants], must.grants, may.grants)
    assert not repeated, f"grants emitted more than once: {_some(repeated)}"
    # The platform's strict invariants: every grant's principal was listed in this sync (no
    # dangling principal), every grant's entitlement and every entitlement's resource too.
    assert not result.invariant_violations()
    listed_users = {r.id.resource for r in result.resources if r.id.resource_type == "user"}
    assert {
        g.principal.id.resource for g in result.grants if g.principal.id.resource_type == "user"
    } <= listed_users


def list_organizations(conn: Connected, token: str) -> tuple[list[str], str]:
    stub = resource_grpc.ResourcesServiceStub(conn.channel)
    page = stub.ListResources(
        resource_pb.ResourcesServiceListResourcesRequest(
            resource_type_id="organization", page_size=PAGE, page_token=token
        )
    )
    return [r.id.resource for r in page.list], page.next_page_token


@pytest.mark.parametrize(
    "deleted",
    [
        pytest.param([0], id="first-row"),
        pytest.param([PAGE - 1], id="last-row-served"),
        pytest.param([PAGE - 1, PAGE], id="last-served-and-first-unread"),
        pytest.param(list(range(PAGE + 2)), id="more-than-a-page"),
        pytest.param(list(range(3 * PAGE)), id="all-but-the-tail"),
    ],
)
def test_organizations_deleted_behind_the_page_boundary_skip_nothing(deleted: list[int]) -> None:
    data = generate(users=4, organizations=3 * PAGE + 2, memberships=0, seed=5)
    ordered = [org.id for org in data.view("organizations").rows]  # ascending created_at
    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        connector_for(fake, clerk_page_size=PAGE) as conn,
    ):
        first, token = list_organizations(conn, "")
        assert first == ordered[:PAGE]
        for index in deleted:
            fake.dataset.remove_organization(ordered[index])
        served = list(first)
        while token:
            page, token = list_organizations(conn, token)
            served += page
    gone = {ordered[index] for index in deleted}
    survivors = [org_id for org_id in ordered if org_id not in gone]
    assert Counter(served) == Counter(dict.fromkeys(first, 1)) + Counter(
        {org_id: 1 for org_id in survivors if org_id not in first}
    )


def test_membership_recreated_mid_sync_is_one_grant() -> None:
    """A membership deleted and re-created for the same user and organization while the sync
    reads memberships: one grant per (organization, role, user), never two with the same id."""
    data = generate(users=30, organizations=4, memberships=60, seed=9)
    oldest = data.view("memberships").rows[0]
    recreated: list[str] = []

    def recreate_on_second_page(route: str) -> None:
        second_page = fake.stats.by_route.get(route, 0) >= 2
        if route == "GET /organization_memberships" and second_page and not recreated:
            fake.dataset.remove_membership(oldest.id)
            new = fake.dataset.create_membership(
                oldest.organization_id, oldest.user_id, oldest.role
            )
            recreated.append(new.id)

    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        connector_for(fake, clerk_page_size=CLERK_PAGE) as conn,
    ):
        fake.hooks = [recreate_on_second_page]
        result = run_sync(conn.channel, page_size=PAGE, sleep=no_wait)
    assert recreated, "the sync never read a second page of memberships"
    repeated = {gid: n for gid, n in Counter(g.id for g in result.grants).items() if n > 1}
    assert not repeated, f"grants emitted more than once: {_some(repeated)}"
    member_grant = f"organization:{oldest.organization_id}:member:user:{oldest.user_id}"
    assert [g.id for g in result.grants].count(member_grant) == 1
