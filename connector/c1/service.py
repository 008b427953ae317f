"""The c1.connector.v2 services over resource syncers, from one table.

Every RPC is one row of `C1Service.rpcs()`: its service, method, request and response types and
a handler. `handlers()` turns the table into gRPC handlers, and the service names come from the
same rows. One wrapper (`_run`) owns what every RPC shares: the per-RPC log line, the observer
(metrics), and failures turned into statuses (the c1 layer's own errors here, the upstream's
through the `failure_for` it is given); anything unknown is INTERNAL without details.

What a resource type can do is found from what its syncer implements (connector/c1/builders.py):
a type without entitlements or grants of its own is annotated so the platform skips them, and a
`Provisioner` is advertised (and called by Grant / Revoke) only when provisioning is switched on.
Every Grant and Revoke, whatever its outcome, is one audit event (log line and observer). A
syncer with a wire fast path (items already serialized) has its List answers written as bytes
(`EncodedList`), which the response serializer passes through untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import grpc
import structlog
from google.protobuf import struct_pb2
from google.protobuf.message import Message

from connector.c1 import page_tokens, wire
from connector.c1.builders import (
    EntitlementLister,
    GrantLister,
    Page,
    PageRequest,
    Prefetcher,
    Provisioner,
    ProvisioningRefused,
    ResourceNotFound,
    ResourceSyncer,
    WireEntitlementLister,
    WireGrantLister,
    WireResourceLister,
)
from connector.c1.errors import (
    BadRequest,
    Failure,
    FailureMapper,
    ProvisioningOff,
    UnknownResourceType,
    c1_failure,
    no_upstream_failures,
)
from connector.c1.protocol import (
    SDK_VERSION,
    SYNC_REPORT_KEY,
    connector_pb,
    entitlement_pb,
    grant_annotations,
    grant_pb,
    pack,
    resource_pb,
    resource_tree,
    struct,
)
from connector.c1.sync_cache import SyncCache, SyncReport, SyncScope

log = structlog.get_logger(__name__)
Ctx = TypeVar("Ctx")

PACKAGE = "c1.connector.v2"
# Ids no upstream object has and no URL path segment can carry.
_UNADDRESSABLE_IDS = frozenset({".", ".."})


@dataclass(frozen=True)
class ConnectorInfo:
    """What GetMetadata says about the connector."""

    display_name: str
    description: str
    help_url: str


@dataclass(frozen=True)
class RpcEvent:
    """One finished RPC as observers (metrics) see it. Labels come from our own answer (served
    type ids), never from request fields, so their cardinality stays bounded."""

    method: str
    code: grpc.StatusCode
    seconds: float
    items: int | None = None  # len(response.list) for List RPCs
    emitted: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (kind, type) -> n


RpcObserver = Callable[[RpcEvent], None]


def ignore_rpc(_event: RpcEvent) -> None:
    """The observer of a service nobody watches."""


@dataclass(frozen=True)
class Provisioning:
    """Whether Grant and Revoke may change the upstream, and what to say while they may not
    (the message names the setting that switches them on)."""

    enabled: bool = False
    off_message: str = "provisioning is not enabled in this connector: it only syncs"


@dataclass(frozen=True)
class AuditEvent:
    """One Grant or Revoke as the audit log and metrics see it. `outcome` is one of granted,
    already_granted, replaced, revoked, already_revoked, or the failure's status name."""

    action: str  # "grant" or "revoke"
    resource_type: str
    entitlement_id: str
    principal: str  # "{type}:{id}"
    outcome: str
    change: str = ""  # the upstream write made, "" when none
    detail: str = ""  # the failure's message (upstream trace ids included), "" on success


AuditObserver = Callable[[AuditEvent], None]


def ignore_audit(_event: AuditEvent) -> None:
    """The audit observer of a service nobody watches (the log line is still written)."""


@dataclass(frozen=True)
class EncodedList:
    """A List answer already serialized from its items' bytes (a syncer's wire fast path),
    with what its RPC event counts: the items, all of one kind and resource type."""

    data: bytes
    items: int
    kind: str  # "resource", "entitlement" or "grant"
    resource_type: str

    @classmethod
    def of(cls, page: Page[bytes], kind: str, resource_type: str) -> EncodedList:
        data = wire.list_response(page.items, page.next_token)
        return cls(data, len(page.items), kind, resource_type)


Answer = Message | EncodedList


def serialize(response: Answer) -> bytes:
    """The response serializer of every RPC: an EncodedList is already bytes."""
    if isinstance(response, EncodedList):
        return response.data
    return response.SerializeToString()


@dataclass(frozen=True)
class Rpc:
    """One row of the table: `handle` gets the decoded request and returns the response."""

    service: str
    method: str
    request: type[Message]
    response: type[Message]
    handle: Callable[[Any], Answer]


Parent = resource_pb.Resource


@dataclass(frozen=True)
class _Listers:
    """What one syncer lists beside its resources, found once: `isinstance` against a runtime
    protocol walks the protocol's members, which costs more than a small RPC's dispatch."""

    resources_wire: Callable[[Any, PageRequest], Page[bytes]] | None
    entitlements: Callable[[Any, Parent, PageRequest], Page[entitlement_pb.Entitlement]] | None
    entitlements_wire: Callable[[Any, Parent, PageRequest], Page[bytes]] | None
    grants: Callable[[Any, Parent, PageRequest], Page[grant_pb.Grant]] | None
    grants_wire: Callable[[Any, Parent, PageRequest], Page[bytes]] | None

    @classmethod
    def of(cls, syncer: ResourceSyncer[Any]) -> _Listers:
        return cls(
            resources_wire=(
                syncer.list_resources_wire if isinstance(syncer, WireResourceLister) else None
            ),
            entitlements=(
                syncer.list_entitlements if isinstance(syncer, EntitlementLister) else None
            ),
            entitlements_wire=(
                syncer.list_entitlements_wire
                if isinstance(syncer, EntitlementLister)
                and isinstance(syncer, WireEntitlementLister)
                else None
            ),
            grants=syncer.list_grants if isinstance(syncer, GrantLister) else None,
            grants_wire=(
                syncer.list_grants_wire
                if isinstance(syncer, GrantLister) and isinstance(syncer, WireGrantLister)
                else None
            ),
        )


class C1Service(Generic[Ctx]):
    """The served resource types, their syncers, and the per-sync caches, over one table."""

    def __init__(
        self,
        syncers: Iterable[ResourceSyncer[Ctx]],
        *,
        cache: SyncCache,
        context: Callable[[SyncScope], Ctx],
        validate: Callable[[], None],
        info: ConnectorInfo,
        failure_for: FailureMapper = no_upstream_failures,
        provisioning: Provisioning = Provisioning(),
    ) -> None:
        self.syncers = {syncer.type_id: syncer for syncer in syncers}
        self.provisioning = provisioning
        self.cache = cache
        self.info = info
        self._context = context
        self._validate = validate
        self._failure_for = failure_for
        # Told about every finished RPC; the server sets it to its metrics.
        self.observer: RpcObserver = ignore_rpc
        # Told about every Grant and Revoke (the server sets it to its metrics).
        self.auditor: AuditObserver = ignore_audit
        self._listers = {type_id: _Listers.of(syncer) for type_id, syncer in self.syncers.items()}
        self.resource_types = {
            type_id: _declared_type(syncer) for type_id, syncer in sorted(self.syncers.items())
        }

    # -- the table ------------------------------------------------------------------------------

    def rpcs(self) -> list[Rpc]:
        c, r, e, g = connector_pb, resource_pb, entitlement_pb, grant_pb
        return [
            Rpc("ConnectorService", "GetMetadata", c.ConnectorServiceGetMetadataRequest,
                c.ConnectorServiceGetMetadataResponse, self._get_metadata),
            Rpc("ConnectorService", "Validate", c.ConnectorServiceValidateRequest,
                c.ConnectorServiceValidateResponse, self._validate_rpc),
            Rpc("ConnectorService", "Cleanup", c.ConnectorServiceCleanupRequest,
                c.ConnectorServiceCleanupResponse, self._cleanup),
            Rpc("ResourceTypesService", "ListResourceTypes",
                r.ResourceTypesServiceListResourceTypesRequest,
                r.ResourceTypesServiceListResourceTypesResponse, self._list_resource_types),
            Rpc("ResourcesService", "ListResources", r.ResourcesServiceListResourcesRequest,
                r.ResourcesServiceListResourcesResponse, self._list_resources),
            Rpc("ResourceGetterService", "GetResource", r.ResourceGetterServiceGetResourceRequest,
                r.ResourceGetterServiceGetResourceResponse, self._get_resource),
            Rpc("EntitlementsService", "ListEntitlements",
                e.EntitlementsServiceListEntitlementsRequest,
                e.EntitlementsServiceListEntitlementsResponse, self._list_entitlements),
            Rpc("EntitlementsService", "ListStaticEntitlements",
                e.EntitlementsServiceListStaticEntitlementsRequest,
                e.EntitlementsServiceListStaticEntitlementsResponse,
                self._list_static_entitlements),
            Rpc("GrantsService", "ListGrants", g.GrantsServiceListGrantsRequest,
                g.GrantsServiceListGrantsResponse, self._list_grants),
            Rpc("GrantManagerService", "Grant", g.GrantManagerServiceGrantRequest,
                g.GrantManagerServiceGrantResponse, self.grant),
            Rpc("GrantManagerService", "Revoke", g.GrantManagerServiceRevokeRequest,
                g.GrantManagerServiceRevokeResponse, self.revoke),
        ]  # fmt: skip

    def service_names(self) -> list[str]:
        return sorted({f"{PACKAGE}.{rpc.service}" for rpc in self.rpcs()})

    def handlers(self) -> list[grpc.GenericRpcHandler[Any, Any]]:
        by_service: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
        for rpc in self.rpcs():
            by_service.setdefault(rpc.service, {})[rpc.method] = (
                grpc.unary_unary_rpc_method_handler(
                    self._bound(rpc),
                    request_deserializer=rpc.request.FromString,
                    response_serializer=serialize,
                )
            )
        return [
            grpc.method_handlers_generic_handler(f"{PACKAGE}.{service}", methods)
            for service, methods in sorted(by_service.items())
        ]

    def _bound(self, rpc: Rpc) -> Callable[[Any, grpc.ServicerContext], Answer]:
        def handler(request: Any, context: grpc.ServicerContext) -> Answer:
            return self._run(rpc.method, context, lambda: rpc.handle(request))

        return handler

    def _run(
        self, method: str, context: grpc.ServicerContext, work: Callable[[], Answer]
    ) -> Answer:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        response: Answer | None = None
        try:
            response = work()
            return response
        except Exception as exc:
            known = self._failure_for(exc) or c1_failure(exc)
            if known is None:
                log.exception("rpc_internal_error", method=method)
                code = grpc.StatusCode.INTERNAL
                context.abort(code, f"internal error in {method}; see the connector log")
            code = known.code
            context.abort_with_status(known.to_status())
            raise  # unreachable: abort raises
        finally:
            seconds = time.perf_counter() - started
            event = rpc_event(method, code, seconds, response)
            extra = {} if event.items is None else {"items": event.items}
            log.info(
                "rpc",
                method=method,
                status=code.name,
                duration_ms=round(seconds * 1000, 2),
                **extra,
            )
            try:
                self.observer(event)
            except Exception:
                log.exception("rpc_observer_failed", method=method)  # never fails the RPC

    # -- the handlers ---------------------------------------------------------------------------

    def syncer(self, type_id: str) -> ResourceSyncer[Ctx]:
        try:
            return self.syncers[type_id]
        except KeyError:
            raise UnknownResourceType(f"resource type {type_id!r} is not served") from None

    def context(self, sync_id: str) -> Ctx:
        return self._context(self.cache.scope(sync_id))

    def provisions(self, type_id: str) -> bool:
        """Grant / Revoke change this type's entitlements (switched on, and implemented)."""
        return self.provisioning.enabled and isinstance(self.syncers.get(type_id), Provisioner)

    def metadata(self) -> connector_pb.ConnectorMetadata:
        per_type = {
            type_id: [connector_pb.CAPABILITY_SYNC]
            + ([connector_pb.CAPABILITY_PROVISION] if self.provisions(type_id) else [])
            for type_id in self.resource_types
        }
        capabilities = connector_pb.ConnectorCapabilities(
            resource_type_capabilities=[
                # opt_in_required: the platform's administrator chooses which of the types to
                # sync, as the operator already chose which to serve.
                connector_pb.ResourceTypeCapability(
                    resource_type=rt,
                    capabilities=sorted(per_type[type_id]),
                    opt_in_required=True,
                )
                for type_id, rt in self.resource_types.items()
            ],
            connector_capabilities=sorted({c for caps in per_type.values() for c in caps}),
        )
        return connector_pb.ConnectorMetadata(
            display_name=self.info.display_name,
            description=self.info.description,
            help_url=self.info.help_url,
            capabilities=capabilities,
        )

    def _get_metadata(self, _request: Any) -> Message:
        return connector_pb.ConnectorServiceGetMetadataResponse(metadata=self.metadata())

    def _validate_rpc(self, _request: Any) -> Message:
        self._validate()
        return connector_pb.ConnectorServiceValidateResponse(sdk_version=SDK_VERSION)

    def _cleanup(self, request: connector_pb.ConnectorServiceCleanupRequest) -> Message:
        scope = self.cache.find(request.active_sync_id) if request.active_sync_id else None
        released = self.cache.release(request.active_sync_id)
        log.info("sync_cleanup", active_sync_id=request.active_sync_id, released=released)
        if scope is None:
            return connector_pb.ConnectorServiceCleanupResponse()
        # What this sync's answers rest on: the platform ignores an annotation it does not know.
        return connector_pb.ConnectorServiceCleanupResponse(
            annotations=[pack(sync_report(scope.report))]
        )

    def _list_resource_types(
        self, request: resource_pb.ResourceTypesServiceListResourceTypesRequest
    ) -> Message:
        if request.page_token:  # one page: no token of ours ever follows it
            raise page_tokens.InvalidPageToken("resource types fit on one page")
        return resource_pb.ResourceTypesServiceListResourceTypesResponse(
            list=list(self.resource_types.values())
        )

    def _list_resources(self, request: resource_pb.ResourcesServiceListResourcesRequest) -> Answer:
        syncer = self.syncer(request.resource_type_id)
        if request.HasField("parent_resource_id") and request.parent_resource_id.resource:
            # No served type is a child type: a parent-scoped listing is empty by design.
            if request.page_token:
                raise page_tokens.InvalidPageToken("child listings fit on one page")
            return resource_pb.ResourcesServiceListResourcesResponse()
        scope = self.cache.scope(request.active_sync_id)
        ctx = self._context(scope)
        if scope.persistent:  # a sync is listing resources: start its background reads
            for other in self.syncers.values():
                if isinstance(other, Prefetcher):
                    other.prefetch(ctx)
        page = _request(request, f"resources:{syncer.type_id}")
        wire_lister = self._listers[syncer.type_id].resources_wire
        if wire_lister is not None:
            return EncodedList.of(wire_lister(ctx, page), "resource", syncer.type_id)
        answer = syncer.list_resources(ctx, page)
        return resource_pb.ResourcesServiceListResourcesResponse(
            list=answer.items, next_page_token=answer.next_token
        )

    def _get_resource(
        self, request: resource_pb.ResourceGetterServiceGetResourceRequest
    ) -> Message:
        target = request.resource_id
        if not target.resource_type or not target.resource:
            raise BadRequest("resource_id (resource_type and resource) is required")
        syncer = self.syncer(target.resource_type)
        _addressable(target.resource, "resource_id.resource")
        found = syncer.get_resource(self.context(request.active_sync_id), target.resource)
        return resource_pb.ResourceGetterServiceGetResourceResponse(resource=found)

    def _list_entitlements(
        self, request: entitlement_pb.EntitlementsServiceListEntitlementsRequest
    ) -> Answer:
        parent = _required_resource(request.resource, "resource")
        listers = self._listers[self.syncer(parent.id.resource_type).type_id]
        response = entitlement_pb.EntitlementsServiceListEntitlementsResponse
        if listers.entitlements is None:
            _no_token(request.page_token, "this type has no entitlements")
            return response()
        page = _request(request, f"entitlements:{parent.id.resource_type}:{parent.id.resource}")
        ctx = self.context(request.active_sync_id)
        if listers.entitlements_wire is not None:
            encoded = listers.entitlements_wire(ctx, parent, page)
            return EncodedList.of(encoded, "entitlement", parent.id.resource_type)
        answer = listers.entitlements(ctx, parent, page)
        return response(list=answer.items, next_page_token=answer.next_token)

    def _list_static_entitlements(
        self, request: entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest
    ) -> Message:
        # The syncer always calls this, and UNIMPLEMENTED would fail the sync. Every
        # entitlement here belongs to a specific resource, so the answer is empty.
        self.syncer(request.resource_type_id)
        _no_token(request.page_token, "static entitlements fit on one page")
        return entitlement_pb.EntitlementsServiceListStaticEntitlementsResponse()

    def _list_grants(self, request: grant_pb.GrantsServiceListGrantsRequest) -> Answer:
        parent = _required_resource(request.resource, "resource")
        listers = self._listers[self.syncer(parent.id.resource_type).type_id]
        if listers.grants is None:
            _no_token(request.page_token, "this type has no grants")
            return grant_pb.GrantsServiceListGrantsResponse()
        page = _request(request, f"grants:{parent.id.resource_type}:{parent.id.resource}")
        ctx = self.context(request.active_sync_id)
        if listers.grants_wire is not None:
            # A grant's entitlement is of its parent resource: the parent's type labels them.
            encoded = listers.grants_wire(ctx, parent, page)
            return EncodedList.of(encoded, "grant", parent.id.resource_type)
        answer = listers.grants(ctx, parent, page)
        return grant_pb.GrantsServiceListGrantsResponse(
            list=answer.items, next_page_token=answer.next_token
        )

    # -- provisioning -----------------------------------------------------------------------------

    def grant(self, request: grant_pb.GrantManagerServiceGrantRequest) -> Message:
        entitlement, principal = request.entitlement, request.principal

        def work(provisioner: Provisioner[Ctx]) -> tuple[Message, str, str]:
            done = provisioner.grant(self.context(""), entitlement, principal)
            annotations = (
                [pack(grant_annotations.GrantAlreadyExists())] if done.already_held else []
            )
            annotations += [
                pack(grant_annotations.GrantReplaced(replaced_grant_id=replaced))
                for replaced in done.replaced_grant_ids
            ]
            outcome = (
                "already_granted"
                if done.already_held
                else "replaced"
                if done.replaced_grant_ids
                else "granted"
            )
            answer = grant_pb.GrantManagerServiceGrantResponse(
                annotations=annotations, grants=done.grants
            )
            return answer, outcome, done.change

        return self._provision("grant", entitlement, principal, "", work)

    def revoke(self, request: grant_pb.GrantManagerServiceRevokeRequest) -> Message:
        grant = request.grant

        def work(provisioner: Provisioner[Ctx]) -> tuple[Message, str, str]:
            done = provisioner.revoke(self.context(""), grant)
            if done.already_revoked:
                annotations = [pack(grant_annotations.GrantAlreadyRevoked())]
                answer = grant_pb.GrantManagerServiceRevokeResponse(annotations=annotations)
                return answer, "already_revoked", done.change
            return grant_pb.GrantManagerServiceRevokeResponse(), "revoked", done.change

        return self._provision("revoke", grant.entitlement, grant.principal, "grant.", work)

    def _provision(
        self,
        action: str,
        entitlement: entitlement_pb.Entitlement,
        principal: resource_pb.Resource,
        field_prefix: str,
        work: Callable[[Provisioner[Ctx]], tuple[Message, str, str]],
    ) -> Message:
        """Check a Grant or Revoke, run it, and audit it whatever its outcome (a failure with
        its status, then raised). `work` answers (response, outcome, the upstream change)."""
        type_id = entitlement.resource.id.resource_type
        event = AuditEvent(
            action,
            type_id,
            entitlement.id,
            f"{principal.id.resource_type}:{principal.id.resource}",
            outcome="",
        )
        try:
            if not self.provisioning.enabled:
                raise ProvisioningOff(self.provisioning.off_message)
            _required_resource(entitlement.resource, f"{field_prefix}entitlement.resource")
            _required_resource(principal, f"{field_prefix}principal")
            if not entitlement.id:
                raise BadRequest(f"{field_prefix}entitlement.id is required")
            answer, outcome, change = work(self._provisioner(type_id))
        except Exception as exc:
            known = self._failure_for(exc) or c1_failure(exc)
            code = known.code.name if known is not None else grpc.StatusCode.INTERNAL.name
            self._record(replace(event, outcome=code, detail=known.message if known else ""))
            raise
        self._record(replace(event, outcome=outcome, change=change))
        return answer

    def _provisioner(self, type_id: str) -> Provisioner[Ctx]:
        syncer = self.syncers.get(type_id)
        if syncer is None:
            raise BadRequest(f"entitlement of resource type {type_id!r}: no such type is served")
        if not isinstance(syncer, EntitlementLister):
            raise BadRequest(f"resource type {type_id!r} has no entitlements to grant or revoke")
        if not isinstance(syncer, Provisioner):
            why = getattr(syncer, "not_provisioned_because", "its entitlements are read-only")
            raise ProvisioningRefused(f"resource type {type_id!r} is not provisioned: {why}")
        return syncer

    def _record(self, event: AuditEvent) -> None:
        log.info(
            "provisioning_audit",
            action=event.action,
            entitlement_id=event.entitlement_id,
            principal=event.principal,
            outcome=event.outcome,
            change=event.change or None,
            detail=event.detail or None,
        )
        try:
            self.auditor(event)
        except Exception:
            log.exception("audit_observer_failed", action=event.action)


def sync_report(report: SyncReport) -> struct_pb2.Struct:
    """A sync's completeness evidence and counted events, as a Struct annotation."""
    return struct({SYNC_REPORT_KEY: {"listings": report.listings(), "events": report.events()}})


def rpc_event(
    method: str, code: grpc.StatusCode, seconds: float, response: object | None
) -> RpcEvent:
    """The event of one RPC, counting what its List answer (if any) emits.

    Every item of one List answer has the same kind and resource type (one type's resources,
    or one resource's entitlements or grants), so the first item labels them all: counting
    costs nothing per item.
    """
    if isinstance(response, EncodedList):
        counted = (
            {(response.kind, response.resource_type): response.items} if response.items else {}
        )
        return RpcEvent(method, code, seconds, response.items, counted)
    listed = getattr(response, "list", None)
    if listed is None:
        return RpcEvent(method, code, seconds)
    emitted: dict[tuple[str, str], int] = {}
    if len(listed):
        first = listed[0]
        if isinstance(first, resource_pb.Resource):
            emitted["resource", first.id.resource_type] = len(listed)
        elif isinstance(first, entitlement_pb.Entitlement):
            emitted["entitlement", first.resource.id.resource_type] = len(listed)
        elif isinstance(first, grant_pb.Grant):
            emitted["grant", first.entitlement.resource.id.resource_type] = len(listed)
    return RpcEvent(method, code, seconds, len(listed), emitted)


def _declared_type(syncer: ResourceSyncer[Any]) -> resource_pb.ResourceType:
    """The syncer's resource type, told to skip what the syncer does not implement."""
    declared = syncer.resource_type()
    entitlements = isinstance(syncer, EntitlementLister)
    grants = isinstance(syncer, GrantLister)
    if not entitlements and not grants:
        declared.annotations.append(pack(resource_tree.SkipEntitlementsAndGrants()))
    elif not entitlements:
        declared.annotations.append(pack(resource_tree.SkipEntitlements()))
    elif not grants:
        declared.annotations.append(pack(resource_tree.SkipGrants()))
    return declared


def _request(request: Any, kind: str) -> PageRequest:
    return PageRequest(
        size=page_tokens.page_size(request.page_size), token=request.page_token, kind=kind
    )


def _no_token(token: str, why: str) -> None:
    if token:  # the answer is one empty page: no token of ours ever follows it
        raise page_tokens.InvalidPageToken(why)


def _required_resource(message: resource_pb.Resource, field: str) -> resource_pb.Resource:
    if not message.id.resource_type or not message.id.resource:
        raise BadRequest(f"{field}.id (resource_type and resource) is required")
    _addressable(message.id.resource, f"{field}.id.resource")
    return message


def _addressable(object_id: str, field: str) -> None:
    if object_id in _UNADDRESSABLE_IDS:
        raise ResourceNotFound(f"{field} {object_id!r} names no object")


__all__ = [
    "AuditEvent",
    "C1Service",
    "ConnectorInfo",
    "EncodedList",
    "Failure",
    "Provisioning",
    "Rpc",
    "RpcEvent",
    "RpcObserver",
    "serialize",
]
