"""What a resource type's code implements for the c1 layer: the builder contracts.

A builder answers for one resource type. It must be a `ResourceSyncer`; what else it can do is
found from what it implements, never listed by hand:

- `EntitlementLister` / `GrantLister`: the type has entitlements / grants of its own; a type
  without them is annotated `SkipEntitlements` / `SkipGrants` for the platform;
- `Prefetcher`: it starts background reads when a sync begins listing resources;
- `Provisioner`: its entitlements can be granted and revoked (Grant / Revoke). The service
  advertises `CAPABILITY_PROVISION` for it only when provisioning is switched on.
- `WireResourceLister` / `WireEntitlementLister` / `WireGrantLister`: a fast path that returns
  each item already serialized (connector/c1/wire.py). The service prefers it; the plain method
  stays its slow, obvious twin, and the tests check that the two agree item for item.

The c1 layer owns the protocol (requests, page sizes, page-token namespaces, statuses);
builders get their context and a `PageRequest`, and return a `Page` whose `next_token` is ""
on the last page and otherwise a token strictly after the page served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from connector.c1 import wire
from connector.c1.protocol import MAX_NAME_BYTES, clip, entitlement_pb, grant_pb, resource_pb

T = TypeVar("T")
Ctx = TypeVar("Ctx", contravariant=True)


class ResourceNotFound(LookupError):
    """GetResource (or a listing) for an object the upstream does not have."""


@dataclass(frozen=True)
class PageRequest:
    """One page asked for: its size (already capped), the token, and the token's namespace.

    `kind` names the list the token belongs to (`{rpc}:{type}` or `{rpc}:{type}:{resource}`),
    so one list's token is never accepted by another.
    """

    size: int
    token: str
    kind: str


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str = ""


@runtime_checkable
class ResourceSyncer(Protocol[Ctx]):
    """Lists the resources of one type."""

    @property
    def type_id(self) -> str: ...

    def resource_type(self) -> resource_pb.ResourceType: ...

    def list_resources(self, ctx: Ctx, page: PageRequest) -> Page[resource_pb.Resource]: ...

    def get_resource(self, ctx: Ctx, resource_id: str) -> resource_pb.Resource: ...


@runtime_checkable
class EntitlementLister(Protocol[Ctx]):
    def list_entitlements(
        self, ctx: Ctx, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[entitlement_pb.Entitlement]: ...


@runtime_checkable
class GrantLister(Protocol[Ctx]):
    def list_grants(
        self, ctx: Ctx, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[grant_pb.Grant]: ...


@runtime_checkable
class Prefetcher(Protocol[Ctx]):
    def prefetch(self, ctx: Ctx) -> None:
        """Start background reads this sync will need; called when a sync lists resources."""
        ...


@dataclass(frozen=True)
class Granted:
    """What a Grant did: the principal's grants on that resource now in force (ids and shapes as
    a sync emits them), whether it held the entitlement already, the grants it replaced, and
    what the upstream write was (for the audit line)."""

    grants: list[grant_pb.Grant]
    already_held: bool = False
    replaced_grant_ids: tuple[str, ...] = ()
    change: str = ""  # the upstream write as an operator reads it (audit line); "" = none


@dataclass(frozen=True)
class Revoked:
    already_revoked: bool = False
    change: str = ""


class ProvisioningRefused(RuntimeError):
    """A Grant or Revoke this connector will not carry out as asked (FAILED_PRECONDITION):
    the upstream does not allow it, or doing it would be unsafe. The message says why."""


@runtime_checkable
class Provisioner(Protocol[Ctx]):
    """Grants and revokes the entitlements of one resource type. Both must be safe to repeat:
    the platform retries on UNAVAILABLE."""

    def grant(
        self, ctx: Ctx, entitlement: entitlement_pb.Entitlement, principal: resource_pb.Resource
    ) -> Granted: ...

    def revoke(self, ctx: Ctx, grant: grant_pb.Grant) -> Revoked: ...


@runtime_checkable
class WireResourceLister(Protocol[Ctx]):
    def list_resources_wire(self, ctx: Ctx, page: PageRequest) -> Page[bytes]:
        """`list_resources`, each Resource serialized."""
        ...


@runtime_checkable
class WireEntitlementLister(Protocol[Ctx]):
    def list_entitlements_wire(
        self, ctx: Ctx, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[bytes]:
        """`list_entitlements`, each Entitlement serialized."""
        ...


@runtime_checkable
class WireGrantLister(Protocol[Ctx]):
    def list_grants_wire(
        self, ctx: Ctx, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[bytes]:
        """`list_grants`, each Grant serialized."""
        ...


def reference(type_id: str, object_id: str, display_name: str = "") -> resource_pb.Resource:
    """A resource as an entitlement or a grant names it: its id and display name only (the
    name cut to the protocol's limit, like the resource's own)."""
    return resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=type_id, resource=object_id),
        display_name=clip(
            display_name, MAX_NAME_BYTES, type_id=type_id, object_id=object_id, field="display_name"
        ),
    )


_RESOURCE_ID = wire.key(1)
_ID_TYPE = wire.key(1)
_ID_RESOURCE = wire.key(2)
_DISPLAY_NAME = wire.key(3)


def resource_id_bytes(type_id: str, object_id: str) -> bytes:
    """A ResourceId's bytes (twin: `resource_pb.ResourceId(...)`)."""
    return wire.text(_ID_TYPE, type_id) + wire.text(_ID_RESOURCE, object_id)


def reference_bytes(type_id: str, object_id: str, display_name: str = "") -> bytes:
    """`reference`'s bytes, its name cut the same way."""
    name = clip(
        display_name, MAX_NAME_BYTES, type_id=type_id, object_id=object_id, field="display_name"
    )
    return wire.message(_RESOURCE_ID, resource_id_bytes(type_id, object_id)) + wire.text(
        _DISPLAY_NAME, name
    )
