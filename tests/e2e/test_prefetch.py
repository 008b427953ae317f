"""The per-sync membership prefetch (issue 4): same answers as per-organization reads, the fewest
Clerk requests, isolation between syncs, and caches released on Cleanup and on idle timeout.
Real HTTP to the fake Clerk, real gRPC to the connector."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from connector.c1.protocol import (
    connector_grpc,
    connector_pb,
    entitlement_grpc,
    entitlement_pb,
    grant_grpc,
    grant_pb,
    resource_grpc,
    resource_pb,
)
from connector.fake_clerk import FakeClerk, awkward, generate
from connector.platform.syncer import SyncResult, run_sync
from tests.e2e.harness import TEST_KEY, Connected, connector_for, expected_ids


def grant_ids(result: SyncResult) -> list[str]:
    return sorted(g.id for g in result.grants)


def entitlement_ids(result: SyncResult) -> list[str]:
    return sorted(e.id for e in result.entitlements)


def lower_bound(*counts: int) -> int:
    """Pages of every list, plus the two user counts a complete listing of users makes."""
    return sum(math.ceil(count / 500) for count in counts) + 2


def test_prefetch_and_per_organization_reads_give_identical_answers() -> None:
    data = generate(users=300, organizations=40, memberships=900, seed=4)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        prefetched = run_sync(conn.channel)
        after_prefetch = fake.stats.snapshot()
        per_organization = run_sync(conn.channel, sync_id="")
        both = fake.stats.snapshot()
    assert grant_ids(prefetched) == grant_ids(per_organization)
    assert entitlement_ids(prefetched) == entitlement_ids(per_organization)
    assert set(grant_ids(prefetched)) == expected_ids(data).grants
    # The prefetch read the instance-wide list once; the fallback asked each organization.
    assert after_prefetch.by_route.get("GET /organization_memberships") == 2
    assert "GET /organizations/{id}/memberships" not in after_prefetch.by_route
    # Without a sync there is no snapshot to share: entitlements and grants each read.
    per_org_reads = both.by_route["GET /organizations/{id}/memberships"]
    assert per_org_reads == 2 * len(data.organizations)


def test_a_full_sync_makes_the_fewest_possible_clerk_requests() -> None:
    # Sizes chosen so no list ends exactly on a page boundary (that costs one empty page).
    data = generate(users=1200, organizations=600, memberships=2600, seed=5)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        run_sync(conn.channel)
        stats = fake.stats.snapshot()
    bound = lower_bound(
        len(data.users),
        len(data.organizations),
        len(data.memberships),
        len(data.roles),
        len(data.permissions),
        len(data.role_sets),
    )
    assert bound == 16
    # Validate's roles read is the sync's roles read, and the initial role set is found by
    # its type, so the organization settings are never asked for.
    assert "GET /instance/organization_settings" not in stats.by_route
    assert stats.by_route["GET /organization_roles"] == 1
    assert stats.total == bound, stats.by_route


def test_concurrent_syncs_are_isolated_snapshots() -> None:
    data = awkward()
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        org = first_organization(conn, "sync-a")
        grants_a = list_grants(conn, org, "sync-a")  # sync A's snapshot is taken now
        members = {
            m.user_id for m in data.memberships.values() if m.organization_id == org.id.resource
        }
        user = next(uid for uid in data.users if uid not in members)
        joined = data.create_membership(org.id.resource, user, "org:member")
        new_member = f"organization:{org.id.resource}:member:user:{user}"
        assert new_member not in grants_a

        first_organization(conn, "sync-b")
        assert new_member in list_grants(conn, org, "sync-b")
        assert list_grants(conn, org, "sync-a") == grants_a  # A still sees its own snapshot

        cleanup(conn, "sync-a")  # releasing A leaves B alone
        assert conn.app.cache.active_syncs() == 1
        assert new_member in list_grants(conn, org, "sync-b")
        data.remove_membership(joined.id)
        cleanup(conn, "sync-b")
        assert conn.app.cache.active_syncs() == 0


def test_parallel_full_syncs_each_get_exact_results() -> None:
    data = generate(users=400, organizations=30, memberships=800, seed=6)
    expected = expected_ids(data)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda _: run_sync(conn.channel), range(3)))
        assert conn.app.cache.active_syncs() == 0  # every sync's Cleanup released its scope
    for result in results:
        assert set(grant_ids(result)) == expected.grants
        assert len(result.grants) == len(expected.grants)


def test_idle_sync_is_released_and_its_next_call_reads_again() -> None:
    data = awkward()
    env = {"CONNECTOR_SYNC_CACHE_IDLE_SECONDS": "1.0"}
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake, env=env) as conn:
        org = first_organization(conn, "sync-idle")
        list_grants(conn, org, "sync-idle")
        assert conn.app.cache.active_syncs() == 1
        threading.Event().wait(1.2)
        assert conn.app.cache.active_syncs() == 0
        before = fake.stats.snapshot().by_route["GET /organization_memberships"]
        list_grants(conn, org, "sync-idle")  # a new snapshot: the list is read again
        assert fake.stats.snapshot().by_route["GET /organization_memberships"] == before + 1


def test_cleanup_during_the_prefetch_stops_it() -> None:
    data = generate(users=300, organizations=20, memberships=3000, seed=7)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        fake.faults.slow(0.3, route="GET /organization_memberships")
        first_organization(conn, "sync-short")  # starts the prefetch in the background
        cleanup(conn, "sync-short")
        threading.Event().wait(1.0)
        reads = fake.stats.snapshot().by_route.get("GET /organization_memberships", 0)
    # 3000 memberships need 7 pages; the closed scope stops after those already in flight.
    assert reads < 7


def test_a_call_waiting_on_the_prefetch_is_aborted_when_its_sync_is_cleaned_up() -> None:
    data = generate(users=300, organizations=20, memberships=3000, seed=7)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        # Slow pages: the prefetch takes seconds, so the call below is surely still waiting.
        fake.faults.slow(1.0, route="GET /organization_memberships")
        org = first_organization(conn, "sync-gone")
        stub = entitlement_grpc.EntitlementsServiceStub(conn.channel)
        request = entitlement_pb.EntitlementsServiceListEntitlementsRequest(
            resource=org, active_sync_id="sync-gone"
        )
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(stub.ListEntitlements, request, timeout=30)
            threading.Event().wait(0.5)  # the call is now waiting on the membership read
            cleanup(conn, "sync-gone")
            with pytest.raises(grpc.RpcError) as caught:
                waiting.result()
    assert caught.value.code() is grpc.StatusCode.ABORTED
    assert "sync ended" in (caught.value.details() or "")


# -- platform calls ----------------------------------------------------------------------------


def first_organization(conn: Connected, sync_id: str) -> resource_pb.Resource:
    stub = resource_grpc.ResourcesServiceStub(conn.channel)
    page = stub.ListResources(
        resource_pb.ResourcesServiceListResourcesRequest(
            resource_type_id="organization", active_sync_id=sync_id
        )
    )
    return page.list[0]


def list_grants(conn: Connected, org: resource_pb.Resource, sync_id: str) -> list[str]:
    entitlements = entitlement_grpc.EntitlementsServiceStub(conn.channel)
    entitlements.ListEntitlements(
        entitlement_pb.EntitlementsServiceListEntitlementsRequest(
            resource=org, active_sync_id=sync_id
        )
    )
    stub = grant_grpc.GrantsServiceStub(conn.channel)
    ids: list[str] = []
    token = ""
    while True:
        page = stub.ListGrants(
            grant_pb.GrantsServiceListGrantsRequest(
                resource=org, active_sync_id=sync_id, page_token=token
            )
        )
        ids += [g.id for g in page.list]
        token = page.next_page_token
        if not token:
            return ids


def cleanup(conn: Connected, sync_id: str) -> None:
    stub = connector_grpc.ConnectorServiceStub(conn.channel)
    stub.Cleanup(connector_pb.ConnectorServiceCleanupRequest(active_sync_id=sync_id))
