"""Organizations: TRAIT_GROUP resources whose entitlements and grants are the memberships.

Entitlements of an organization: `member`, plus one per role that the organization can assign
(its role set) or that one of its members actually holds. A role entitlement's id carries the
stable role id (`organization:{org}:{role_id}`); its slug is the role key (`org:admin`), which
is what people recognise. Grants, per membership: `organization:{org}:member:user:{user}` and,
when the membership's role key resolves to a role, `organization:{org}:{role_id}:user:{user}`;
both carry the membership's GrantMetadata. Entitlements and grants of
one organization come from the same membership snapshot, so every grant has its entitlement.

A membership has exactly one role, so an organization's role entitlements form one
`EntitlementExclusionGroup` (`organization:{org}:role`): ranked by privilege, the role set's
default role marked as the default, so the platform offers "change role" rather than "add".
Grant and Revoke of these entitlements are in provisioning.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import structlog
from google.protobuf import any_pb2

from connector.c1 import ids, wire
from connector.c1.builders import Granted, Page, PageRequest, Revoked, reference, reference_bytes
from connector.c1.keyset import keyset_page
from connector.c1.protocol import (
    MAX_DESCRIPTION_BYTES,
    MAX_NAME_BYTES,
    StructValue,
    clip,
    entitlement_annotations,
    entitlement_pb,
    grant_annotations,
    grant_pb,
    pack,
    resource_pb,
    set_timestamp_ms,
    struct,
    traits,
    unpack_all,
)
from connector.c1.stream import stream_page
from connector.clerk import Organization, Role
from connector.model import types
from connector.model.catalog import RoleCatalog, privilege_order
from connector.model.context import AccessNotAttributable, SyncContext
from connector.model.memberships import Member, MembershipIndex, read_one_organization
from connector.model.principals import listed_users

if TYPE_CHECKING:
    from connector.model.provisioning import MembershipProvisioner

log = structlog.get_logger(__name__)

MEMBERSHIPS = "memberships"  # the sync scope's key for the MembershipIndex
ASSIGNMENT = entitlement_pb.Entitlement.PURPOSE_VALUE_ASSIGNMENT


# A grant before it becomes protobuf: (grant id, the role it grants or None for `member`, member).
_Edge = tuple[str, Role | None, Member]

# Organizations whose resolved memberships (and sorted grant list) stay cached within a sync:
# the platform pages one organization's grants over consecutive calls, so a few suffice.
RECENT_ORGANIZATIONS = 8


class OrganizationAccess:
    """One organization's memberships with their role keys resolved against the catalog."""

    def __init__(
        self,
        org_id: str,
        members: Sequence[Member],
        assignable: Iterable[Role],
        catalog: RoleCatalog,
        names: Callable[[str], str | None] = lambda _: None,
        default_role: Role | None = None,
    ) -> None:
        self.org_id = org_id
        # The role new members get here (None: role sets say nothing).
        self.default_role_id = default_role.id if default_role is not None else None
        self.members = members
        self.names = names  # user id -> the display name of the user resource served
        roles = {role.id: role for role in assignable}
        self.resolved: dict[str, Role] = {}  # role key -> role, for the keys members hold
        self.unresolved: Counter[str] = Counter()  # role key -> members holding it, unmatched
        # Unresolved key -> the permissions its memberships carry: real rights, unexplained.
        self.unresolved_permissions: dict[str, list[str]] = {}
        # Keys whose membership names the role otherwise than the catalog (a renamed role).
        self.renamed: set[str] = set()
        for member in members:
            role = catalog.role_for_key(member.role_key)
            if role is None:
                self.unresolved[member.role_key] += 1
                if member.permissions:
                    self.unresolved_permissions[member.role_key] = member.permission_keys()
            else:
                self.resolved[member.role_key] = role
                roles.setdefault(role.id, role)
                if member.role_name and role.name and member.role_name != role.name:
                    self.renamed.add(member.role_key)
        # Every role an entitlement is emitted for, sorted by id.
        self.roles = tuple(sorted(roles.values(), key=lambda role: role.id))

    @property
    def disagrees_with_catalog(self) -> bool:
        """The memberships name a role key the catalog lacks or a role by another name."""
        return bool(self.unresolved or self.renamed)

    def principal_name(self, member: Member) -> str:
        return self.names(member.user_id) or member.user_label

    @cached_property
    def grant_edges(self) -> list[_Edge]:
        """Every grant, sorted by grant id (the paging key)."""
        edges = list(_grant_edges(self.org_id, self.members, self.resolved))
        edges.sort(key=lambda edge: edge[0])
        return edges

    def log_unresolved(self) -> None:
        for key, count in sorted(self.unresolved.items()):
            log.warning(
                "unresolved_role_key",
                organization_id=self.org_id,
                role_key=key,
                members=count,
                permissions=self.unresolved_permissions.get(key, []),
                effect="member grants kept, no role grant emitted",
            )
        for key in sorted(self.renamed):
            log.warning(
                "role_name_disagrees",
                organization_id=self.org_id,
                role_key=key,
                role_id=self.resolved[key].id,
                effect="resolved by key",
            )


class OrganizationBuilder:
    type_id = types.ORGANIZATION

    def __init__(self, provisioner: MembershipProvisioner | None = None) -> None:
        if provisioner is None:
            # provisioning.py builds on this module's grants: imported here, not at the top.
            from connector.model.provisioning import MembershipProvisioner

            provisioner = MembershipProvisioner()
        self.provisioner = provisioner

    def resource_type(self) -> resource_pb.ResourceType:
        return resource_pb.ResourceType(
            id=self.type_id,
            display_name="Organization",
            description="A Clerk organization; its members and their roles are its grants.",
            traits=[resource_pb.ResourceType.TRAIT_GROUP],
        )

    def prefetch(self, ctx: SyncContext) -> None:
        # Every organization's entitlements and grants will need these; read them while the
        # platform is still listing resources.
        ctx.scope.start("catalog", ctx.load_catalog)
        ctx.scope.start(MEMBERSHIPS, lambda: read_index(ctx))

    def list_resources(self, ctx: SyncContext, page: PageRequest) -> Page[resource_pb.Resource]:
        organizations, next_token = stream_page(
            kind=page.kind,
            token=page.token,
            size=page.size,
            scope=ctx.scope,
            cache=ctx.cache,
            start=lambda: ctx.client.organizations_listing(ctx.record_evidence),
        )
        return Page([organization_resource(org) for org in organizations], next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource_pb.Resource:
        return organization_resource(ctx.client.get_organization(resource_id))

    def list_entitlements(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[entitlement_pb.Entitlement]:
        """The slow twin of `list_entitlements_wire`: the messages, built on each call."""
        access = _entitlement_access(ctx, parent, page)
        grantable = _grantable_to(ctx)
        owner = owner_reference(parent)
        built = [member_entitlement(owner, grantable)]
        exclusions = role_exclusions(parent.id.resource, access)
        for role in access.roles:
            entitlement = role_entitlement(owner, role, grantable)
            entitlement.annotations.append(exclusions[role.id])
            built.append(entitlement)
        built.sort(key=lambda item: item.id)
        return keyset_page(built, lambda item: item.id, page)

    def grant(
        self,
        ctx: SyncContext,
        entitlement: entitlement_pb.Entitlement,
        principal: resource_pb.Resource,
    ) -> Granted:
        return self.provisioner.grant(ctx, entitlement, principal)

    def revoke(self, ctx: SyncContext, grant: grant_pb.Grant) -> Revoked:
        return self.provisioner.revoke(ctx, grant)

    def list_entitlements_wire(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[bytes]:
        """`list_entitlements`, serialized: the entitlements' bytes without `grantable_to`
        (kept for the sync: grants embed them too), that field's bytes appended."""
        access = _entitlement_access(ctx, parent, page)
        grantable = b"".join(
            wire.message(_GRANTABLE_TO, item.SerializeToString()) for item in _grantable_to(ctx)
        )
        exclusions = _exclusion_bytes(parent, access)
        served = keyset_page(encoded_entitlements(ctx, parent, access), lambda e: e[0], page)
        return Page(
            [data + grantable + exclusions.get(role_id, b"") for _, role_id, data in served.items],
            served.next_token,
        )

    def list_grants(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[grant_pb.Grant]:
        """The slow twin of `list_grants_wire`: the Grant messages."""
        if not ctx.serves(types.USER):
            return Page([])  # a switched-off type is never named by a grant
        access = organization_access(ctx, parent)
        served = keyset_page(access.grant_edges, lambda edge: edge[0], page)
        return Page(build_grants(served.items, access, owner_reference(parent)), served.next_token)

    def list_grants_wire(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[bytes]:
        """`list_grants`, serialized: each grant is its entitlement's bytes (serialized once
        per sync), its id, and the principal and metadata it shares with the member's other
        grant (encoded once per page)."""
        if not ctx.serves(types.USER):
            return Page([])
        access = organization_access(ctx, parent)
        served = keyset_page(access.grant_edges, lambda edge: edge[0], page)
        entitlements = {
            role_id: wire.message(_GRANT_ENTITLEMENT, data)
            for _, role_id, data in encoded_entitlements(ctx, parent, access)
        }
        shared: dict[Member, bytes] = {}
        by_role: dict[tuple[str, str, str | None], bytes] = {}
        built = []
        for grant_id, role, member in served.items:
            tail = shared.get(member)
            if tail is None:
                tail = shared[member] = _grant_principal_and_metadata(member, access, by_role)
            entitlement = entitlements[role.id if role is not None else None]
            built.append(entitlement + wire.text(_GRANT_ID, grant_id) + tail)
        return Page(built, served.next_token)


def _entitlement_access(
    ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
) -> OrganizationAccess:
    access = organization_access(ctx, parent)
    if not page.token:  # once per organization and sync: entitlements come before grants
        access.log_unresolved()
        ctx.scope.report.count_once(
            "unresolved_role_keys", parent.id.resource, access.unresolved.total()
        )
    return access


# Field keys of Entitlement.grantable_to, and of Grant's entitlement, principal, id, annotations.
_GRANTABLE_TO = wire.key(5)
_ENTITLEMENT_ANNOTATION = wire.key(6)
_GRANT_ENTITLEMENT = wire.key(1)
_GRANT_PRINCIPAL = wire.key(2)
_GRANT_ID = wire.key(3)
_GRANT_ANNOTATION = wire.key(4)
_METADATA_STRUCT = wire.key(1)  # GrantMetadata.metadata
_GRANT_METADATA = grant_annotations.GrantMetadata.DESCRIPTOR.full_name

# (entitlement id, role id or None for `member`, the entitlement without grantable_to).
EncodedEntitlement = tuple[str, str | None, bytes]


def encoded_entitlements(
    ctx: SyncContext, parent: resource_pb.Resource, access: OrganizationAccess
) -> list[EncodedEntitlement]:
    """The organization's entitlements, sorted by id, serialized once while the organization is
    among the recently used ones (its ListEntitlements and ListGrants pages reuse them). Kept
    for every organization until the sync ends, they raised peak RSS at 10,000 organizations
    from 216 to 252 MB (make bench), past the 250 MB target, with no CPU gained. The
    key holds everything they are built from: the organization as the platform names it, and
    the roles."""

    def build() -> list[EncodedEntitlement]:
        owner = owner_reference(parent)
        built: list[tuple[str | None, entitlement_pb.Entitlement]] = [
            (None, member_entitlement(owner, []))
        ]
        built += [(role.id, role_entitlement(owner, role, [])) for role in access.roles]
        encoded = [(item.id, role_id, item.SerializeToString()) for role_id, item in built]
        encoded.sort(key=lambda entry: entry[0])
        return encoded

    if not ctx.scope.persistent:
        return build()
    roles = tuple(role.id for role in access.roles)
    key = ("entitlement_bytes", parent.id.resource, parent.display_name, roles)
    return ctx.scope.recent(key, build, capacity=RECENT_ORGANIZATIONS)


def _grant_principal_and_metadata(
    member: Member, access: OrganizationAccess, by_role: dict[tuple[str, str, str | None], bytes]
) -> bytes:
    """The Grant fields `_build_grant` sets besides the entitlement and id, serialized. Of the
    metadata only the membership id is the member's own; the rest (role key, role id, the
    permission lists) follows from the role key, the permissions and the role, and is encoded
    once per page for each of those (a Struct's bytes concatenated merge into one Struct)."""
    principal = reference_bytes(types.USER, member.user_id, access.principal_name(member))
    role = access.resolved.get(member.role_key)
    key = (member.role_key, member.permissions, role.id if role is not None else None)
    shared = by_role.get(key)
    if shared is None:
        values = membership_metadata_values(member, role)
        del values["membership_id"]
        shared = by_role[key] = wire.struct(values)
    own = wire.struct({"membership_id": member.membership_id})
    metadata = wire.message(_METADATA_STRUCT, own + shared)
    return wire.message(_GRANT_PRINCIPAL, principal) + wire.message(
        _GRANT_ANNOTATION, wire.any_message(_GRANT_METADATA, metadata)
    )


def organization_resource(org: Organization) -> resource_pb.Resource:
    profile = struct(
        {
            "organization_id": org.id,
            "name": org.name,
            "slug": org.slug,
            "members_count": org.members_count,
            "max_allowed_memberships": org.max_allowed_memberships,
            # "" means "the instance's initial role set" (Clerk sends null).
            "role_set_key": org.role_set_key or "",
            "created_by": org.created_by,
        }
    )
    built = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=types.ORGANIZATION, resource=org.id),
        display_name=_clip_name(org.name, org.id, "display_name"),
        description=_clip_description(f"slug {org.slug}" if org.slug else "", org.id),
        annotations=[pack(traits.GroupTrait(profile=profile))],
    )
    set_timestamp_ms(
        built.created_at,
        org.created_at,
        type_id=types.ORGANIZATION,
        object_id=org.id,
        field="created_at",
    )
    return built


def _clip_name(text: str, org_id: str, field: str) -> str:
    return clip(text, MAX_NAME_BYTES, type_id=types.ORGANIZATION, object_id=org_id, field=field)


def _clip_description(text: str, org_id: str, field: str = "description") -> str:
    return clip(
        text, MAX_DESCRIPTION_BYTES, type_id=types.ORGANIZATION, object_id=org_id, field=field
    )


def organization_access(ctx: SyncContext, org: resource_pb.Resource) -> OrganizationAccess:
    """The organization's memberships, from this sync's instance-wide index when there is one,
    reconciled with the users this sync served."""
    org_id = org.id.resource
    listed = listed_users(ctx.scope) if ctx.serves(types.USER) else None
    # Only once the sync has listed every user can a membership of another user be churn.
    reconcile = listed is not None and listed.complete

    def build() -> OrganizationAccess:
        members = _members(ctx, org)
        if listed is not None and reconcile:
            kept = [member for member in members if member.user_id in listed]
            if len(kept) < len(members):
                dropped = len(members) - len(kept)
                log.info(
                    "memberships_of_unlisted_users",
                    organization_id=org_id,
                    memberships=dropped,
                    effect="no grant: the user was not among the users this sync listed",
                )
                ctx.scope.report.count_once("memberships_of_unlisted_users", org_id, dropped)
            members = kept
        return _resolve(ctx, org, members, listed.name if listed is not None else _no_name)

    if not ctx.scope.persistent:
        return build()
    return ctx.scope.recent(
        ("organization_access", org_id, reconcile), build, capacity=RECENT_ORGANIZATIONS
    )


def _no_name(_: str) -> str | None:
    return None


def _resolve(
    ctx: SyncContext,
    org: resource_pb.Resource,
    members: Sequence[Member],
    names: Callable[[str], str | None],
) -> OrganizationAccess:
    """Resolve role keys; a disagreement with the catalog re-reads it once per sync."""
    role_set_key = _role_set_key(ctx, org)
    access = resolve_access(org.id.resource, members, ctx.catalog(), role_set_key, names)
    if access.disagrees_with_catalog and ctx.refresh_catalog():
        access = resolve_access(org.id.resource, members, ctx.catalog(), role_set_key, names)
    return access


def resolve_access(
    org_id: str,
    members: Sequence[Member],
    catalog: RoleCatalog,
    role_set_key: str | None,
    names: Callable[[str], str | None] = _no_name,
) -> OrganizationAccess:
    return OrganizationAccess(
        org_id,
        members,
        catalog.assignable_roles(role_set_key),
        catalog,
        names,
        default_role=catalog.default_role(role_set_key),
    )


def _members(ctx: SyncContext, org: resource_pb.Resource) -> list[Member]:
    """The organization's memberships, read on their own when the sync's index leaves them
    in doubt (see MembershipIndex.needs_reread)."""
    org_id = org.id.resource
    if not ctx.scope.persistent:
        # No snapshot: the organization's own list, proven complete by its total_count.
        read = read_one_organization(ctx.client, org_id)
        if org_id in read.userless:
            read = read_one_organization(ctx.client, org_id)
        return _attributable(None, read, org_id, None)
    index = ctx.scope.memo(MEMBERSHIPS, lambda: read_index(ctx))
    members_count = _members_count(org)
    reason = index.needs_reread(org_id, members_count)
    if reason is None:
        return index.members(org_id)
    log.warning("organization_memberships_reread", organization_id=org_id, reason=reason)
    ctx.scope.report.count_once("organizations_reread", org_id)
    read = ctx.scope.memo(
        ("memberships_reread", org_id), lambda: read_one_organization(ctx.client, org_id)
    )
    return _attributable(ctx, read, org_id, members_count)


def read_index(ctx: SyncContext) -> MembershipIndex:
    return MembershipIndex.read(ctx.client, ctx.scope.closed, ctx.record_evidence)


def _attributable(
    ctx: SyncContext | None, read: MembershipIndex, org_id: str, members_count: int | None
) -> list[Member]:
    """The members of a per-organization read (complete by its own total_count), or a loud
    failure when one of them names no user."""
    userless = read.userless.get(org_id)
    if userless:
        raise AccessNotAttributable(
            f"organization {org_id}: membership {userless[0]} has no public_user_data (no "
            "user id), also when read again; its access cannot be attributed to a user"
        )
    held = read.count(org_id)
    if ctx is not None and members_count is not None and held != members_count:
        # The read is complete now; the organization changed since it was listed.
        log.info(
            "members_count_changed", organization_id=org_id, read=held, members_count=members_count
        )
        ctx.scope.report.count_once("members_count_changed", org_id)
    return read.members(org_id)


def _members_count(org: resource_pb.Resource) -> int | None:
    """Clerk's members_count from the GroupTrait profile the platform sends back, if any."""
    for trait in unpack_all(org.annotations, traits.GroupTrait):
        value = trait.profile.fields.get("members_count")
        if value is not None and value.WhichOneof("kind") == "number_value":
            return int(value.number_value)
    return None


def _role_set_key(ctx: SyncContext, org: resource_pb.Resource) -> str | None:
    """Read from the GroupTrait profile the platform sends back; ask Clerk if it is absent."""
    for trait in unpack_all(org.annotations, traits.GroupTrait):
        if "role_set_key" in trait.profile.fields:
            return trait.profile.fields["role_set_key"].string_value or None
    return ctx.client.get_organization(org.id.resource).role_set_key


def owner_reference(org: resource_pb.Resource) -> resource_pb.Resource:
    """The organization as entitlements and grants reference it: id and name only."""
    return reference(types.ORGANIZATION, org.id.resource, org.display_name)


def _grantable_to(ctx: SyncContext) -> list[resource_pb.ResourceType]:
    user_type = ctx.resource_types.get(types.USER)
    return [user_type] if user_type is not None else []


def member_entitlement(
    org: resource_pb.Resource, grantable: list[resource_pb.ResourceType]
) -> entitlement_pb.Entitlement:
    org_id = org.id.resource
    return entitlement_pb.Entitlement(
        resource=org,
        id=ids.entitlement_id(types.ORGANIZATION, org_id, types.MEMBER_SLUG),
        display_name=_clip_name(f"{org.display_name} member", org_id, "member.display_name"),
        description=_clip_description(
            f"Member of the {org.display_name} organization", org_id, "member.description"
        ),
        grantable_to=grantable,
        purpose=ASSIGNMENT,
        slug=types.MEMBER_SLUG,
    )


def role_entitlement(
    org: resource_pb.Resource, role: Role, grantable: list[resource_pb.ResourceType]
) -> entitlement_pb.Entitlement:
    """`organization:{org}:{role_id}` (the id keeps the stable role id), slug = the role key,
    named like the member entitlement: "{organization} {role}"."""
    org_id = org.id.resource
    name = role.name or role.key
    description = f"Holds the {name} role ({role.key}) in the {org.display_name} organization"
    return entitlement_pb.Entitlement(
        resource=org,
        id=ids.entitlement_id(types.ORGANIZATION, org_id, role.id),
        display_name=_clip_name(f"{org.display_name} {name}", org_id, "role.display_name"),
        description=_clip_description(description, org_id, "role.description"),
        grantable_to=grantable,
        purpose=ASSIGNMENT,
        slug=role.key,
    )


def _grant_edges(
    org_id: str, members: Sequence[Member], resolved: dict[str, Role]
) -> Iterator[_Edge]:
    member_entitlement_id = ids.entitlement_id(types.ORGANIZATION, org_id, types.MEMBER_SLUG)
    for member in members:
        yield ids.grant_id(member_entitlement_id, types.USER, member.user_id), None, member
        role = resolved.get(member.role_key)
        if role is not None:
            role_entitlement_id = ids.entitlement_id(types.ORGANIZATION, org_id, role.id)
            yield ids.grant_id(role_entitlement_id, types.USER, member.user_id), role, member


def build_grants(
    edges: Sequence[_Edge], access: OrganizationAccess, owner: resource_pb.Resource
) -> list[grant_pb.Grant]:
    """The grants of these edges, as ListGrants (and a Grant's answer) emit them."""
    # The same entitlements ListEntitlements emitted, minus grantable_to and annotations
    # (they never vary); built once per page, each grant copies one (a C-level copy).
    granted: dict[str | None, entitlement_pb.Entitlement] = {None: member_entitlement(owner, [])}
    for _, role, _ in edges:
        if role is not None and role.id not in granted:
            granted[role.id] = role_entitlement(owner, role, [])
    return [_build_grant(edge, granted, access) for edge in edges]


def role_exclusions(org_id: str, access: OrganizationAccess) -> dict[str, any_pb2.Any]:
    """Role id -> its EntitlementExclusionGroup annotation (ListEntitlements only: grants do
    not repeat it)."""
    order = privilege_order(access.roles)
    return {
        role.id: role_exclusion(org_id, order[role.id], role.id == access.default_role_id)
        for role in access.roles
    }


def _exclusion_bytes(
    parent: resource_pb.Resource, access: OrganizationAccess
) -> dict[str | None, bytes]:
    """`role_exclusions` as the Entitlement.annotations field bytes the wire path appends."""
    return {
        role_id: wire.message(_ENTITLEMENT_ANNOTATION, annotation.SerializeToString())
        for role_id, annotation in role_exclusions(parent.id.resource, access).items()
    }


def role_exclusion(org_id: str, order: int, is_default: bool) -> any_pb2.Any:
    """One exclusion group per organization: a member holds exactly one of its roles."""
    return pack(
        entitlement_annotations.EntitlementExclusionGroup(
            exclusion_group_id=ids.entitlement_id(types.ORGANIZATION, org_id, "role"),
            order=order,
            is_default=is_default,
        )
    )


def _build_grant(
    edge: _Edge, granted: dict[str | None, entitlement_pb.Entitlement], access: OrganizationAccess
) -> grant_pb.Grant:
    grant_id, role, member = edge
    built = grant_pb.Grant(
        id=grant_id,
        entitlement=granted[role.id if role is not None else None],
        principal=reference(types.USER, member.user_id, access.principal_name(member)),
    )
    built.annotations.append(membership_metadata(member, access.resolved.get(member.role_key)))
    return built


def membership_metadata(member: Member, role: Role | None) -> any_pb2.Any:
    """The GrantMetadata of a member or role grant: reviewers see the membership and its raw
    role key, resolved (with the role id) or not."""
    values = membership_metadata_values(member, role)
    return pack(grant_annotations.GrantMetadata(metadata=struct(values)))


def membership_metadata_values(member: Member, role: Role | None) -> dict[str, StructValue]:
    """What `membership_metadata` holds, as plain values (the wire path encodes them)."""
    metadata: dict[str, StructValue] = {
        "membership_id": member.membership_id,
        "role_key": member.role_key,
        "role_id": role.id if role is not None else None,
    }
    if role is None and member.permissions:
        # An unresolved key still carries rights: show the reviewer which.
        metadata["permissions"] = member.permission_keys()
    elif role is not None and member.permissions:
        # A membership listing rights its role lacks (a stale read, a role being edited): the
        # reviewer sees the difference rather than the resolved role alone.
        beyond = _beyond_role(member, role)
        if beyond:
            metadata["permissions_beyond_role"] = beyond
    return metadata


def _beyond_role(member: Member, role: Role) -> list[str]:
    """The membership's permission keys that its resolved role does not carry, sorted."""
    held = {permission.key for permission in role.permissions}
    return sorted(key for key in set(member.permission_keys()) if key not in held)
