"""Clerk as it really behaves (shared/docs/clerk-api.md, "Traps a fake Clerk hides"), over real
HTTP and a real gRPC channel, each sync compared with exact ids computed from the fake's data:

- ties reordered on every request (bulk imports share a millisecond), also under churn;
- `created_at` edited while the sync runs (users and organizations jump across pages);
- the users cursor naming a user deleted meanwhile, answered with `[]` or 422;
- deep offsets on `GET /organization_memberships` answering 504 or timing out;
- a server that ignores `order_by` altogether: exact, or a clean failure, never short;
- `GET /role_sets` answering 402 or 403 (a plan without role sets).

Every sync also passes the platform's strict invariants (`SyncResult.invariant_violations`),
and its completeness evidence (the Cleanup report) is checked where a trap needs a repair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from connector.clerk.inflight import MAX_WINDOW
from connector.fake_clerk import Churn, CreatedAtEdits, Dataset, FakeClerk, Mutation, generate
from connector.platform.syncer import SyncFailed, SyncResult, run_sync
from tests.e2e.harness import TEST_KEY, connector_for, expected_ids

CLERK_PAGE = 25  # small Clerk pages: every list crosses many boundaries
GRPC_PAGE = 20


def no_wait(_seconds: float) -> None:
    """The syncer's own retry pauses, skipped."""


def assert_exact(result: SyncResult, data: Dataset) -> None:
    expected = expected_ids(data)
    resources = [f"{r.id.resource_type}:{r.id.resource}" for r in result.resources]
    assert Counter(resources) == Counter(expected.resources)
    assert sorted(e.id for e in result.entitlements) == sorted(expected.entitlements)
    assert sorted(g.id for g in result.grants) == sorted(expected.grants)
    assert not result.invariant_violations()


def listing(result: SyncResult, route: str) -> dict[str, int]:
    found = [item for item in result.listings() if item["route"] == route]
    assert found, f"no evidence for {route}: {result.listings()}"
    return {key: int(value) for key, value in found[-1].items() if key != "route"}


def sync(fake: FakeClerk, **options: int) -> SyncResult:
    with connector_for(fake, clerk_page_size=CLERK_PAGE, **options) as conn:  # type: ignore[arg-type]
        return run_sync(conn.channel, page_size=GRPC_PAGE, sleep=no_wait)


def sync_or_failure(fake: FakeClerk) -> SyncResult | SyncFailed:
    """The sync's result, or how it failed (for traps where failing loudly is also right)."""
    try:
        return sync(fake)
    except SyncFailed as failed:
        return failed


@pytest.fixture
def bulk() -> Iterator[FakeClerk]:
    """An instance whose users, organizations and memberships were partly bulk-imported: groups
    of rows share one millisecond, and groups straddle Clerk page boundaries (a group is
    smaller than a page, as a Clerk page of 500 is for all but extreme imports)."""
    data = generate(
        users=300, organizations=60, memberships=500, seed=21, bulk_import=15, tie_rate=0.1
    )
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        yield fake


# -- ties ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ties_reordered_on_every_request_still_give_the_exact_sync(
    bulk: FakeClerk, seed: int
) -> None:
    fault = bulk.faults.shuffle_ties(seed=seed)
    result = sync(bulk)
    assert fault.hits > 10  # the trap really fired on many requests
    assert_exact(result, bulk.dataset)
    for route in ("/users", "/organizations", "/organization_memberships"):
        evidence = listing(result, route)
        assert evidence["read"] == evidence["expected"]
        # Groups smaller than a page are read whole at each boundary: no repair pass needed.
        assert evidence["passes"] == 1, (route, evidence)


def test_ties_reordered_under_churn_every_survivor_once(bulk: FakeClerk) -> None:
    bulk.faults.shuffle_ties(seed=4)
    churn = Churn(bulk.dataset, rate=0.5, seed=5)
    bulk.hooks = [churn]
    try:
        result = sync(bulk)
    finally:
        record = churn.stop()
        bulk.hooks = []
    assert sum(record.applied.values()) >= 10
    survivors = expected_ids(record.survivor_dataset(bulk.dataset))
    resources = Counter(f"{r.id.resource_type}:{r.id.resource}" for r in result.resources)
    assert survivors.resources <= resources.keys()
    assert max(resources.values()) == 1
    grants = Counter(g.id for g in result.grants)
    assert survivors.grants <= grants.keys()
    assert max(grants.values(), default=1) == 1
    assert not result.invariant_violations()


def test_a_reordered_tie_group_larger_than_a_page_fails_loudly() -> None:
    # No offset walk can read a group of 40 rows sharing one instant, 25 at a time, when
    # each request orders them anew: the sync must fail, never end short.
    data = generate(users=20, organizations=60, memberships=0, seed=30, bulk_import=40)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.shuffle_ties(seed=1, path="/organizations")
        outcome = sync_or_failure(fake)
    if isinstance(outcome, SyncFailed):
        assert "ListResources(organization)" in str(outcome)
    else:
        assert_exact(outcome, data)  # the seeded orders happened to be readable: then exact


# -- created_at edits ----------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["backward", "forward", "both"])
def test_created_at_edited_mid_sync_lists_every_survivor_exactly_once(direction: str) -> None:
    data = generate(users=400, organizations=80, memberships=300, seed=22)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        edits = CreatedAtEdits(fake.dataset, rate=1.0, seed=7, direction=direction)
        fake.hooks = [edits]
        try:
            result = sync(fake)
        finally:
            record = edits.stop()
            fake.hooks = []
    assert len(record.edits) >= 10
    served = Counter(f"{r.id.resource_type}:{r.id.resource}" for r in result.resources)
    assert max(served.values()) == 1
    users = {f"user:{user_id}" for user_id in record.survivors.users}
    organizations = {f"organization:{org_id}" for org_id in record.survivors.organizations}
    assert users | organizations <= served.keys()
    # Nothing was deleted, so every row is a survivor and the sync is exact.
    assert_exact(result, fake.dataset)


def test_an_edit_that_hides_a_user_behind_the_walk_is_found_by_the_repair_pass() -> None:
    data = generate(users=200, organizations=5, memberships=20, seed=23, tie_rate=0.0)
    newest = max(data.users.values(), key=lambda user: user.created_at)
    oldest = min(data.users.values(), key=lambda user: user.created_at)
    moved: list[str] = []
    with FakeClerk(data, secret_key=TEST_KEY) as fake:

        def move_newest_behind(route: str) -> None:
            # After the third users page, the newest user (not read yet) becomes the oldest.
            if route == "GET /users" and fake.stats.by_route.get(route, 0) == 3 and not moved:
                fake.dataset.replace_user(replace(newest, created_at=oldest.created_at - 1))
                moved.append(newest.id)

        fake.hooks = [move_newest_behind]
        result = sync(fake)
        requests = fake.stats.snapshot().by_route["GET /users"]
    assert moved
    assert_exact(result, fake.dataset)
    evidence = listing(result, "/users")
    assert (evidence["passes"], evidence["repaired"]) == (2, 1)
    # The repair pass costs one more walk of the list: ceil(200 / 24) pages + the last one.
    assert requests <= 2 * (200 // (CLERK_PAGE - 1) + 2)


# -- the users cursor ----------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["empty", "error"])
def test_users_deleted_mid_sync_never_strand_the_listing(answer: str) -> None:
    # A cursor naming a deleted user may get [] or 422 from Clerk; the walk keys on created_at
    # and needs the cursor only inside an instant that fills a page.
    data = generate(users=300, organizations=10, memberships=100, seed=24, bulk_import=60)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.cursor_gone(answer)
        churn = Churn(fake.dataset, rate=1.0, seed=8, mix={Mutation.DELETE_USER: 1.0})
        fake.hooks = [churn]
        try:
            result = sync(fake)
        finally:
            record = churn.stop()
            fake.hooks = []
    survivors = {f"user:{user_id}" for user_id in record.survivors.users}
    served = Counter(
        f"user:{r.id.resource}" for r in result.resources if r.id.resource_type == "user"
    )
    assert record.applied, "no user was deleted"
    assert survivors <= served.keys()
    assert max(served.values()) == 1
    assert not result.invariant_violations()


# -- deep offsets --------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.0, 3.0])
def test_deep_offsets_that_fail_fall_back_to_per_organization_reads(seconds: float) -> None:
    data = generate(users=200, organizations=30, memberships=600, seed=25)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        # 504 at once, or a response slower than the client's 2 s timeout.
        fault = fake.faults.deep_offsets(200, seconds=seconds)
        result = sync(fake, max_retries=1)
        stats = fake.stats.snapshot()
    assert fault.hits >= 1
    assert_exact(result, data)
    per_organization = stats.by_route.get("GET /organizations/{id}/memberships", 0)
    assert 0 < per_organization <= len(data.organizations) * 2
    assert result.events().get("organizations_reread", 0) >= 1
    # No retry storm: each failing deep page is tried twice (max_retries=1), one window of
    # pages in flight (the test's budget is unbounded, so the window is at its maximum).
    assert fault.hits <= MAX_WINDOW * 2


# -- order_by ignored ----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["shuffled", "stable", "newest_first"])
def test_a_server_that_ignores_order_by_is_exact_or_fails_cleanly(order: str) -> None:
    data = generate(users=150, organizations=60, memberships=200, seed=26)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.unordered(order, seed=3, path="/organizations")
        outcome = sync_or_failure(fake)
    if isinstance(outcome, SyncFailed):
        # Never a short list presented as complete: the listing failed loudly.
        assert "ListResources(organization)" in str(outcome)
        assert "ABORTED" in str(outcome) or "INTERNAL" in str(outcome)
    else:
        assert_exact(outcome, data)


def test_a_shuffling_server_fails_the_sync_with_the_numbers() -> None:
    data = generate(users=10, organizations=300, memberships=0, seed=27)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.unordered("shuffled", seed=1, path="/organizations")
        with pytest.raises(SyncFailed) as caught:
            sync(fake)
    message = str(caught.value)
    assert "ListResources(organization)" in message
    assert "GET /organizations" in message


# -- role sets outside the plan ------------------------------------------------------------------


@pytest.mark.parametrize("status", [402, 403])
def test_role_sets_outside_the_plan_make_every_role_assignable(status: int) -> None:
    data = generate(users=50, organizations=6, memberships=80, seed=28)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.plan_lacks_feature(status)
        result = sync(fake)
    roles = {role.id for role in data.roles.values()}
    for org_id in data.organizations:
        offered = {
            e.slug
            for e in result.entitlements
            if e.resource.id.resource == org_id and e.slug != "member"
        }
        assert {f"organization:{org_id}:{role}" for role in roles} <= {
            e.id for e in result.entitlements if e.resource.id.resource == org_id
        }, offered
    assert not result.invariant_violations()


def test_other_role_set_errors_stay_loud() -> None:
    data = generate(users=20, organizations=3, memberships=10, seed=29)
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        fake.faults.server_error(500, path="/role_sets")
        with pytest.raises(SyncFailed) as caught:
            sync(fake, max_retries=0)
    assert "/role_sets" in str(caught.value)
