"""Run every builder over fixed, already-parsed Clerk objects and collect what it emits.

`StaticClerk` answers the ClerkClient read methods the builders call with the objects it was
given, so a test sees exactly what the builders make of those objects: no HTTP and no paging
in between (the client's own tests cover those). Everything goes through the builders' public
entry points (`resource_type`, `list_resources`' resource functions, `list_entitlements`,
`list_grants`), paged to the end as the platform would.

Where a builder has a wire fast path (`list_*_wire`, items already serialized), every page is
asked both ways and must agree: the fast path's bytes decode to exactly the messages of its
slow twin, and the page tokens are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar, cast

from google.protobuf.message import Message

from connector.c1.builders import (
    EntitlementLister,
    GrantLister,
    Page,
    PageRequest,
    ResourceSyncer,
    WireEntitlementLister,
    WireGrantLister,
)
from connector.c1.protocol import entitlement_pb, grant_pb, resource_pb
from connector.c1.sync_cache import SyncScope
from connector.clerk import (
    ClerkClient,
    Listing,
    Organization,
    OrganizationMembership,
    OrganizationSettings,
    Permission,
    Role,
    RoleSet,
    User,
)
from connector.clerk.paging import EvidenceObserver, Totals
from connector.model.context import SyncContext
from connector.model.organizations import OrganizationBuilder, organization_resource
from connector.model.permissions import OrganizationPermissionBuilder, permission_resource
from connector.model.roles import OrganizationRoleBuilder, role_resource
from connector.model.users import UserBuilder, user_resource, user_resource_wire
from tests.wire_agreement import assert_agree, assert_same

T = TypeVar("T")


@dataclass
class StaticClerk:
    users: Sequence[User] = ()
    organizations: Sequence[Organization] = ()
    memberships: Sequence[OrganizationMembership] = ()
    roles: Sequence[Role] = ()
    permissions: Sequence[Permission] = ()
    role_sets: Sequence[RoleSet] = ()
    settings: OrganizationSettings = field(default_factory=OrganizationSettings)

    def list_roles(self, on_evidence: EvidenceObserver | None = None) -> list[Role]:
        return list(self.roles)

    def list_permissions(self, on_evidence: EvidenceObserver | None = None) -> list[Permission]:
        return list(self.permissions)

    def list_role_sets(self, on_evidence: EvidenceObserver | None = None) -> list[RoleSet]:
        return list(self.role_sets)

    def organization_settings(self) -> OrganizationSettings:
        return self.settings

    def list_organization_memberships(self, organization_id: str) -> list[OrganizationMembership]:
        return [m for m in self.memberships if m.organization.id == organization_id]

    def organization_memberships_listing(
        self, organization_id: str, on_evidence: EvidenceObserver | None = None
    ) -> Listing[OrganizationMembership]:
        """The organization's memberships as one page; its total counts distinct ids, as Clerk
        counts objects (generated data may repeat an id, which no Clerk list does)."""
        rows = self.list_organization_memberships(organization_id)

        def walk(
            totals: Totals, _read: AbstractSet[str]
        ) -> Generator[list[OrganizationMembership], None, None]:
            totals.observe(len({row.id for row in rows}))
            yield rows

        return Listing("/organizations/{organization_id}/memberships", walk)

    def list_instance_memberships(self) -> list[OrganizationMembership]:
        return list(self.memberships)

    def get_organization(self, organization_id: str) -> Organization:
        (found,) = [org for org in self.organizations if org.id == organization_id]
        return found


BUILDERS: tuple[ResourceSyncer[SyncContext], ...] = (
    UserBuilder(),
    OrganizationBuilder(),
    OrganizationRoleBuilder(),
    OrganizationPermissionBuilder(),
)


def context(clerk: StaticClerk) -> SyncContext:
    """A throwaway (per-call) sync context, as for a platform that sends no sync id."""
    types = {builder.type_id: builder.resource_type() for builder in BUILDERS}
    return SyncContext(
        client=cast(ClerkClient, clerk),
        scope=SyncScope(),
        served=frozenset(types),
        resource_types=types,
    )


def _all_pages(read: Callable[[str], Page[T]]) -> list[T]:
    items: list[T] = []
    token = ""
    while True:
        page = read(token)
        items.extend(page.items)
        if not page.next_token:
            return items
        assert page.next_token != token, "a page token repeated"
        token = page.next_token


@dataclass
class Built:
    resource_types: list[resource_pb.ResourceType]
    resources: list[resource_pb.Resource]
    entitlements: list[entitlement_pb.Entitlement]
    grants: list[grant_pb.Grant]

    def messages(self) -> list[Message]:
        return [*self.resource_types, *self.resources, *self.entitlements, *self.grants]


def _entitlements(
    builder: ResourceSyncer[SyncContext],
    ctx: SyncContext,
    parent: resource_pb.Resource,
    size: int,
    token: str,
) -> Page[entitlement_pb.Entitlement]:
    if not isinstance(builder, EntitlementLister):
        return Page([])
    request = PageRequest(
        size, token, f"entitlements:{parent.id.resource_type}:{parent.id.resource}"
    )
    page = builder.list_entitlements(ctx, parent, request)
    if isinstance(builder, WireEntitlementLister):
        assert_agree(page, builder.list_entitlements_wire(ctx, parent, request))
    return page


def _grants(
    builder: ResourceSyncer[SyncContext],
    ctx: SyncContext,
    parent: resource_pb.Resource,
    size: int,
    token: str,
) -> Page[grant_pb.Grant]:
    if not isinstance(builder, GrantLister):
        return Page([])
    request = PageRequest(size, token, f"grants:{parent.id.resource_type}:{parent.id.resource}")
    page = builder.list_grants(ctx, parent, request)
    if isinstance(builder, WireGrantLister):
        assert_agree(page, builder.list_grants_wire(ctx, parent, request))
    return page


def build_everything(clerk: StaticClerk, page_size: int = 50) -> Built:
    ctx = context(clerk)
    for user in clerk.users:  # the wire fast path of ListResources(user)
        data, name = user_resource_wire(user)
        assert_same(data, user_resource(user))
        assert name == user_resource(user).display_name
    resources = [
        *(user_resource(user) for user in clerk.users),
        *(organization_resource(org) for org in clerk.organizations),
        *(role_resource(role) for role in ctx.catalog().roles),
        *(permission_resource(perm) for perm in ctx.catalog().permissions),
    ]
    by_type = {builder.type_id: builder for builder in BUILDERS}
    entitlements: list[entitlement_pb.Entitlement] = []
    grants: list[grant_pb.Grant] = []
    for parent in resources:
        builder = by_type[parent.id.resource_type]
        entitlements += _all_pages(partial(_entitlements, builder, ctx, parent, page_size))
        grants += _all_pages(partial(_grants, builder, ctx, parent, page_size))
    return Built(list(ctx.resource_types.values()), resources, entitlements, grants)
