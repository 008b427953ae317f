"""The platform-style syncer against a scripted connector over a real gRPC channel."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
import pytest

from connector.c1.protocol import (
    connector,
    connector_grpc,
    entitlement,
    entitlement_grpc,
    grant,
    grant_grpc,
    pack,
    resource,
    resource_grpc,
    resource_tree,
)
from connector.platform.syncer import SyncFailed, run_sync


def res(type_id: str, object_id: str, *annotations: object) -> resource.Resource:
    return resource.Resource(
        id=resource.ResourceId(resource_type=type_id, resource=object_id),
        annotations=[pack(a) for a in annotations],  # type: ignore[arg-type]
    )


class Scripted(
    connector_grpc.ConnectorServiceServicer,
    resource_grpc.ResourceTypesServiceServicer,
    resource_grpc.ResourcesServiceServicer,
    entitlement_grpc.EntitlementsServiceServicer,
    grant_grpc.GrantsServiceServicer,
):
    """A team with a child type `member`; grants page forever when `repeat_token` is set."""

    def __init__(self, repeat_token: bool = False) -> None:
        self.repeat_token = repeat_token
        self.calls: list[str] = []
        self.cleaned: list[str] = []

    def GetMetadata(
        self, request: object, context: object
    ) -> connector.ConnectorServiceGetMetadataResponse:
        return connector.ConnectorServiceGetMetadataResponse()

    def Validate(
        self, request: object, context: object
    ) -> connector.ConnectorServiceValidateResponse:
        self.calls.append("Validate")
        return connector.ConnectorServiceValidateResponse(sdk_version="0.25.0")

    def Cleanup(
        self, request: connector.ConnectorServiceCleanupRequest, context: object
    ) -> connector.ConnectorServiceCleanupResponse:
        self.cleaned.append(request.active_sync_id)
        return connector.ConnectorServiceCleanupResponse()

    def ListResourceTypes(
        self, request: object, context: object
    ) -> resource.ResourceTypesServiceListResourceTypesResponse:
        return resource.ResourceTypesServiceListResourceTypesResponse(
            list=[resource.ResourceType(id="team"), resource.ResourceType(id="member")]
        )

    def ListResources(
        self, request: resource.ResourcesServiceListResourcesRequest, context: object
    ) -> resource.ResourcesServiceListResourcesResponse:
        self.calls.append(
            f"ListResources:{request.resource_type_id}:{request.parent_resource_id.resource}"
        )
        if request.resource_type_id == "team":
            child = resource_tree.ChildResourceType(resource_type_id="member")
            return resource.ResourcesServiceListResourcesResponse(list=[res("team", "t1", child)])
        if request.parent_resource_id.resource == "t1":
            skip = resource_tree.SkipEntitlementsAndGrants()
            return resource.ResourcesServiceListResourcesResponse(list=[res("member", "m1", skip)])
        return resource.ResourcesServiceListResourcesResponse()

    def ListStaticEntitlements(
        self, request: object, context: object
    ) -> entitlement.EntitlementsServiceListStaticEntitlementsResponse:
        return entitlement.EntitlementsServiceListStaticEntitlementsResponse()

    def ListEntitlements(
        self, request: entitlement.EntitlementsServiceListEntitlementsRequest, context: object
    ) -> entitlement.EntitlementsServiceListEntitlementsResponse:
        self.calls.append(f"ListEntitlements:{request.resource.id.resource}")
        return entitlement.EntitlementsServiceListEntitlementsResponse(
            list=[entitlement.Entitlement(id="team:t1:member", resource=request.resource)]
        )

    def ListGrants(
        self, request: grant.GrantsServiceListGrantsRequest, context: object
    ) -> grant.GrantsServiceListGrantsResponse:
        self.calls.append(f"ListGrants:{request.resource.id.resource}:{request.page_token}")
        if self.repeat_token:
            return grant.GrantsServiceListGrantsResponse(next_page_token="same")
        return grant.GrantsServiceListGrantsResponse()


@contextmanager
def serve(servicer: Scripted) -> Iterator[grpc.Channel]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    connector_grpc.add_ConnectorServiceServicer_to_server(servicer, server)
    resource_grpc.add_ResourceTypesServiceServicer_to_server(servicer, server)
    resource_grpc.add_ResourcesServiceServicer_to_server(servicer, server)
    entitlement_grpc.add_EntitlementsServiceServicer_to_server(servicer, server)
    grant_grpc.add_GrantsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(0)


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


def test_child_types_are_listed_per_parent_and_skips_are_honoured(scripted: Scripted) -> None:
    with serve(scripted) as channel:
        result = run_sync(channel, sync_id="s-1")
    assert [f"{r.id.resource_type}:{r.id.resource}" for r in result.resources] == [
        "team:t1",
        "member:m1",
    ]
    assert "ListResources:member:t1" in scripted.calls
    assert "ListEntitlements:t1" in scripted.calls
    assert "ListEntitlements:m1" not in scripted.calls  # SkipEntitlementsAndGrants
    assert scripted.calls[0] == "Validate"
    assert scripted.cleaned == ["s-1"]


def test_a_repeated_page_token_fails_loudly_and_still_cleans_up() -> None:
    scripted = Scripted(repeat_token=True)
    with serve(scripted) as channel, pytest.raises(SyncFailed, match="page token it already sent"):
        run_sync(channel, sync_id="s-2")
    assert scripted.calls.count("ListGrants:t1:same") == 1
    assert scripted.cleaned == ["s-2"]
