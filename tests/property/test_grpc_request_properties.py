"""Bad input from the platform, over a real gRPC channel to a connector reading the fake Clerk:
garbled, forged, foreign and huge page tokens, any page_size a uint32 holds, any resource type
and id. Every answer is OK or a clean INVALID_ARGUMENT / NOT_FOUND, within a deadline: never
INTERNAL or UNKNOWN (a crash), never DEADLINE_EXCEEDED (a hang)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.c1.page_tokens import MAX_TOKEN_BYTES
from connector.c1.protocol import (
    entitlement_grpc,
    entitlement_pb,
    grant_grpc,
    grant_pb,
    resource_grpc,
    resource_pb,
)
from connector.fake_clerk import FakeClerk, awkward
from connector.fake_clerk.data import samples as s
from tests.e2e.harness import TEST_KEY, Connected, connector_for
from tests.property.settings import FEW, PROPERTY

CLEAN = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
DEADLINE_SECONDS = 10.0
TYPES = ["user", "organization", "organization_role", "organization_permission"]


@dataclass
class Target:
    conn: Connected
    real_tokens: list[str]  # next-page tokens of every paged list, minted by the connector

    @property
    def resources(self) -> resource_grpc.ResourcesServiceStub:
        return resource_grpc.ResourcesServiceStub(self.conn.channel)

    @property
    def entitlements(self) -> entitlement_grpc.EntitlementsServiceStub:
        return entitlement_grpc.EntitlementsServiceStub(self.conn.channel)

    @property
    def grants(self) -> grant_grpc.GrantsServiceStub:
        return grant_grpc.GrantsServiceStub(self.conn.channel)

    @property
    def getter(self) -> resource_grpc.ResourceGetterServiceStub:
        return resource_grpc.ResourceGetterServiceStub(self.conn.channel)


def org(org_id: str = s.ORG_ACME) -> resource_pb.Resource:
    return resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type="organization", resource=org_id)
    )


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with FakeClerk(awkward(), secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        stubs = Target(conn, [])
        for type_id in TYPES:
            page = stubs.resources.ListResources(
                resource_pb.ResourcesServiceListResourcesRequest(
                    resource_type_id=type_id, page_size=1
                )
            )
            stubs.real_tokens.append(page.next_page_token)
        stubs.real_tokens.append(
            stubs.entitlements.ListEntitlements(
                entitlement_pb.EntitlementsServiceListEntitlementsRequest(
                    resource=org(), page_size=1
                )
            ).next_page_token
        )
        stubs.real_tokens.append(
            stubs.grants.ListGrants(
                grant_pb.GrantsServiceListGrantsRequest(resource=org(), page_size=1)
            ).next_page_token
        )
        stubs.real_tokens = [token for token in stubs.real_tokens if token]
        assert len(stubs.real_tokens) >= 4
        yield stubs


def outcome(call: Callable[[], object]) -> grpc.StatusCode:
    """The call's status code, asserted to be a clean one."""
    code, details = grpc.StatusCode.OK, ""
    try:
        call()
    except grpc.RpcError as error:
        code, details = error.code(), str(error.details())
    # A real token of a listing the connector keeps for another sync (or none) is ABORTED:
    # resuming without that listing's served ids could repeat or miss a row.
    expired = code is grpc.StatusCode.ABORTED and "no longer held by the connector" in details
    assert code in CLEAN or expired, f"{code.name}: {details}"
    return code


# -- strategies -----------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@st.composite
def edited_real_token(draw: st.DrawFn, tokens: list[str]) -> str:
    """A token the connector minted, with one field of its position changed in place."""
    token = draw(st.sampled_from(tokens))
    payload, check = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    key = draw(st.sampled_from([*body["p"], "x"]))
    body["p"][key] = draw(JSON | st.integers(-(2**70), 2**70))
    return f"{_b64(json.dumps(body).encode())}.{check}"


@st.composite
def garbled_real_token(draw: st.DrawFn, tokens: list[str]) -> str:
    token = draw(st.sampled_from(tokens))
    index = draw(st.integers(0, len(token) - 1))
    return token[:index] + draw(st.characters(codec="utf-8")) + token[index + 1 :]


def tokens(real: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        TEXT,
        st.binary(max_size=200).map(_b64),
        JSON.map(lambda body: _b64(json.dumps(body).encode())),
        st.sampled_from(real),  # real tokens, very likely of another list than the call's
        edited_real_token(real),
        garbled_real_token(real),
        st.integers(1, 200).map(lambda n: "A" * n + "." + "B" * n),
    )


PAGE_SIZES = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 2**32 - 1]))
TYPE_IDS = st.one_of(st.sampled_from(TYPES), TEXT)
OBJECT_IDS = st.one_of(
    st.sampled_from([s.ORG_ACME, s.USER_ALICE, s.ROLE_ADMIN, "", ".", "..", "a/b", "%2e%2e", "?"]),
    TEXT,
)
SYNC_IDS = st.sampled_from(["", "sync-property"])


# -- properties ----------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), type_id=TYPE_IDS, size=PAGE_SIZES, sync_id=SYNC_IDS)
def test_list_resources(
    target: Target, data: st.DataObject, type_id: str, size: int, sync_id: str
) -> None:
    token = data.draw(tokens(target.real_tokens), label="token")
    parent = data.draw(
        st.none() | st.builds(resource_pb.ResourceId, resource_type=TYPE_IDS, resource=OBJECT_IDS)
    )
    request = resource_pb.ResourcesServiceListResourcesRequest(
        resource_type_id=type_id,
        page_size=size,
        page_token=token,
        active_sync_id=sync_id,
        parent_resource_id=parent,
    )
    outcome(lambda: target.resources.ListResources(request, timeout=DEADLINE_SECONDS))


@PROPERTY
@given(data=st.data(), type_id=TYPE_IDS, object_id=OBJECT_IDS, size=PAGE_SIZES, sync_id=SYNC_IDS)
def test_list_entitlements_and_grants(
    target: Target, data: st.DataObject, type_id: str, object_id: str, size: int, sync_id: str
) -> None:
    token = data.draw(tokens(target.real_tokens), label="token")
    parent = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=type_id, resource=object_id)
    )
    ents = entitlement_pb.EntitlementsServiceListEntitlementsRequest(
        resource=parent, page_size=size, page_token=token, active_sync_id=sync_id
    )
    grants = grant_pb.GrantsServiceListGrantsRequest(
        resource=parent, page_size=size, page_token=token, active_sync_id=sync_id
    )
    outcome(lambda: target.entitlements.ListEntitlements(ents, timeout=DEADLINE_SECONDS))
    outcome(lambda: target.grants.ListGrants(grants, timeout=DEADLINE_SECONDS))


@PROPERTY
@given(type_id=TYPE_IDS, object_id=OBJECT_IDS, sync_id=SYNC_IDS)
def test_get_resource(target: Target, type_id: str, object_id: str, sync_id: str) -> None:
    request = resource_pb.ResourceGetterServiceGetResourceRequest(
        resource_id=resource_pb.ResourceId(resource_type=type_id, resource=object_id),
        active_sync_id=sync_id,
    )
    outcome(lambda: target.getter.GetResource(request, timeout=DEADLINE_SECONDS))


@PROPERTY
@given(data=st.data(), type_id=TYPE_IDS, size=PAGE_SIZES)
def test_list_static_entitlements(
    target: Target, data: st.DataObject, type_id: str, size: int
) -> None:
    request = entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest(
        resource_type_id=type_id,
        page_size=size,
        page_token=data.draw(tokens(target.real_tokens), label="token"),
    )
    outcome(lambda: target.entitlements.ListStaticEntitlements(request, timeout=DEADLINE_SECONDS))


@FEW
@given(size=st.integers(MAX_TOKEN_BYTES - 2, MAX_TOKEN_BYTES + 2), type_id=st.sampled_from(TYPES))
def test_huge_tokens_are_refused_quickly(target: Target, size: int, type_id: str) -> None:
    request = resource_pb.ResourcesServiceListResourcesRequest(
        resource_type_id=type_id, page_token="A" * size
    )
    code = outcome(lambda: target.resources.ListResources(request, timeout=DEADLINE_SECONDS))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


def test_a_real_token_still_works_after_all_this(target: Target) -> None:
    """The properties above ran against the same connector: it still pages correctly."""
    first = target.resources.ListResources(
        resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="user", page_size=2)
    )
    second = target.resources.ListResources(
        resource_pb.ResourcesServiceListResourcesRequest(
            resource_type_id="user", page_size=2, page_token=first.next_page_token
        )
    )
    assert len(first.list) == len(second.list) == 2
    assert {r.id.resource for r in first.list}.isdisjoint(r.id.resource for r in second.list)
