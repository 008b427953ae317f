"""The platform-style syncer against a scripted connector over a real gRPC channel."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
import pytest

from connector.c1.protocol import (
    connector_grpc,
    connector_pb,
    entitlement_grpc,
    entitlement_pb,
    grant_grpc,
    grant_pb,
    pack,
    resource_grpc,
    resource_pb,
    resource_tree,
)
from connector.platform.syncer import SyncFailed, run_sync


def res(type_id: str, object_id: str, *annotations: object) -> resource_pb.Resource:
    return resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=type_id, resource=object_id),
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
    ) -> connector_pb.ConnectorServiceGetMetadataResponse:
        return connector_pb.ConnectorServiceGetMetadataResponse()

    def Validate(
        self, request: object, context: object
    ) -> connector_pb.ConnectorServiceValidateResponse:
        self.calls.append("Validate")
        return connector_pb.ConnectorServiceValidateResponse(sdk_version="0.25.0")

    def Cleanup(
        self, request: connector_pb.ConnectorServiceCleanupRequest, context: object
    ) -> connector_pb.ConnectorServiceCleanupResponse:
        self.cleaned.append(request.active_sync_id)
        return connector_pb.ConnectorServiceCleanupResponse()

    def ListResourceTypes(
        self, request: object, context: object
    ) -> resource_pb.ResourceTypesServiceListResourceTypesResponse:
        return resource_pb.ResourceTypesServiceListResourceTypesResponse(
            list=[resource_pb.ResourceType(id="team"), resource_pb.ResourceType(id="member")]
        )

    def ListResources(
        self, request: resource_pb.ResourcesServiceListResourcesRequest, context: object
    ) -> resource_pb.ResourcesServiceListResourcesResponse:
        self.calls.append(
            f"ListResources:{request.resource_type_id}:{request.parent_resource_id.resource}"
        )
        if request.resource_type_id == "team":
            child = resource_tree.ChildResourceType(resource_type_id="member")
            return resource_pb.ResourcesServiceListResourcesResponse(
                list=[res("team", "t1", child)]
            )
        if request.parent_resource_id.resource == "t1":
            skip = resource_tree.SkipEntitlementsAndGrants()
            return resource_pb.ResourcesServiceListResourcesResponse(
                list=[res("member", "m1", skip)]
            )
        return resource_pb.ResourcesServiceListResourcesResponse()

    def ListStaticEntitlements(
        self, request: object, context: object
    ) -> entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse:
        return entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse()

    def ListEntitlements(
        self, request: entitlement_pb.EntitlementsServiceListEntitlementsRequest, context: object
    ) -> entitlement_pb.EntitlementsServiceListEntitlementsResponse:
        self.calls.append(f"ListEntitlements:{request.resource.id.resource}")
        return entitlement_pb.EntitlementsServiceListEntitlementsResponse(
            list=[entitlement_pb.Entitlement(id="team:t1:member", resource=request.resource)]
        )

    def ListGrants(
        self, request: grant_pb.GrantsServiceListGrantsRequest, context: object
    ) -> grant_pb.GrantsServiceListGrantsResponse:
        self.calls.append(f"ListGrants:{request.resource.id.resource}:{request.page_token}")
        if self.repeat_token:
            return grant_pb.GrantsServiceListGrantsResponse(next_page_token="same")
        return grant_pb.GrantsServiceListGrantsResponse()


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
