"""The c1.connector.v2 servicers: protocol in, builders out.

Each RPC resolves the builder for the requested type, hands it the sync's context and the
page size/token, and wraps the answer. Every RPC runs inside `_call`, which logs it and turns
known failures into the right gRPC status (see errors.py) and anything else into INTERNAL
without leaking details.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
import structlog
from google.protobuf import struct_pb2

from connector.c1 import ids, page_tokens
from connector.c1.protocol import (
    SDK_VERSION,
    SYNC_REPORT_KEY,
    connector_grpc,
    connector_pb,
    entitlement_grpc,
    entitlement_pb,
    grant_grpc,
    grant_pb,
    pack,
    resource_grpc,
    resource_pb,
    struct,
)
from connector.c1.sync_cache import SyncCache, SyncReport
from connector.clerk import ClerkClient
from connector.model.base import ResourceBuilder, ResourceNotFound, SyncContext
from connector.server.errors import BadRequest, UnknownResourceType, failure_for

log = structlog.get_logger(__name__)
R = TypeVar("R")

DISPLAY_NAME = "Clerk"
DESCRIPTION = "Users, organizations, organization roles and permissions of a Clerk instance."
HELP_URL = "https://clerk.com/docs/organizations/overview"
# Types whose listings need the role catalog (roles, permissions, role sets).
CATALOG_TYPES = frozenset({ids.ORGANIZATION, ids.ORGANIZATION_ROLE, ids.ORGANIZATION_PERMISSION})


class Connector:
    """The served resource types over one Clerk client, plus the per-sync caches."""

    def __init__(
        self, client: ClerkClient, builders: Iterable[ResourceBuilder], cache: SyncCache
    ) -> None:
        self.client = client
        self.builders = {builder.type_id: builder for builder in builders}
        self.cache = cache
        # Told about every finished RPC; the server sets it to its metrics (see server/app.py).
        self.observer: RpcObserver = ignore_rpc
        self.resource_types = {
            type_id: builder.resource_type() for type_id, builder in sorted(self.builders.items())
        }

    def context(self, sync_id: str) -> SyncContext:
        return SyncContext(
            client=self.client,
            scope=self.cache.scope(sync_id),
            served=frozenset(self.builders),
            resource_types=self.resource_types,
            cache=self.cache,
        )

    @property
    def needs_catalog(self) -> bool:
        """Whether a sync will read the role catalog (so Validate may read its first page)."""
        return bool(self.builders.keys() & CATALOG_TYPES)

    def begin(self, ctx: SyncContext) -> None:
        """A sync is listing resources: let every builder start its background reads."""
        if ctx.scope.persistent:
            for builder in self.builders.values():
                builder.prefetch(ctx)

    def builder(self, type_id: str) -> ResourceBuilder:
        try:
            return self.builders[type_id]
        except KeyError:
            raise UnknownResourceType(f"resource type {type_id!r} is not served") from None

    def metadata(self) -> connector_pb.ConnectorMetadata:
        sync = connector_pb.CAPABILITY_SYNC
        return connector_pb.ConnectorMetadata(
            display_name=DISPLAY_NAME,
            description=DESCRIPTION,
            help_url=HELP_URL,
            capabilities=connector_pb.ConnectorCapabilities(
                resource_type_capabilities=[
                    # opt_in_required: the platform's administrator chooses which of the
                    # types to sync, as the operator already chose which to serve.
                    connector_pb.ResourceTypeCapability(
                        resource_type=rt, capabilities=[sync], opt_in_required=True
                    )
                    for rt in self.resource_types.values()
                ],
                connector_capabilities=[sync],
            ),
        )


@dataclass(frozen=True)
class RpcEvent:
    """One finished RPC as observers (metrics) see it. Labels come from our own answer (served
    type ids), never from request fields, so their cardinality stays bounded."""

    method: str
    code: grpc.StatusCode
    seconds: float
    items: int | None = None  # len(response.list) for List RPCs
    emitted: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (kind, type) -> n
    unresolved_role_keys: int = 0  # memberships whose role key matched no role


RpcObserver = Callable[[RpcEvent], None]


def ignore_rpc(_event: RpcEvent) -> None:
    """The observer of a Connector nobody watches."""


# Memberships whose role key matched no role, reported by the RPC running on this thread
# (ListEntitlements of an organization, once per organization and sync).
_unresolved_in_call: ContextVar[int] = ContextVar("unresolved_in_call", default=0)


def rpc_event(
    method: str,
    code: grpc.StatusCode,
    seconds: float,
    response: object | None,
    unresolved_role_keys: int = 0,
) -> RpcEvent:
    """The event of one RPC, counting what its List answer (if any) emits.

    Every item of one List answer has the same kind and resource type (one type's resources,
    or one resource's entitlements or grants), so the first item labels them all: counting
    costs nothing per item.
    """
    listed = getattr(response, "list", None)
    if listed is None:
        return RpcEvent(method, code, seconds, unresolved_role_keys=unresolved_role_keys)
    emitted: dict[tuple[str, str], int] = {}
    if len(listed):
        first = listed[0]
        if isinstance(first, resource_pb.Resource):
            emitted["resource", first.id.resource_type] = len(listed)
        elif isinstance(first, entitlement_pb.Entitlement):
            emitted["entitlement", first.resource.id.resource_type] = len(listed)
        elif isinstance(first, grant_pb.Grant):
            emitted["grant", first.entitlement.resource.id.resource_type] = len(listed)
    return RpcEvent(method, code, seconds, len(listed), emitted, unresolved_role_keys)


def _call(app: Connector, method: str, context: grpc.ServicerContext, work: Callable[[], R]) -> R:
    started = time.perf_counter()
    code = grpc.StatusCode.OK
    response: R | None = None
    _unresolved_in_call.set(0)
    try:
        response = work()
        return response
    except Exception as exc:
        known = failure_for(exc)
        if known is None:
            log.exception("rpc_internal_error", method=method)
            code = grpc.StatusCode.INTERNAL
            context.abort(code, f"internal error in {method}; see the connector log")
        code = known.code
        context.abort_with_status(known.to_status())
        raise  # unreachable: abort raises
    finally:
        seconds = time.perf_counter() - started
        event = rpc_event(method, code, seconds, response, _unresolved_in_call.get())
        extra = {} if event.items is None else {"items": event.items}
        log.info(
            "rpc", method=method, status=code.name, duration_ms=round(seconds * 1000, 2), **extra
        )
        try:
            app.observer(event)
        except Exception:
            log.exception("rpc_observer_failed", method=method)  # never fails the RPC


def sync_report(report: SyncReport) -> struct_pb2.Struct:
    """A sync's completeness evidence and counted events, as a Struct annotation."""
    return struct({SYNC_REPORT_KEY: {"listings": report.listings(), "events": report.events()}})


def _required_resource(message: resource_pb.Resource, field: str) -> resource_pb.Resource:
    if not message.id.resource_type or not message.id.resource:
        raise BadRequest(f"{field}.id (resource_type and resource) is required")
    _addressable(message.id.resource, f"{field}.id.resource")
    return message


# Ids no Clerk object has and no URL path segment can carry (the client refuses to send them).
_UNADDRESSABLE_IDS = frozenset({".", ".."})


def _addressable(object_id: str, field: str) -> None:
    if object_id in _UNADDRESSABLE_IDS:
        raise ResourceNotFound(f"{field} {object_id!r} names no object")


class ConnectorServicer(connector_grpc.ConnectorServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def GetMetadata(
        self,
        request: connector_pb.ConnectorServiceGetMetadataRequest,
        context: grpc.ServicerContext,
    ) -> connector_pb.ConnectorServiceGetMetadataResponse:
        return _call(
            self.app,
            "GetMetadata",
            context,
            lambda: connector_pb.ConnectorServiceGetMetadataResponse(metadata=self.app.metadata()),
        )

    def Validate(
        self, request: connector_pb.ConnectorServiceValidateRequest, context: grpc.ServicerContext
    ) -> connector_pb.ConnectorServiceValidateResponse:
        def work() -> connector_pb.ConnectorServiceValidateResponse:
            self.app.client.check_key(read_roles=self.app.needs_catalog)
            log.info("validated", instance=self.app.client.instance_kind)
            return connector_pb.ConnectorServiceValidateResponse(sdk_version=SDK_VERSION)

        return _call(self.app, "Validate", context, work)

    def Cleanup(
        self, request: connector_pb.ConnectorServiceCleanupRequest, context: grpc.ServicerContext
    ) -> connector_pb.ConnectorServiceCleanupResponse:
        def work() -> connector_pb.ConnectorServiceCleanupResponse:
            scope = self.app.cache.find(request.active_sync_id) if request.active_sync_id else None
            released = self.app.cache.release(request.active_sync_id)
            log.info("sync_cleanup", active_sync_id=request.active_sync_id, released=released)
            if scope is None:
                return connector_pb.ConnectorServiceCleanupResponse()
            # What this sync's answers rest on: the platform ignores an annotation it does not
            # know; the `sync` command prints it.
            return connector_pb.ConnectorServiceCleanupResponse(
                annotations=[pack(sync_report(scope.report))]
            )

        return _call(self.app, "Cleanup", context, work)


class ResourceTypesServicer(resource_grpc.ResourceTypesServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def ListResourceTypes(
        self,
        request: resource_pb.ResourceTypesServiceListResourceTypesRequest,
        context: grpc.ServicerContext,
    ) -> resource_pb.ResourceTypesServiceListResourceTypesResponse:
        def work() -> resource_pb.ResourceTypesServiceListResourceTypesResponse:
            if request.page_token:  # one page: no token of ours ever follows it
                raise page_tokens.InvalidPageToken("resource types fit on one page")
            return resource_pb.ResourceTypesServiceListResourceTypesResponse(
                list=list(self.app.resource_types.values())
            )

        return _call(self.app, "ListResourceTypes", context, work)


class ResourcesServicer(resource_grpc.ResourcesServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def ListResources(
        self,
        request: resource_pb.ResourcesServiceListResourcesRequest,
        context: grpc.ServicerContext,
    ) -> resource_pb.ResourcesServiceListResourcesResponse:
        def work() -> resource_pb.ResourcesServiceListResourcesResponse:
            builder = self.app.builder(request.resource_type_id)
            if request.HasField("parent_resource_id") and request.parent_resource_id.resource:
                # No served type is a child type: a parent-scoped listing is empty by design.
                if request.page_token:
                    raise page_tokens.InvalidPageToken("child listings fit on one page")
                return resource_pb.ResourcesServiceListResourcesResponse()
            ctx = self.app.context(request.active_sync_id)
            self.app.begin(ctx)
            page = builder.list_resources(
                ctx,
                page_tokens.page_size(request.page_size),
                request.page_token,
            )
            return resource_pb.ResourcesServiceListResourcesResponse(
                list=page.items, next_page_token=page.next_token
            )

        return _call(self.app, "ListResources", context, work)


class ResourceGetterServicer(resource_grpc.ResourceGetterServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def GetResource(
        self,
        request: resource_pb.ResourceGetterServiceGetResourceRequest,
        context: grpc.ServicerContext,
    ) -> resource_pb.ResourceGetterServiceGetResourceResponse:
        def work() -> resource_pb.ResourceGetterServiceGetResourceResponse:
            target = request.resource_id
            if not target.resource_type or not target.resource:
                raise BadRequest("resource_id (resource_type and resource) is required")
            builder = self.app.builder(target.resource_type)
            _addressable(target.resource, "resource_id.resource")
            found = builder.get_resource(self.app.context(request.active_sync_id), target.resource)
            return resource_pb.ResourceGetterServiceGetResourceResponse(resource=found)

        return _call(self.app, "GetResource", context, work)


class EntitlementsServicer(entitlement_grpc.EntitlementsServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def ListEntitlements(
        self,
        request: entitlement_pb.EntitlementsServiceListEntitlementsRequest,
        context: grpc.ServicerContext,
    ) -> entitlement_pb.EntitlementsServiceListEntitlementsResponse:
        def work() -> entitlement_pb.EntitlementsServiceListEntitlementsResponse:
            parent = _required_resource(request.resource, "resource")
            builder = self.app.builder(parent.id.resource_type)
            page = builder.list_entitlements(
                self.app.context(request.active_sync_id),
                parent,
                page_tokens.page_size(request.page_size),
                request.page_token,
            )
            _unresolved_in_call.set(page.unresolved_role_keys)
            return entitlement_pb.EntitlementsServiceListEntitlementsResponse(
                list=page.items, next_page_token=page.next_token
            )

        return _call(self.app, "ListEntitlements", context, work)

    def ListStaticEntitlements(
        self,
        request: entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest,
        context: grpc.ServicerContext,
    ) -> entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse:
        def work() -> entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse:
            # The syncer always calls this, and UNIMPLEMENTED would fail the sync. Every
            # entitlement here belongs to a specific resource, so the answer is empty.
            self.app.builder(request.resource_type_id)
            if request.page_token:
                raise page_tokens.InvalidPageToken("static entitlements fit on one page")
            return entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse()

        return _call(self.app, "ListStaticEntitlements", context, work)


class GrantsServicer(grant_grpc.GrantsServiceServicer):
    def __init__(self, app: Connector) -> None:
        self.app = app

    def ListGrants(
        self, request: grant_pb.GrantsServiceListGrantsRequest, context: grpc.ServicerContext
    ) -> grant_pb.GrantsServiceListGrantsResponse:
        def work() -> grant_pb.GrantsServiceListGrantsResponse:
            parent = _required_resource(request.resource, "resource")
            builder = self.app.builder(parent.id.resource_type)
            page = builder.list_grants(
                self.app.context(request.active_sync_id),
                parent,
                page_tokens.page_size(request.page_size),
                request.page_token,
            )
            return grant_pb.GrantsServiceListGrantsResponse(
                list=page.items, next_page_token=page.next_token
            )

        return _call(self.app, "ListGrants", context, work)


class GrantManagerServicer(grant_grpc.GrantManagerServiceServicer):
    """Provisioning is not offered yet; the platform gets a clear refusal, not UNIMPLEMENTED."""

    _REFUSAL = "provisioning is not enabled in this connector: it only syncs"

    def Grant(
        self, request: grant_pb.GrantManagerServiceGrantRequest, context: grpc.ServicerContext
    ) -> grant_pb.GrantManagerServiceGrantResponse:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, self._REFUSAL)

    def Revoke(
        self, request: grant_pb.GrantManagerServiceRevokeRequest, context: grpc.ServicerContext
    ) -> grant_pb.GrantManagerServiceRevokeResponse:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, self._REFUSAL)


def add_servicers(server: grpc.Server, app: Connector) -> list[str]:
    """Register every c1.connector.v2 service; returns the full service names."""
    connector_grpc.add_ConnectorServiceServicer_to_server(ConnectorServicer(app), server)
    resource_grpc.add_ResourceTypesServiceServicer_to_server(ResourceTypesServicer(app), server)
    resource_grpc.add_ResourcesServiceServicer_to_server(ResourcesServicer(app), server)
    resource_grpc.add_ResourceGetterServiceServicer_to_server(ResourceGetterServicer(app), server)
    entitlement_grpc.add_EntitlementsServiceServicer_to_server(EntitlementsServicer(app), server)
    grant_grpc.add_GrantsServiceServicer_to_server(GrantsServicer(app), server)
    grant_grpc.add_GrantManagerServiceServicer_to_server(GrantManagerServicer(), server)
    package = "c1.connector.v2."
    return [
        package + name
        for name in (
            "ConnectorService",
            "ResourceTypesService",
            "ResourcesService",
            "ResourceGetterService",
            "EntitlementsService",
            "GrantsService",
            "GrantManagerService",
        )
    ]


__all__ = ["Connector", "add_servicers"]
