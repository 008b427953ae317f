"""Every failure reaches the platform as the gRPC status its syncer acts on, never as a
partial list answered OK. Real HTTP faults from the fake Clerk, real gRPC channel."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_status import rpc_status

from connector.c1.page_tokens import encode
from connector.c1.protocol import (
    connector_grpc,
    connector_pb,
    entitlement_grpc,
    entitlement_pb,
    grant_grpc,
    grant_pb,
    ratelimit,
    resource_grpc,
    resource_pb,
)
from connector.fake_clerk import FakeClerk, MalformedBody, RateLimit, awkward, generate
from connector.fake_clerk.data import samples as s
from connector.platform.syncer import SyncFailed, run_sync
from tests.e2e.harness import TEST_KEY, Connected, connector_for, expected_ids

OTHER_KEY = "sk_test_not_the_right_key_42"


def no_wait(_seconds: float) -> None:
    """The syncer's own retry pauses (the platform's backoff), skipped in tests."""


@pytest.fixture
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(awkward(), secret_key=TEST_KEY) as running:
        yield running


@pytest.fixture
def conn(fake: FakeClerk) -> Iterator[Connected]:
    with connector_for(fake) as connected:
        yield connected


def rpc_error(call: object, *args: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def list_users(
    c: Connected, token: str = "", size: int = 0
) -> resource_pb.ResourcesServiceListResourcesResponse:
    stub = resource_grpc.ResourcesServiceStub(c.channel)
    return stub.ListResources(
        resource_pb.ResourcesServiceListResourcesRequest(
            resource_type_id="user", page_token=token, page_size=size
        )
    )


def org_resource(org_id: str = s.ORG_ACME) -> resource_pb.Resource:
    return resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type="organization", resource=org_id), display_name="x"
    )


def test_rejected_key_is_unauthenticated(fake: FakeClerk) -> None:
    with connector_for(fake, key=OTHER_KEY) as c:
        stub = connector_grpc.ConnectorServiceStub(c.channel)
        err = rpc_error(stub.Validate, connector_pb.ConnectorServiceValidateRequest())
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "secret key was rejected" in (err.details() or "")
    assert OTHER_KEY not in (err.details() or "")


def test_403_on_organizations_is_permission_denied(fake: FakeClerk) -> None:
    with connector_for(fake, key=OTHER_KEY) as c:
        stub = resource_grpc.ResourcesServiceStub(c.channel)
        err = rpc_error(
            stub.ListResources,
            resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="organization"),
        )
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "rejected" in (err.details() or "")


def test_key_revoked_mid_sync_fails_the_sync(conn: Connected) -> None:
    conn.fake.faults.revoke_key(route="GET /organization_memberships")
    with pytest.raises(SyncFailed, match="UNAUTHENTICATED"):
        run_sync(conn.channel)


def test_persistent_429_is_unavailable_with_rate_limit_details(conn: Connected) -> None:
    # The awkward instance's users fit one Clerk page, so the first ListResources reads them
    # all: the count before, the page, the count after (completeness evidence).
    conn.fake.rate_limit = RateLimit(requests=3, per_seconds=3600.0)
    list_users(conn)  # spends all three
    err = rpc_error(list_users, conn)
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    (detail,) = status.details
    description = ratelimit.RateLimitDescription()
    assert detail.Unpack(description)
    assert description.status == ratelimit.RateLimitDescription.STATUS_OVERLIMIT
    assert description.HasField("reset_at")


def test_transient_429_is_absorbed(fake: FakeClerk) -> None:
    # The whole sync of this dataset is 6 requests, so 3 per second must provoke 429s.
    fake.rate_limit = RateLimit(requests=3, per_seconds=1.0)
    with connector_for(fake, real_time=True, max_retries=5) as c:
        result = run_sync(c.channel, sleep=no_wait)
    assert fake.stats.snapshot().rate_limited > 0
    assert {g.id for g in result.grants} == expected_ids(fake.dataset).grants


@pytest.mark.parametrize("status", [500, 502, 503])
def test_persistent_5xx_is_unavailable(conn: Connected, status: int) -> None:
    conn.fake.faults.server_error(status, path="/users")
    err = rpc_error(list_users, conn)
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    assert str(status) in (err.details() or "")


def test_transient_faults_are_retried_to_an_exact_result(conn: Connected) -> None:
    conn.fake.faults.server_error(503, times=2)
    conn.fake.faults.drop_connection(times=1, route="GET /organization_memberships")
    conn.fake.faults.drop_connection(mid_body=True, times=1, path="/users")
    result = run_sync(conn.channel, sleep=no_wait)
    expected = expected_ids(conn.fake.dataset)
    assert {g.id for g in result.grants} == expected.grants
    assert {e.id for e in result.entitlements} == expected.entitlements


def test_dropped_connections_after_retries_are_unavailable(conn: Connected) -> None:
    conn.fake.faults.drop_connection(path="/users")
    assert rpc_error(list_users, conn).code() is grpc.StatusCode.UNAVAILABLE


def test_timeouts_after_retries_are_unavailable(fake: FakeClerk) -> None:
    fake.faults.slow(1.0, path="/users")
    with connector_for(fake, timeout=0.2, max_retries=1) as c:
        assert rpc_error(list_users, c).code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("body", list(MalformedBody))
def test_unusable_body_is_internal(conn: Connected, body: MalformedBody) -> None:
    conn.fake.faults.malformed_body(body, path="/users")
    err = rpc_error(list_users, conn)
    assert err.code() is grpc.StatusCode.INTERNAL
    assert "Clerk" in (err.details() or "")


def test_failure_of_the_membership_list_never_yields_a_partial_sync(conn: Connected) -> None:
    conn.fake.faults.server_error(500, route="GET /organization_memberships")
    with pytest.raises(SyncFailed, match=r"ListEntitlements\(organization:.*UNAVAILABLE"):
        run_sync(conn.channel, sleep=no_wait)


def test_failure_on_one_organization_without_a_sync_id_is_unavailable(conn: Connected) -> None:
    conn.fake.faults.server_error(500, route="GET /organizations/{id}/memberships")
    org = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type="organization", resource=s.ORG_ACME)
    )
    stub = grant_grpc.GrantsServiceStub(conn.channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListGrants(grant_pb.GrantsServiceListGrantsRequest(resource=org))
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("fault", ["ignore_paging", "stale_pages"])
def test_users_paging_needs_neither_offset_nor_cursor(fault: str) -> None:
    # A server that ignores offset and starting_after: users page by created_at_after alone
    # (every user here has an instant of its own; a page-filling tie would need the cursor).
    data = generate(users=23, organizations=1, memberships=0, seed=3, tie_rate=0.0)
    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        connector_for(fake, clerk_page_size=2) as conn,
    ):
        getattr(fake.faults, fault)(path="/users")
        token, served = "", []
        while True:
            page = list_users(conn, token, 2)
            served += [user.id.resource for user in page.list]
            token = page.next_page_token
            if not token:
                break
    assert sorted(served) == sorted(data.users)


def page_through_users(conn: Connected, size: int) -> None:
    """Every page of a users listing; fails if it ends (for a server that must not let it)."""
    token = ""
    for _ in range(len(conn.fake.dataset.users) + 2):
        token = list_users(conn, token, size).next_page_token
        assert token, "the listing ended although the server ignored the cursor"


def test_hostile_user_paging_fails_instead_of_looping(fake: FakeClerk) -> None:
    # Users of the awkward instance share instants, so Clerk pages of 2 need the cursor to go
    # on inside one; a server that ignores the cursor as well fails the listing, never loops.
    fake.faults.ignore_paging(path="/users")
    with connector_for(fake, clerk_page_size=2) as conn, pytest.raises(grpc.RpcError) as caught:
        page_through_users(conn, 2)
    err = caught.value
    assert err.code() is grpc.StatusCode.INTERNAL
    assert "already served" in (err.details() or "")


def test_short_organization_page_is_not_presented_as_the_end(conn: Connected) -> None:
    conn.fake.faults.short_pages(1, path="/organizations")
    stub = resource_grpc.ResourcesServiceStub(conn.channel)
    err = rpc_error(
        stub.ListResources,
        resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="organization"),
    )
    assert err.code() is grpc.StatusCode.INTERNAL


@pytest.mark.parametrize("route", ["GET /organization_memberships", "GET /organization_roles"])
def test_short_pages_of_an_offset_list_fail_the_sync(conn: Connected, route: str) -> None:
    # One row per page while total_count says more: the membership snapshot (or the role
    # catalog) would be missing rows, so the sync fails rather than emit partial grants.
    conn.fake.faults.short_pages(1, route=route)
    with pytest.raises(SyncFailed, match=r"INTERNAL.*short page"):
        run_sync(conn.channel, sleep=no_wait)


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJ2IjoxfQ", encode("organizations", {"n": 1, "t": 0, "ids": [], "c": 5})],
)
def test_bad_page_token_is_invalid_argument(conn: Connected, token: str) -> None:
    assert rpc_error(list_users, conn, token).code() is grpc.StatusCode.INVALID_ARGUMENT


def test_bad_tokens_on_entitlements_and_grants(conn: Connected) -> None:
    ents = entitlement_grpc.EntitlementsServiceStub(conn.channel)
    grants = grant_grpc.GrantsServiceStub(conn.channel)
    err = rpc_error(
        ents.ListEntitlements,
        entitlement_pb.EntitlementsServiceListEntitlementsRequest(
            resource=org_resource(), page_token="x"
        ),
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    err = rpc_error(
        grants.ListGrants,
        grant_pb.GrantsServiceListGrantsRequest(resource=org_resource(), page_token="%%"),
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    # A token minted for another organization's grants is not accepted either.
    page = grants.ListGrants(
        grant_pb.GrantsServiceListGrantsRequest(resource=org_resource(s.ORG_ACME), page_size=1)
    )
    assert page.next_page_token
    err = rpc_error(
        grants.ListGrants,
        grant_pb.GrantsServiceListGrantsRequest(
            resource=org_resource(s.ORG_RESTRICTED), page_token=page.next_page_token
        ),
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_type_and_missing_fields(conn: Connected) -> None:
    stub = resource_grpc.ResourcesServiceStub(conn.channel)
    err = rpc_error(
        stub.ListResources,
        resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="group"),
    )
    assert err.code() is grpc.StatusCode.NOT_FOUND
    ents = entitlement_grpc.EntitlementsServiceStub(conn.channel)
    err = rpc_error(
        ents.ListEntitlements, entitlement_pb.EntitlementsServiceListEntitlementsRequest()
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    err = rpc_error(
        ents.ListStaticEntitlements,
        entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest(resource_type_id="nope"),
    )
    assert err.code() is grpc.StatusCode.NOT_FOUND


def test_get_resource(conn: Connected) -> None:
    stub = resource_grpc.ResourceGetterServiceStub(conn.channel)

    def get(type_id: str, object_id: str) -> resource_pb.ResourceGetterServiceGetResourceResponse:
        return stub.GetResource(
            resource_pb.ResourceGetterServiceGetResourceRequest(
                resource_id=resource_pb.ResourceId(resource_type=type_id, resource=object_id)
            )
        )

    assert get("user", s.USER_ZOE).resource.display_name == "Zoë Ångström"
    assert get("organization", s.ORG_ACME).resource.id.resource == s.ORG_ACME
    assert get("organization_role", s.ROLE_ADMIN).resource.id.resource == s.ROLE_ADMIN
    for type_id, missing in [
        ("user", "user_missing"),
        ("organization", "org_missing"),
        ("organization_role", "role_missing"),
        ("organization_permission", "perm_missing"),
    ]:
        assert rpc_error(get, type_id, missing).code() is grpc.StatusCode.NOT_FOUND


def test_provisioning_is_refused_clearly(conn: Connected) -> None:
    stub = grant_grpc.GrantManagerServiceStub(conn.channel)
    err = rpc_error(stub.Grant, grant_pb.GrantManagerServiceGrantRequest())
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    err = rpc_error(stub.Revoke, grant_pb.GrantManagerServiceRevokeRequest())
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION


def test_metadata_lists_served_types_sorted_with_sync(conn: Connected) -> None:
    stub = connector_grpc.ConnectorServiceStub(conn.channel)
    meta = stub.GetMetadata(connector_pb.ConnectorServiceGetMetadataRequest()).metadata
    caps = meta.capabilities.resource_type_capabilities
    assert [c.resource_type.id for c in caps] == sorted(
        ["user", "organization", "organization_role", "organization_permission"]
    )
    assert all(list(c.capabilities) == [connector_pb.CAPABILITY_SYNC] for c in caps)
    assert all(c.opt_in_required for c in caps)
    assert list(meta.capabilities.connector_capabilities) == [connector_pb.CAPABILITY_SYNC]
    assert meta.display_name == "Clerk"


def test_validate_reports_sdk_version(conn: Connected) -> None:
    stub = connector_grpc.ConnectorServiceStub(conn.channel)
    assert stub.Validate(connector_pb.ConnectorServiceValidateRequest()).sdk_version == "0.25.0"


def test_a_token_of_a_listing_the_connector_no_longer_holds_is_aborted(fake: FakeClerk) -> None:
    # A connector restarted mid-sync no longer holds the listing (and its served ids) that a
    # page token continues: resuming could serve a user twice or miss one, so it says so.
    with connector_for(fake, clerk_page_size=2) as first:
        token = list_users(first, "", 2).next_page_token
    assert token
    with connector_for(fake, clerk_page_size=2) as restarted:
        err = rpc_error(list_users, restarted, token, 2)
    assert err.code() is grpc.StatusCode.ABORTED
    assert "start the sync again" in (err.details() or "")


def test_a_page_asked_for_again_gets_the_same_answer(fake: FakeClerk) -> None:
    # The platform retries a call whose answer was lost: same rows, same next token.
    with connector_for(fake, clerk_page_size=2) as conn:
        first = list_users(conn, "", 2)
        second = list_users(conn, first.next_page_token, 2)
        again = list_users(conn, first.next_page_token, 2)
        skipped = rpc_error(list_users, conn, first.next_page_token + "x", 2)
    assert again == second
    assert skipped.code() is grpc.StatusCode.INVALID_ARGUMENT
