"""Grant and Revoke of organization entitlements, as Clerk membership writes.

Every call reads before it writes: the organization, the role catalog and the user's current
membership decide one `MembershipChange` (create, change role, delete, or nothing), which is
what `--dry-run` prints. Applying it sends one write; when the answer is lost (timeout, dropped
connection, 5xx) the membership is read back and the call succeeds only if Clerk shows the
intended end state, otherwise it is UNAVAILABLE and safe to repeat. Calls for the same
organization and user are serialized inside the process.

What each call does in Clerk (README, "Provisioning"):
- Grant member: no membership -> create it with the organization's default role.
- Grant role R: no membership -> create it with R; another role -> change it to R (the old role
  grant is reported as replaced); R already -> nothing (GrantAlreadyExists).
- Revoke member: delete the membership. Revoke role R: change it to the default role. Revoking
  the default role itself is refused: it is the floor every member holds, and removing access
  is a Revoke of the member grant.
- Optionally (on by default) a change that would leave the organization without a member
  holding an admin-level role is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import structlog

from connector.c1 import ids
from connector.c1.builders import Granted, ProvisioningRefused, ResourceNotFound, Revoked
from connector.c1.errors import BadRequest
from connector.c1.protocol import entitlement_pb, grant_pb, resource_pb
from connector.clerk import (
    ClerkNotFoundError,
    ClerkRequestError,
    Organization,
    OrganizationMembership,
    Role,
    User,
)
from connector.clerk.errors import ClerkWriteOutcomeUnknown
from connector.model import types
from connector.model.catalog import RoleCatalog, is_admin_level
from connector.model.context import SyncContext
from connector.model.memberships import Member, compact
from connector.model.organizations import (
    build_grants,
    organization_resource,
    owner_reference,
    resolve_access,
)
from connector.model.users import display_name

log = structlog.get_logger(__name__)

# Clerk's error codes for a write it refuses (documented in its error reference).
ALREADY_A_MEMBER = "already_a_member_in_organization"
MINIMUM_PERMISSIONS = "organization_minimum_permissions_needed"

Kind = Literal["create", "change_role", "delete", "none"]


@dataclass(frozen=True)
class Target:
    """An organization entitlement: `member` (role None) or one role."""

    organization_id: str
    role_id: str | None


@dataclass(frozen=True)
class MembershipChange:
    """The one write a call makes (or `none`), decided from what Clerk holds now."""

    kind: Kind
    organization_id: str
    user_id: str
    role_key: str | None = None  # the role after the change (create, change_role)
    previous_role_key: str | None = None
    replaced_grant_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        """The write as an operator reads it (dry run, audit line)."""
        org, user = self.organization_id, self.user_id
        match self.kind:
            case "create":
                return f"POST /organizations/{org}/memberships user_id={user} role={self.role_key}"
            case "change_role":
                return (
                    f"PATCH /organizations/{org}/memberships/{user} role={self.role_key} "
                    f"(was {self.previous_role_key})"
                )
            case "delete":
                return (
                    f"DELETE /organizations/{org}/memberships/{user} "
                    f"(role {self.previous_role_key})"
                )
        return ""


class KeyedLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: tuple[str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class MembershipProvisioner:
    """Grant / Revoke for the organization type (see the module docstring)."""

    def __init__(self, *, protect_last_admin: bool = True) -> None:
        self.protect_last_admin = protect_last_admin
        self._locks = KeyedLocks()

    # -- the c1 Provisioner contract -------------------------------------------------------------

    def grant(
        self,
        ctx: SyncContext,
        entitlement: entitlement_pb.Entitlement,
        principal: resource_pb.Resource,
    ) -> Granted:
        target = parse_entitlement(entitlement)
        user_id = principal_user(principal)
        with self._locks.hold((target.organization_id, user_id)):
            state = _State.read(ctx, target.organization_id, user_id)
            change = self._plan_grant(state, target)
            membership = self._apply(ctx, state, change)
            return Granted(
                grants=_grants_in_force(ctx, state, membership),
                already_held=change.kind == "none",
                replaced_grant_ids=change.replaced_grant_ids,
                change=change.describe(),
            )

    def revoke(self, ctx: SyncContext, grant: grant_pb.Grant) -> Revoked:
        target = parse_entitlement(grant.entitlement)
        user_id = principal_user(grant.principal)
        expected = ids.grant_id(grant.entitlement.id, types.USER, user_id)
        if grant.id and grant.id != expected:
            raise BadRequest(
                f"grant.id {grant.id!r} is not the id of its entitlement and principal"
            )
        with self._locks.hold((target.organization_id, user_id)):
            state = _State.read(ctx, target.organization_id, user_id)
            change = self._plan_revoke(ctx, state, target)
            self._apply(ctx, state, change)
            return Revoked(already_revoked=change.kind == "none", change=change.describe())

    # -- dry runs --------------------------------------------------------------------------------

    def plan_grant(
        self,
        ctx: SyncContext,
        entitlement: entitlement_pb.Entitlement,
        principal: resource_pb.Resource,
    ) -> MembershipChange:
        target = parse_entitlement(entitlement)
        state = _State.read(ctx, target.organization_id, principal_user(principal))
        return self._plan_grant(state, target)

    def plan_revoke(self, ctx: SyncContext, grant: grant_pb.Grant) -> MembershipChange:
        target = parse_entitlement(grant.entitlement)
        state = _State.read(ctx, target.organization_id, principal_user(grant.principal))
        return self._plan_revoke(ctx, state, target)

    # -- deciding --------------------------------------------------------------------------------

    def _plan_grant(self, state: _State, target: Target) -> MembershipChange:
        org, user = state.organization.id, state.user_id
        if target.role_id is None:
            if state.membership is not None:
                return MembershipChange("none", org, user)
            role = state.default_role()
        else:
            role = state.assignable_role(target.role_id)
        if state.membership is None:
            state.require_user()
            return MembershipChange("create", org, user, role_key=role.key)
        if state.membership.role == role.key:
            return MembershipChange("none", org, user)
        previous = state.membership.role
        replaced = state.role_grant_id(previous)
        return MembershipChange(
            "change_role",
            org,
            user,
            role_key=role.key,
            previous_role_key=previous,
            replaced_grant_ids=(replaced,) if replaced is not None else (),
        )

    def _plan_revoke(self, ctx: SyncContext, state: _State, target: Target) -> MembershipChange:
        org, user, membership = state.organization.id, state.user_id, state.membership
        role = None
        if target.role_id is not None:
            role = state.catalog.role(target.role_id)
            if role is None:
                raise ResourceNotFound(f"role {target.role_id!r} is not a role of this instance")
        if membership is None:
            return MembershipChange("none", org, user)
        if role is None:  # the member grant
            self._keep_an_admin(ctx, state, membership.role, None)
            return MembershipChange("delete", org, user, previous_role_key=membership.role)
        if membership.role != role.key:
            return MembershipChange("none", org, user)  # the member holds another role
        default = state.default_role()
        if default.key == role.key:
            member = ids.entitlement_id(types.ORGANIZATION, org, types.MEMBER_SLUG)
            raise ProvisioningRefused(
                f"role {role.key} ({role.id}) is the default role of organization {org}: every "
                "member holds at least it. To remove the user's access, revoke the member grant "
                f"{ids.grant_id(member, types.USER, user)}"
            )
        self._keep_an_admin(ctx, state, membership.role, default)
        return MembershipChange(
            "change_role", org, user, role_key=default.key, previous_role_key=membership.role
        )

    def _keep_an_admin(
        self, ctx: SyncContext, state: _State, held_key: str, after: Role | None
    ) -> None:
        """Refuse to take the last admin-level role of the organization away (if protected)."""
        if not self.protect_last_admin:
            return
        held = state.catalog.role_for_key(held_key)
        if held is None or not is_admin_level(held):
            return
        if after is not None and is_admin_level(after):
            return
        admin_keys = sorted(role.key for role in state.catalog.roles if is_admin_level(role))
        holders = ctx.client.memberships.count_holding(state.organization.id, admin_keys)
        if holders <= 1:
            raise ProvisioningRefused(
                f"user {state.user_id} is the last member of organization "
                f"{state.organization.id} holding an admin-level role ({held_key}); removing "
                "it would leave nobody able to manage its members. Grant another member an "
                "admin role first, or set CONNECTOR_PROTECT_LAST_ADMIN=false"
            )

    # -- applying --------------------------------------------------------------------------------

    def _apply(
        self, ctx: SyncContext, state: _State, change: MembershipChange
    ) -> OrganizationMembership | None:
        """Send the change once; the membership after it (None once deleted)."""
        writes = ctx.client.memberships
        org, user = change.organization_id, change.user_id
        try:
            match change.kind:
                case "none":
                    return state.membership
                case "create":
                    assert change.role_key is not None
                    return writes.create(org, user, change.role_key)
                case "change_role":
                    assert change.role_key is not None
                    return writes.change_role(org, user, change.role_key)
                case "delete":
                    writes.delete(org, user)
                    return None
        except ClerkWriteOutcomeUnknown:
            # The write may or may not have happened: Clerk's state decides, never a retry.
            after = writes.membership(org, user)
            if _reached(change, after):
                log.warning(
                    "provisioning_write_confirmed_by_read_back",
                    organization_id=org,
                    user_id=user,
                    change=change.kind,
                )
                return after
            raise
        except (ClerkRequestError, ClerkNotFoundError) as exc:
            raise _refusal(change, exc) from None
        raise AssertionError(change.kind)  # unreachable: every kind returns


def _reached(change: MembershipChange, after: OrganizationMembership | None) -> bool:
    if change.kind == "delete":
        return after is None
    return after is not None and after.role == change.role_key


def _refusal(change: MembershipChange, exc: ClerkRequestError | ClerkNotFoundError) -> Exception:
    """A write Clerk rejected, as the status the platform should see."""
    if exc.code == MINIMUM_PERMISSIONS:
        return ProvisioningRefused(
            f"Clerk refused {change.describe()}: the organization needs at least one member "
            f"who can manage members (code {exc.code})"
        )
    if exc.code == ALREADY_A_MEMBER or isinstance(exc, ClerkNotFoundError):
        # The membership changed between our read and the write (another writer): the
        # platform's retry reads again and decides afresh.
        return ProvisioningRefused(
            f"the membership changed while {change.describe()} was sent ({exc}); try again"
        )
    if exc.status == 422:
        return ProvisioningRefused(f"Clerk refused {change.describe()}: {exc}")
    return exc


@dataclass
class _State:
    """What Clerk holds for one organization and user, read before deciding."""

    ctx: SyncContext
    organization: Organization
    catalog: RoleCatalog
    user_id: str
    membership: OrganizationMembership | None
    user: User | None = None  # read once a create needs it, reused for the answer

    @classmethod
    def read(cls, ctx: SyncContext, org_id: str, user_id: str) -> _State:
        try:
            organization = ctx.client.get_organization(org_id)
        except ClerkNotFoundError:
            raise ResourceNotFound(f"organization {org_id!r} does not exist in Clerk") from None
        membership = ctx.client.memberships.membership(org_id, user_id)
        return cls(ctx, organization, ctx.catalog(), user_id, membership)

    def require_user(self) -> None:
        try:
            self.user = self.ctx.client.get_user(self.user_id)
        except ClerkNotFoundError:
            raise ResourceNotFound(f"user {self.user_id!r} does not exist in Clerk") from None

    def assignable_role(self, role_id: str) -> Role:
        role = self.catalog.role(role_id)
        if role is None:
            raise ResourceNotFound(f"role {role_id!r} is not a role of this instance")
        allowed = self.catalog.assignable_roles(self.organization.role_set_key)
        if all(candidate.id != role.id for candidate in allowed):
            raise ProvisioningRefused(
                f"role {role.key} ({role.id}) is not in the role set of organization "
                f"{self.organization.id} ({self.organization.role_set_key or 'the initial set'}):"
                " Clerk cannot assign it there"
            )
        return role

    def default_role(self) -> Role:
        role = self.catalog.default_role(self.organization.role_set_key)
        if role is None:
            # Instances without role sets: the instance's setting for new members.
            key = self.ctx.client.organization_settings().domains_default_role
            role = self.catalog.role_for_key(key) if key else None
        if role is None:
            raise ProvisioningRefused(
                f"organization {self.organization.id} has no default role that this connector "
                "can see (no role set names one), so it cannot add a member without a role"
            )
        return role

    def role_grant_id(self, role_key: str) -> str | None:
        role = self.catalog.role_for_key(role_key)
        if role is None:
            return None  # a sync emitted no role grant for an unresolved key
        entitlement_id = ids.entitlement_id(types.ORGANIZATION, self.organization.id, role.id)
        return ids.grant_id(entitlement_id, types.USER, self.user_id)


def _grants_in_force(
    ctx: SyncContext, state: _State, membership: OrganizationMembership | None
) -> list[grant_pb.Grant]:
    """The user's grants on the organization now, as a sync would emit them."""
    if membership is None:
        return []
    members: list[Member] = [member for _, member in compact([membership])]
    try:
        name = display_name(state.user or ctx.client.get_user(state.user_id))
    except ClerkNotFoundError:
        name = None
    access = resolve_access(
        state.organization.id,
        members,
        state.catalog,
        state.organization.role_set_key,
        lambda user_id: name if user_id == state.user_id else None,
    )
    owner = owner_reference(organization_resource(state.organization))
    return build_grants(access.grant_edges, access, owner)


def parse_entitlement(entitlement: entitlement_pb.Entitlement) -> Target:
    """The organization entitlement an id names; INVALID_ARGUMENT for any other."""
    resource = entitlement.resource.id
    if resource.resource_type != types.ORGANIZATION:
        raise BadRequest(
            f"entitlement {entitlement.id!r} is on a {resource.resource_type!r}, not an "
            "organization"
        )
    prefix = ids.entitlement_id(types.ORGANIZATION, resource.resource, "")
    if not entitlement.id.startswith(prefix) or not entitlement.id[len(prefix) :]:
        raise BadRequest(
            f"entitlement id {entitlement.id!r} is not an entitlement of organization "
            f"{resource.resource!r}"
        )
    slug = entitlement.id[len(prefix) :]
    if ":" in slug:
        raise BadRequest(f"entitlement id {entitlement.id!r} names no member or role entitlement")
    return Target(resource.resource, None if slug == types.MEMBER_SLUG else slug)


def principal_user(principal: resource_pb.Resource) -> str:
    if principal.id.resource_type != types.USER:
        raise BadRequest(
            f"principal {principal.id.resource_type}:{principal.id.resource} is not a user: "
            "only users are members of organizations"
        )
    if not principal.id.resource:
        raise BadRequest("principal.id.resource (the user id) is required")
    return principal.id.resource
