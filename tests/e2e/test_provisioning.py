"""Grant and Revoke end to end: the connector over a real gRPC channel, the fake Clerk over real
HTTP, and a sync after each change showing exactly the new grant set.

The demo instance (connector/fake_clerk/data/samples.py): Analytical Engines (initial role set:
admin, member, billing viewer, legacy admin) with Ada (org:admin), Alan and Grace (org:member)
and Dennis (legacy `admin`, also admin-level); Apollo Guidance with Margaret (its only admin),
Katherine (org:billing_viewer) and Grace; Kernel Hackers (engineering set: admin, member,
release manager) with Linus, Dennis (release manager) and Barbara.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_status import rpc_status

from connector.c1.protocol import (
    connector_grpc,
    connector_pb,
    entitlement_annotations,
    entitlement_pb,
    grant_annotations,
    grant_grpc,
    grant_pb,
    ratelimit,
    resource_pb,
    unpack_all,
)
from connector.fake_clerk import FakeClerk, demo
from connector.platform.syncer import run_sync
from tests.e2e.harness import TEST_KEY, Connected, connector_for
from tests.wire_agreement import normalized

ON = {"CONNECTOR_PROVISIONING": "true"}
ANALYTICAL, APOLLO, KERNEL = "org_demo_analytical", "org_demo_apollo", "org_demo_kernel"
ADMIN, MEMBER, BILLING = "role_demo_admin", "role_demo_member", "role_demo_billing_viewer"
RELEASE, LEGACY_ADMIN = "role_demo_release_manager", "role_demo_legacy_admin"
POST = "POST /organizations/{id}/memberships"
PATCH = "PATCH /organizations/{id}/memberships/{id}"
DELETE = "DELETE /organizations/{id}/memberships/{id}"


def user(name: str) -> str:
    return f"user_demo_{name}"


def entitlement(org: str, slug: str) -> entitlement_pb.Entitlement:
    return entitlement_pb.Entitlement(
        id=f"organization:{org}:{slug}",
        resource=resource_pb.Resource(
            id=resource_pb.ResourceId(resource_type="organization", resource=org)
        ),
    )


def principal(user_id: str, type_id: str = "user") -> resource_pb.Resource:
    return resource_pb.Resource(id=resource_pb.ResourceId(resource_type=type_id, resource=user_id))


def grant_id(org: str, slug: str, user_id: str) -> str:
    return f"organization:{org}:{slug}:user:{user_id}"


def as_grant(org: str, slug: str, user_id: str) -> grant_pb.Grant:
    return grant_pb.Grant(
        id=grant_id(org, slug, user_id),
        entitlement=entitlement(org, slug),
        principal=principal(user_id),
    )


@pytest.fixture
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(demo(), secret_key=TEST_KEY) as server:
        yield server


@pytest.fixture
def conn(fake: FakeClerk) -> Iterator[Connected]:
    with connector_for(fake, env=ON) as connected:
        yield connected


def stub(conn: Connected) -> grant_grpc.GrantManagerServiceStub:
    return grant_grpc.GrantManagerServiceStub(conn.channel)


def do_grant(
    conn: Connected, org: str, slug: str, user_id: str
) -> grant_pb.GrantManagerServiceGrantResponse:
    request = grant_pb.GrantManagerServiceGrantRequest(
        entitlement=entitlement(org, slug), principal=principal(user_id)
    )
    response: grant_pb.GrantManagerServiceGrantResponse = stub(conn).Grant(request)
    return response


def do_revoke(
    conn: Connected, org: str, slug: str, user_id: str
) -> grant_pb.GrantManagerServiceRevokeResponse:
    request = grant_pb.GrantManagerServiceRevokeRequest(grant=as_grant(org, slug, user_id))
    response: grant_pb.GrantManagerServiceRevokeResponse = stub(conn).Revoke(request)
    return response


def failure(call: object, *args: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def has(annotations: object, message_type: type) -> bool:
    return bool(unpack_all(annotations, message_type))  # type: ignore[arg-type]


def replaced_ids(response: grant_pb.GrantManagerServiceGrantResponse) -> list[str]:
    return [
        a.replaced_grant_id
        for a in unpack_all(response.annotations, grant_annotations.GrantReplaced)
    ]


def org_grants(conn: Connected, org: str) -> set[str]:
    """Every grant id a full sync now reports on the organization."""
    result = run_sync(conn.channel)
    assert result.invariant_violations() == []
    return {g.id for g in result.grants if g.entitlement.resource.id.resource == org}


def writes(fake: FakeClerk) -> dict[str, int]:
    return fake.stats.applied_writes


# -- off by default ----------------------------------------------------------------------------


def test_off_by_default_refuses_and_names_the_setting(fake: FakeClerk) -> None:
    with connector_for(fake) as off:
        err = failure(do_grant, off, ANALYTICAL, "member", user("barbara"))
        assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "CONNECTOR_PROVISIONING" in (err.details() or "")
        err = failure(do_revoke, off, APOLLO, "member", user("grace"))
        assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
        meta = connector_grpc.ConnectorServiceStub(off.channel).GetMetadata(
            connector_pb.ConnectorServiceGetMetadataRequest()
        )
        caps = meta.metadata.capabilities
        assert list(caps.connector_capabilities) == [connector_pb.CAPABILITY_SYNC]
    assert writes(fake) == {}


def test_on_advertises_provisioning_for_organizations_only(conn: Connected) -> None:
    meta = connector_grpc.ConnectorServiceStub(conn.channel).GetMetadata(
        connector_pb.ConnectorServiceGetMetadataRequest()
    )
    caps = meta.metadata.capabilities
    by_type = {c.resource_type.id: list(c.capabilities) for c in caps.resource_type_capabilities}
    assert by_type["organization"] == [
        connector_pb.CAPABILITY_PROVISION,
        connector_pb.CAPABILITY_SYNC,
    ]
    assert all(
        v == [connector_pb.CAPABILITY_SYNC] for k, v in by_type.items() if k != "organization"
    )
    assert list(caps.connector_capabilities) == [
        connector_pb.CAPABILITY_PROVISION,
        connector_pb.CAPABILITY_SYNC,
    ]


# -- grant -------------------------------------------------------------------------------------


def test_grant_member_creates_the_membership_with_the_default_role(conn: Connected) -> None:
    before = org_grants(conn, ANALYTICAL)
    barbara = user("barbara")
    answer = do_grant(conn, ANALYTICAL, "member", barbara)
    new = {grant_id(ANALYTICAL, "member", barbara), grant_id(ANALYTICAL, MEMBER, barbara)}
    assert {g.id for g in answer.grants} == new
    assert not has(answer.annotations, grant_annotations.GrantAlreadyExists)
    assert writes(conn.fake) == {POST: 1}
    assert org_grants(conn, ANALYTICAL) == before | new
    # The answer's grants have the shapes a sync emits.
    synced = {g.id: g for g in run_sync(conn.channel).grants}
    for granted in answer.grants:  # (Any bytes normalized: Struct entries have no order)
        assert normalized(granted) == normalized(synced[granted.id])

    again = do_grant(conn, ANALYTICAL, "member", barbara)
    assert has(again.annotations, grant_annotations.GrantAlreadyExists)
    assert {g.id for g in again.grants} == new
    assert writes(conn.fake) == {POST: 1}


def test_grant_role_to_a_member_replaces_the_previous_role_grant(conn: Connected) -> None:
    alan = user("alan")
    before = org_grants(conn, ANALYTICAL)
    answer = do_grant(conn, ANALYTICAL, BILLING, alan)
    assert replaced_ids(answer) == [grant_id(ANALYTICAL, MEMBER, alan)]
    assert {g.id for g in answer.grants} == {
        grant_id(ANALYTICAL, "member", alan),
        grant_id(ANALYTICAL, BILLING, alan),
    }
    assert writes(conn.fake) == {PATCH: 1}
    after = org_grants(conn, ANALYTICAL)
    assert after == (before - {grant_id(ANALYTICAL, MEMBER, alan)}) | {
        grant_id(ANALYTICAL, BILLING, alan)
    }

    again = do_grant(conn, ANALYTICAL, BILLING, alan)
    assert has(again.annotations, grant_annotations.GrantAlreadyExists)
    assert replaced_ids(again) == []
    assert writes(conn.fake) == {PATCH: 1}


def test_grant_role_to_a_non_member_creates_the_membership_with_that_role(conn: Connected) -> None:
    barbara = user("barbara")
    answer = do_grant(conn, APOLLO, BILLING, barbara)
    assert {g.id for g in answer.grants} == {
        grant_id(APOLLO, "member", barbara),
        grant_id(APOLLO, BILLING, barbara),
    }
    assert replaced_ids(answer) == []
    assert writes(conn.fake) == {POST: 1}
    created = conn.fake.dataset.membership(APOLLO, barbara)
    assert created is not None
    assert created.role == "org:billing_viewer"


def test_a_role_outside_the_role_set_is_refused_naming_role_and_organization(
    conn: Connected,
) -> None:
    # The release manager role is only in the engineering set (Kernel Hackers).
    err = failure(do_grant, conn, ANALYTICAL, RELEASE, user("alan"))
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "org:release_manager" in (err.details() or "")
    assert ANALYTICAL in (err.details() or "")
    assert writes(conn.fake) == {}


# -- revoke ------------------------------------------------------------------------------------


def test_revoke_member_deletes_the_membership(conn: Connected) -> None:
    grace = user("grace")
    before = org_grants(conn, APOLLO)
    answer = do_revoke(conn, APOLLO, "member", grace)
    assert not has(answer.annotations, grant_annotations.GrantAlreadyRevoked)
    assert writes(conn.fake) == {DELETE: 1}
    assert org_grants(conn, APOLLO) == before - {
        grant_id(APOLLO, "member", grace),
        grant_id(APOLLO, MEMBER, grace),
    }
    again = do_revoke(conn, APOLLO, "member", grace)
    assert has(again.annotations, grant_annotations.GrantAlreadyRevoked)
    assert writes(conn.fake) == {DELETE: 1}


def test_revoke_role_moves_the_member_to_the_default_role(conn: Connected) -> None:
    katherine = user("katherine")
    before = org_grants(conn, APOLLO)
    do_revoke(conn, APOLLO, BILLING, katherine)
    assert writes(conn.fake) == {PATCH: 1}
    assert org_grants(conn, APOLLO) == (before - {grant_id(APOLLO, BILLING, katherine)}) | {
        grant_id(APOLLO, MEMBER, katherine)
    }
    again = do_revoke(conn, APOLLO, BILLING, katherine)
    assert has(again.annotations, grant_annotations.GrantAlreadyRevoked)
    assert writes(conn.fake) == {PATCH: 1}


def test_revoking_the_default_role_is_refused_and_names_the_member_grant(conn: Connected) -> None:
    grace = user("grace")
    err = failure(do_revoke, conn, APOLLO, MEMBER, grace)
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert grant_id(APOLLO, "member", grace) in (err.details() or "")
    assert writes(conn.fake) == {}


def test_the_last_admin_is_kept_unless_the_setting_is_off(fake: FakeClerk) -> None:
    margaret = user("margaret")  # Apollo's only admin-level member
    with connector_for(fake, env=ON) as conn:
        for slug in ("member", ADMIN):
            err = failure(do_revoke, conn, APOLLO, slug, margaret)
            assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
            assert "last member" in (err.details() or "")
        assert writes(fake) == {}
        # Analytical has two admin-level members (Ada, and Dennis with the legacy role).
        do_revoke(conn, ANALYTICAL, ADMIN, user("ada"))
        assert writes(fake) == {PATCH: 1}
    with connector_for(fake, env={**ON, "CONNECTOR_PROTECT_LAST_ADMIN": "false"}) as unguarded:
        do_revoke(unguarded, APOLLO, "member", margaret)
    assert writes(fake) == {PATCH: 1, DELETE: 1}


def test_clerk_refusing_to_drop_the_last_manager_is_failed_precondition(fake: FakeClerk) -> None:
    fake.faults.minimum_permissions_needed()
    env = {**ON, "CONNECTOR_PROTECT_LAST_ADMIN": "false"}
    with connector_for(fake, env=env) as conn:
        err = failure(do_revoke, conn, KERNEL, "member", user("linus"))
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "organization_minimum_permissions_needed" in (err.details() or "")
    assert writes(fake) == {}


# -- what is not provisioned, and bad requests --------------------------------------------------


def test_permission_grants_are_not_provisioned(conn: Connected) -> None:
    request = grant_pb.GrantManagerServiceGrantRequest(
        entitlement=entitlement_pb.Entitlement(
            id="organization_permission:perm_x:granted",
            resource=resource_pb.Resource(
                id=resource_pb.ResourceId(
                    resource_type="organization_permission", resource="perm_x"
                )
            ),
        ),
        principal=principal(ADMIN, "organization_role"),
    )
    err = failure(stub(conn).Grant, request)
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "every organization" in (err.details() or "")


@pytest.mark.parametrize(
    ("entitlement_message", "principal_message"),
    [
        (entitlement(ANALYTICAL, "member"), principal(ANALYTICAL, "organization")),
        (
            entitlement_pb.Entitlement(
                id="user:user_demo_ada:member",
                resource=resource_pb.Resource(
                    id=resource_pb.ResourceId(resource_type="user", resource="user_demo_ada")
                ),
            ),
            principal(user("alan")),
        ),
        (
            entitlement_pb.Entitlement(
                id=f"organization:{APOLLO}:member",
                resource=entitlement(ANALYTICAL, "member").resource,
            ),
            principal(user("alan")),
        ),
        (entitlement(ANALYTICAL, "member:extra"), principal(user("alan"))),
    ],
    ids=["principal-not-a-user", "entitlement-of-a-user", "id-of-another-org", "malformed-id"],
)
def test_wrong_types_and_malformed_ids_are_invalid_argument(
    conn: Connected,
    entitlement_message: entitlement_pb.Entitlement,
    principal_message: resource_pb.Resource,
) -> None:
    request = grant_pb.GrantManagerServiceGrantRequest(
        entitlement=entitlement_message, principal=principal_message
    )
    assert failure(stub(conn).Grant, request).code() is grpc.StatusCode.INVALID_ARGUMENT
    assert writes(conn.fake) == {}


def test_unknown_organization_user_or_role_is_not_found(conn: Connected) -> None:
    for org, slug, user_id in [
        ("org_missing", "member", user("alan")),
        (ANALYTICAL, "member", "user_missing"),
        (ANALYTICAL, "role_missing", user("alan")),
    ]:
        err = failure(do_grant, conn, org, slug, user_id)
        assert err.code() is grpc.StatusCode.NOT_FOUND, (org, slug, user_id)
    assert writes(conn.fake) == {}


def test_rate_limited_writes_are_unavailable_with_a_reset_time(fake: FakeClerk) -> None:
    fake.faults.rate_limited(retry_after=3, route=POST)
    with connector_for(fake, env=ON) as conn:
        err = failure(do_grant, conn, ANALYTICAL, "member", user("barbara"))
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    (detail,) = status.details
    description = ratelimit.RateLimitDescription()
    assert detail.Unpack(description)
    assert description.HasField("reset_at")
    assert writes(fake) == {}


# -- safety: lost answers, concurrency ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["drop", "stall"])
def test_a_lost_answer_is_read_back_never_sent_again(fake: FakeClerk, mode: str) -> None:
    lost = fake.faults.lost_reply(mode, seconds=4.0, times=1, route=POST)
    ada = user("ada")  # not a member of Kernel Hackers
    with connector_for(fake, env=ON, timeout=1.0, real_time=True) as conn:
        answer = do_grant(conn, KERNEL, RELEASE, ada)
        assert {g.id for g in answer.grants} == {
            grant_id(KERNEL, "member", ada),
            grant_id(KERNEL, RELEASE, ada),
        }
        assert lost.hits == 1  # the answer was lost ...
        assert fake.stats.writes == {POST: 1}  # ... and the write was not sent again
        assert writes(fake) == {POST: 1}
        # Repeating the call after the lost answer changes nothing more.
        again = do_grant(conn, KERNEL, RELEASE, ada)
        assert has(again.annotations, grant_annotations.GrantAlreadyExists)
    assert fake.stats.writes.get(POST) == 1


def test_identical_calls_at_once_make_one_write(conn: Connected) -> None:
    barbara = user("barbara")
    answers: list[grant_pb.GrantManagerServiceGrantResponse] = []
    start = threading.Barrier(4)

    def call() -> None:
        start.wait()
        answers.append(do_grant(conn, ANALYTICAL, BILLING, barbara))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert writes(conn.fake) == {POST: 1}
    already = [has(a.annotations, grant_annotations.GrantAlreadyExists) for a in answers]
    assert sorted(already) == [False, True, True, True]
    assert all({g.id for g in a.grants} == {g.id for g in answers[0].grants} for a in answers)


# -- audit, and the sync's exclusion groups -----------------------------------------------------


def test_every_call_is_audited_in_metrics(conn: Connected) -> None:
    do_grant(conn, ANALYTICAL, "member", user("barbara"))
    do_grant(conn, ANALYTICAL, "member", user("barbara"))
    failure(do_revoke, conn, APOLLO, MEMBER, user("grace"))
    registry = conn.server.observability.metrics.registry
    name = "clerk_connector_provisioning_total"

    def count(action: str, outcome: str) -> float | None:
        labels = {"action": action, "resource_type": "organization", "outcome": outcome}
        return registry.get_sample_value(name, labels)

    assert count("grant", "granted") == 1
    assert count("grant", "already_granted") == 1
    assert count("revoke", "FAILED_PRECONDITION") == 1


def test_role_entitlements_exclude_each_other_with_the_default_marked(conn: Connected) -> None:
    result = run_sync(conn.channel)
    for org in (ANALYTICAL, APOLLO, KERNEL):
        groups = {}
        for item in result.entitlements:
            if item.resource.id.resource != org:
                continue
            found = unpack_all(item.annotations, entitlement_annotations.EntitlementExclusionGroup)
            if item.slug == "member":
                assert found == []
                continue
            assert len(found) == 1, item.id
            groups[item.id.rsplit(":", 1)[1]] = found[0]
        assert {g.exclusion_group_id for g in groups.values()} == {f"organization:{org}:role"}
        assert [role for role, g in groups.items() if g.is_default] == [MEMBER]
        orders = {role: g.order for role, g in groups.items()}
        assert len(set(orders.values())) == len(orders)
        assert orders[MEMBER] < orders[ADMIN]
        if LEGACY_ADMIN in orders:
            assert orders[MEMBER] < orders[LEGACY_ADMIN]
    # Grants do not repeat the annotation (it belongs to the entitlement list).
    assert all(
        not unpack_all(g.entitlement.annotations, entitlement_annotations.EntitlementExclusionGroup)
        for g in result.grants
    )
