"""A platform-style sync: drive a connector over gRPC the way the governance platform does.

Order (see shared docs): Validate, ListResourceTypes, ListResources for every type (and for
child types per parent resource), ListStaticEntitlements per type, ListEntitlements and
ListGrants per resource unless Skip* annotations say otherwise, then Cleanup. Every List call
carries the same active_sync_id. A page token that repeats within one listing is a connector
bug that would make the platform loop forever, so it fails the sync loudly.

The platform lists one resource's entitlements (or grants) at a time. This driver keeps up to
`pipeline` resources under way at once (default 4; 1 is the platform's own serial order), so
its own work and each call's round trip overlap the connector's; every resource's pages still
come in order, all entitlements still come before any grant, and what it collects is kept in
resource order: the same result as the serial run, only sooner.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import structlog
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from grpc_status import rpc_status

from connector.c1.protocol import (
    SYNC_REPORT_KEY,
    connector_grpc,
    connector_pb,
    entitlement_grpc,
    entitlement_pb,
    grant_annotations,
    grant_grpc,
    grant_pb,
    ratelimit,
    resource_grpc,
    resource_pb,
    resource_tree,
    unpack_all,
)

log = structlog.get_logger(__name__)

# The platform retries UNAVAILABLE forever; a command-line sync gives up after this many tries.
MAX_UNAVAILABLE_RETRIES = 8
# Resources whose entitlements or grants are listed at once (1: strictly one after another).
DEFAULT_PIPELINE = 4


class SyncFailed(RuntimeError):
    """The sync could not complete; the message says which call failed and why."""


Resp = TypeVar("Resp", bound=Message)
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class SyncResult:
    sync_id: str
    sdk_version: str = ""
    resource_types: list[resource_pb.ResourceType] = field(default_factory=list)
    resources: list[resource_pb.Resource] = field(default_factory=list)
    entitlements: list[entitlement_pb.Entitlement] = field(default_factory=list)
    grants: list[grant_pb.Grant] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    # Seconds each attempt of each RPC kind took (Validate, ListGrants, ...): the driver's view.
    rpc_seconds: dict[str, list[float]] = field(default_factory=dict)
    # The connector's own report from Cleanup: completeness evidence per listing, and events.
    report: dict[str, Any] = field(default_factory=dict)

    def listings(self) -> list[dict[str, Any]]:
        """Completeness evidence of every Clerk listing the sync rests on."""
        listings: list[dict[str, Any]] = self.report.get("listings", [])
        return listings

    def events(self) -> dict[str, int]:
        """What the connector dropped or flagged, by event (e.g. grants to unlisted users)."""
        return {name: int(count) for name, count in self.report.get("events", {}).items()}

    def invariant_violations(self) -> list[str]:
        """The platform's strict ingest checks: no duplicate ids, every entitlement on a listed
        resource, every grant on a listed entitlement and to a listed principal."""
        problems: list[str] = []
        resources = _unique_ids(
            [f"{r.id.resource_type}:{r.id.resource}" for r in self.resources], "resource", problems
        )
        entitlements = _unique_ids([e.id for e in self.entitlements], "entitlement", problems)
        _unique_ids([g.id for g in self.grants], "grant", problems)
        for ent in self.entitlements:
            owner = f"{ent.resource.id.resource_type}:{ent.resource.id.resource}"
            if owner not in resources:
                problems.append(f"entitlement {ent.id} belongs to unlisted resource {owner}")
        for item in self.grants:
            if item.entitlement.id not in entitlements:
                problems.append(f"grant {item.id} names unlisted entitlement {item.entitlement.id}")
            who = f"{item.principal.id.resource_type}:{item.principal.id.resource}"
            if who not in resources:
                problems.append(f"grant {item.id} names unlisted principal {who} (dangling)")
        return problems

    def counts(self) -> dict[str, dict[str, int]]:
        """Objects received per resource type: resources, entitlements and grants."""
        out: dict[str, dict[str, int]] = {rt.id: _zero_counts() for rt in self.resource_types}

        def bump(type_id: str, kind: str) -> None:
            out.setdefault(type_id, _zero_counts())[kind] += 1

        for res in self.resources:
            bump(res.id.resource_type, "resources")
        for ent in self.entitlements:
            bump(ent.resource.id.resource_type, "entitlements")
        for item in self.grants:
            bump(item.entitlement.resource.id.resource_type, "grants")
        return out

    def unresolved_memberships(self) -> dict[tuple[str, str], str]:
        """(organization id, user id) -> role key, for memberships whose key matched no role.

        Read from the GrantMetadata the connector puts on member grants (no `role_id` there).
        """
        found: dict[tuple[str, str], str] = {}
        for item in self.grants:
            for meta in unpack_all(item.annotations, grant_annotations.GrantMetadata):
                fields = meta.metadata.fields
                if "role_key" in fields and "role_id" not in fields:
                    edge = (item.entitlement.resource.id.resource, item.principal.id.resource)
                    found[edge] = fields["role_key"].string_value
        return found

    def unresolved_role_keys(self) -> Counter[str]:
        """How many memberships hold each role key that matched no role."""
        return Counter(self.unresolved_memberships().values())

    def unresolved_permissions(self) -> dict[str, list[str]]:
        """Unresolved role key -> the permissions its memberships carry (real rights that no
        role entitlement explains), from the member grants' GrantMetadata."""
        found: dict[str, set[str]] = {}
        for item in self.grants:
            for meta in unpack_all(item.annotations, grant_annotations.GrantMetadata):
                fields = meta.metadata.fields
                if "role_id" in fields or "permissions" not in fields:
                    continue
                keys = [value.string_value for value in fields["permissions"].list_value.values]
                found.setdefault(fields["role_key"].string_value, set()).update(keys)
        return {key: sorted(values) for key, values in sorted(found.items())}

    def to_json(self) -> dict[str, Any]:
        def dump(messages: list[Any]) -> list[dict[str, Any]]:
            return [MessageToDict(message) for message in messages]

        return {
            "active_sync_id": self.sync_id,
            "sdk_version": self.sdk_version,
            "counts": self.counts(),
            "unresolved_role_keys": dict(self.unresolved_role_keys()),
            "unresolved_role_key_permissions": self.unresolved_permissions(),
            "completeness": self.listings(),
            "events": self.events(),
            "skipped": self.skipped,
            "resource_types": dump(self.resource_types),
            "resources": dump(self.resources),
            "entitlements": dump(self.entitlements),
            "grants": dump(self.grants),
        }


def _unique_ids(ids: list[str], kind: str, problems: list[str]) -> set[str]:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            problems.append(f"{kind} {item_id} listed twice")
        seen.add(item_id)
    return seen


def _zero_counts() -> dict[str, int]:
    return {"resources": 0, "entitlements": 0, "grants": 0}


class _Stubs:
    def __init__(self, channel: grpc.Channel) -> None:
        self.connector = connector_grpc.ConnectorServiceStub(channel)
        self.types = resource_grpc.ResourceTypesServiceStub(channel)
        self.resources = resource_grpc.ResourcesServiceStub(channel)
        self.entitlements = entitlement_grpc.EntitlementsServiceStub(channel)
        self.grants = grant_grpc.GrantsServiceStub(channel)


def run_sync(
    channel: grpc.Channel,
    *,
    sync_id: str | None = None,
    page_size: int = 0,
    sleep: Callable[[float], None] = time.sleep,
    pipeline: int = DEFAULT_PIPELINE,
) -> SyncResult:
    if pipeline < 1:
        raise ValueError("pipeline must be at least 1")
    stubs = _Stubs(channel)
    # None: a fresh id, as the platform does; "": no id, as a platform too old to send one.
    result = SyncResult(sync_id=f"sync-{uuid.uuid4()}" if sync_id is None else sync_id)
    caller = _Caller(result, sleep)
    sid = result.sync_id

    validated = caller.call(
        "Validate", stubs.connector.Validate, connector_pb.ConnectorServiceValidateRequest()
    )
    result.sdk_version = validated.sdk_version

    def listing(
        name: str, method: Callable[[Any], Any], request: type, **fields: Any
    ) -> Iterator[Any]:
        """Every item of one paged List call; each request carries the sync's paging fields."""

        def fetch(token: str) -> Any:
            return method(
                request(page_size=page_size, page_token=token, active_sync_id=sid, **fields)
            )

        for page in caller.pages(name, fetch):
            yield from page.list

    try:
        result.resource_types.extend(
            listing(
                "ListResourceTypes",
                stubs.types.ListResourceTypes,
                resource_pb.ResourceTypesServiceListResourceTypesRequest,
            )
        )
        types = {rt.id: rt for rt in result.resource_types}

        def list_resources(type_id: str, parent: resource_pb.ResourceId | None) -> None:
            for res in listing(
                f"ListResources({type_id})",
                stubs.resources.ListResources,
                resource_pb.ResourcesServiceListResourcesRequest,
                resource_type_id=type_id,
                parent_resource_id=parent,
            ):
                result.resources.append(res)
                for child in unpack_all(res.annotations, resource_tree.ChildResourceType):
                    list_resources(child.resource_type_id, res.id)

        for type_id in types:
            list_resources(type_id, None)

        for type_id in types:
            result.entitlements.extend(
                listing(
                    f"ListStaticEntitlements({type_id})",
                    stubs.entitlements.ListStaticEntitlements,
                    entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest,
                    resource_type_id=type_id,
                )
            )

        # Entitlements for every resource, then grants for every resource, as the platform does.
        per_resource: list[tuple[type[Message], str, Callable[[Any], Any], type, list[Any]]] = [
            (
                resource_tree.SkipEntitlements,
                "ListEntitlements",
                stubs.entitlements.ListEntitlements,
                entitlement_pb.EntitlementsServiceListEntitlementsRequest,
                result.entitlements,
            ),
            (
                resource_tree.SkipGrants,
                "ListGrants",
                stubs.grants.ListGrants,
                grant_pb.GrantsServiceListGrantsRequest,
                result.grants,
            ),
        ]
        for skip, name, method, request, received in per_resource:
            targets = [
                res
                for res in result.resources
                if not _skips(types.get(res.id.resource_type), res, skip)
            ]

            def one(
                res: resource_pb.Resource,
                name: str = name,
                method: Callable[[Any], Any] = method,
                request: type = request,
            ) -> list[Any]:
                label = f"{name}({res.id.resource_type}:{res.id.resource})"
                return list(listing(label, method, request, resource=res))

            for items in _in_order(one, targets, pipeline):
                received.extend(items)
    finally:
        try:
            cleaned = caller.call(
                "Cleanup",
                stubs.connector.Cleanup,
                connector_pb.ConnectorServiceCleanupRequest(active_sync_id=sid),
            )
            for note in unpack_all(cleaned.annotations, struct_pb2.Struct):
                if SYNC_REPORT_KEY in note.fields:
                    result.report = MessageToDict(note.fields[SYNC_REPORT_KEY].struct_value)
        except SyncFailed as exc:  # the platform only logs Cleanup errors
            log.warning("cleanup_failed", error=str(exc))
    return result


def _in_order(work: Callable[[T], R], items: Iterable[T], depth: int) -> Iterator[R]:
    """`work(item)` for each item, up to `depth` at once, the results in the items' order.

    With depth 1, plainly one after another on this thread (the serial twin). A failure is
    raised when its turn comes; work not yet started is then cancelled.
    """
    if depth <= 1:
        for item in items:
            yield work(item)
        return
    pool = ThreadPoolExecutor(depth, thread_name_prefix="sync-pipeline")
    running: deque[Future[R]] = deque()
    try:
        for item in items:
            running.append(pool.submit(work, item))
            if len(running) >= depth:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()
    finally:
        for future in running:
            future.cancel()
        pool.shutdown(wait=True)


def _skips(
    rtype: resource_pb.ResourceType | None, res: resource_pb.Resource, specific: type[Message]
) -> bool:
    annotations = [*(rtype.annotations if rtype is not None else []), *res.annotations]
    return bool(
        unpack_all(annotations, resource_tree.SkipEntitlementsAndGrants)
        or unpack_all(annotations, specific)
    )


class _Caller:
    """Calls with the platform's error handling: NOT_FOUND skips, UNAVAILABLE retries."""

    def __init__(self, result: SyncResult, sleep: Callable[[float], None]) -> None:
        self.result = result
        self.sleep = sleep
        self._lock = threading.Lock()  # the pipeline's threads record into one result

    def call(self, name: str, method: Callable[[Any], Resp], request: Any) -> Resp:
        return self._retrying(name, lambda: method(request))

    def pages(self, name: str, fetch: Callable[[str], Any]) -> Iterator[Any]:
        token = ""
        seen: set[str] = set()
        while True:
            try:
                page = self._retrying(name, lambda t=token: fetch(t))  # type: ignore[misc]
            except _Skip:
                return
            yield page
            token = page.next_page_token
            if not token:
                return
            if token in seen:
                raise SyncFailed(f"{name}: the connector returned a page token it already sent")
            seen.add(token)

    def _retrying(self, name: str, attempt: Callable[[], Resp]) -> Resp:
        kind = name.split("(")[0]
        for tries in range(1, MAX_UNAVAILABLE_RETRIES + 1):
            started = time.perf_counter()
            try:
                response = attempt()
                self._record(kind, time.perf_counter() - started)
                return response
            except grpc.RpcError as exc:
                self._record(kind, time.perf_counter() - started)
                code = exc.code()
                message = exc.details()
                if code is grpc.StatusCode.NOT_FOUND and name != "Validate":
                    log.warning("step_skipped", call=name, reason=message)
                    with self._lock:
                        self.result.skipped.append(f"{name}: {message}")
                    raise _Skip from None
                retryable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                if not retryable or tries == MAX_UNAVAILABLE_RETRIES:
                    raise SyncFailed(f"{name} failed: {code.name}: {message}") from None
                wait = _rate_limit_wait(exc) or min(0.2 * 2**tries, 5.0)
                log.info("retrying", call=name, code=code.name, wait_s=round(wait, 2))
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _record(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.result.calls[kind] += 1
            self.result.rpc_seconds.setdefault(kind, []).append(seconds)


class _Skip(Exception):
    pass


def _rate_limit_wait(exc: grpc.RpcError) -> float | None:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(ratelimit.RateLimitDescription.DESCRIPTOR):
            description = ratelimit.RateLimitDescription()
            detail.Unpack(description)
            if description.HasField("reset_at"):
                return max(
                    0.0, min(description.reset_at.ToMilliseconds() / 1000 - time.time(), 60.0)
                )
    return None


__all__ = ["SyncFailed", "SyncResult", "run_sync"]
