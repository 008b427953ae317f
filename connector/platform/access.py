"""Who has access to what, read back from a sync: users, organizations, roles, memberships.

Everything comes from what the connector emitted, never from Clerk directly:
- a user's status, MFA, SSO and last sign-in from the `UserTrait` on user resources;
- what a role allows from the grants `organization_permission:{perm}:granted` to
  `organization_role:{role}` principals (and the key list in the role's `RoleTrait` profile);
- a membership from the member grant `organization:{org}:member:user:{user}` and its
  `GrantMetadata` (membership id, role key, role id when resolved, the permissions of an
  unresolved key, `permissions_beyond_role`), its role from the role grant on the same org.

Admin-level (the rule the findings use): a permission is admin-level when it is a Clerk system
permission (key `org:sys_…`) whose action changes something, i.e. any action but `read`:
`org:sys_memberships:manage`, `org:sys_profile:manage`, `org:sys_profile:delete`,
`org:sys_domains:manage`, `org:sys_billing:manage`, … A role is admin-level when it carries
one. A membership is admin-level when its role is, or, for a role key that resolved to no
role, when the permissions the membership lists include one (the only evidence there is).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from google.protobuf import any_pb2, struct_pb2, timestamp_pb2

from connector.c1.protocol import grant_annotations, resource_pb, traits, unpack_all
from connector.platform import schema
from connector.platform.syncer import SyncResult

SYSTEM_PREFIX = "org:sys_"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_admin_permission(key: str) -> bool:
    """A system permission that changes the organization (any action but `read`)."""
    return key.startswith(SYSTEM_PREFIX) and key.rsplit(":", 1)[-1] != "read"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    enabled: bool
    status: str  # "enabled", or the reasons a user is disabled ("banned", "locked (…)", …)
    mfa: bool
    sso: bool
    last_sign_in: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    slug: str


@dataclass(frozen=True)
class Role:
    id: str
    key: str
    name: str
    permissions: tuple[str, ...]

    @cached_property
    def admin_permissions(self) -> tuple[str, ...]:
        return tuple(key for key in self.permissions if is_admin_permission(key))

    @property
    def admin_level(self) -> bool:
        return bool(self.admin_permissions)

    @property
    def label(self) -> str:
        return self.name or self.key or self.id


@dataclass(slots=True)
class Membership:
    organization_id: str
    user_id: str
    membership_id: str
    role_key: str
    role: Role | None  # None: the key resolved to no role
    listed_permissions: tuple[str, ...] = ()  # what an unresolved key's membership lists
    beyond_role: tuple[str, ...] = ()  # what a resolved membership lists beyond its role
    admin_permissions: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.role is not None:
            self.admin_permissions = self.role.admin_permissions
        else:
            listed = self.listed_permissions
            self.admin_permissions = tuple(key for key in listed if is_admin_permission(key))

    @property
    def admin_level(self) -> bool:
        return bool(self.admin_permissions)

    @property
    def role_label(self) -> str:
        if self.role is not None:
            return self.role.label
        return f"{self.role_key} (matches no role)" if self.role_key else "(no role)"

    @property
    def permissions(self) -> tuple[str, ...]:
        """What the membership allows, as far as the sync shows."""
        if self.role is not None:
            return self.role.permissions
        return self.listed_permissions


@dataclass
class Access:
    users: dict[str, User] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    memberships: list[Membership] = field(default_factory=list)

    def user(self, user_id: str) -> User:
        return self.users.get(user_id) or _unknown_user(user_id)

    def organization(self, org_id: str) -> Organization:
        return self.organizations.get(org_id) or Organization(org_id, org_id, "")

    def by_organization(self) -> dict[str, list[Membership]]:
        grouped: dict[str, list[Membership]] = {org_id: [] for org_id in self.organizations}
        for item in self.memberships:
            grouped.setdefault(item.organization_id, []).append(item)
        return grouped

    def by_user(self) -> dict[str, list[Membership]]:
        grouped: dict[str, list[Membership]] = {user_id: [] for user_id in self.users}
        for item in self.memberships:
            grouped.setdefault(item.user_id, []).append(item)
        return grouped

    def holders(self) -> dict[str, int]:
        """Role id -> memberships holding it."""
        counts: dict[str, int] = defaultdict(int)
        for item in self.memberships:
            if item.role is not None:
                counts[item.role.id] += 1
        return dict(counts)


def read_access(result: SyncResult) -> Access:
    """The access a sync shows, joined by id."""
    access = Access()
    permission_keys: dict[str, str] = {}  # permission resource id -> permission key
    role_profiles: dict[str, tuple[str, tuple[str, ...], str]] = {}  # id -> key, perms, name
    for res in result.resources:
        kind, rid = res.id.resource_type, res.id.resource
        if kind == schema.USER:
            access.users[rid] = _user(res)
        elif kind == schema.ORGANIZATION:
            access.organizations[rid] = _organization(res)
        elif kind == schema.ORGANIZATION_PERMISSION:
            permission_keys[rid] = _text(res.profile, "key") or res.display_name or rid
        elif kind == schema.ORGANIZATION_ROLE:
            role_profiles[rid] = _role_profile(res)

    carried: dict[str, set[str]] = defaultdict(set)  # role id -> permission keys
    member_grants = []  # (org id, user id, grant)
    role_of: dict[tuple[str, str], tuple[str, str]] = {}  # (org, user) -> role id, role name
    for item in result.grants:  # the largest list: each protobuf field is read once
        ent = item.entitlement
        owner = ent.resource.id
        owner_type, owner_id = owner.resource_type, owner.resource
        who = item.principal.id
        who_type, who_id = who.resource_type, who.resource
        if owner_type == schema.ORGANIZATION and who_type == schema.USER:
            # By id, not slug: `organization:{org}:member` or `organization:{org}:{role_id}`
            # (a role entitlement's slug is the role key, which can be renamed).
            role_id = ent.id.removeprefix(f"{schema.ORGANIZATION}:{owner_id}:")
            if role_id == schema.MEMBER_SLUG:
                member_grants.append((owner_id, who_id, item))
            else:
                # Named "{organization} {role}": the role's own name is what is left.
                name = ent.display_name.removeprefix(f"{ent.resource.display_name} ")
                role_of[(owner_id, who_id)] = (role_id, name)
        elif owner_type == schema.ORGANIZATION_PERMISSION and who_type == schema.ORGANIZATION_ROLE:
            carried[who_id].add(permission_keys.get(owner_id, owner_id))

    for role_id in {*role_profiles, *carried}:
        key, listed, name = role_profiles.get(role_id, ("", (), ""))
        keys = sorted({*listed, *carried.get(role_id, set())})
        access.roles[role_id] = Role(role_id, key, name, tuple(keys))

    for org_id, user_id, item in member_grants:
        facts = _metadata(item.annotations)
        role_id = _text(facts, "role_id") or role_of.get((org_id, user_id), ("", ""))[0]
        role = None
        if role_id:
            role = access.roles.get(role_id) or Role(
                role_id, _text(facts, "role_key"), role_of.get((org_id, user_id), ("", ""))[1], ()
            )
        access.memberships.append(
            Membership(
                organization_id=org_id,
                user_id=user_id,
                membership_id=_text(facts, "membership_id"),
                role_key=_text(facts, "role_key") or (role.key if role is not None else ""),
                role=role,
                listed_permissions=_texts(facts, "permissions") if role is None else (),
                beyond_role=_texts(facts, "permissions_beyond_role"),
            )
        )
    return access


def _user(res: resource_pb.Resource) -> User:
    found = unpack_all(res.annotations, traits.UserTrait)
    trait = found[0] if found else traits.UserTrait()
    enabled = (
        trait.status.status != traits.UserTrait.Status.STATUS_DISABLED
        and res.status.status != resource_pb.Resource.Status.STATUS_DISABLED
    )
    details = trait.status.details or res.status.details
    primary = next((e.address for e in trait.emails if e.is_primary), "")
    return User(
        id=res.id.resource,
        name=res.display_name or res.id.resource,
        email=primary or trait.login,
        enabled=enabled,
        status="enabled" if enabled else (details or "disabled"),
        mfa=trait.mfa_status.mfa_enabled,
        sso=trait.sso_status.sso_enabled,
        last_sign_in=_time(trait.last_login) if trait.HasField("last_login") else None,
        created_at=_time(trait.created_at) if trait.HasField("created_at") else None,
    )


def _unknown_user(user_id: str) -> User:
    """A principal the sync named but did not list (never from a complete sync)."""
    return User(user_id, user_id, "", True, "not listed", False, False, None, None)


def _time(stamp: timestamp_pb2.Timestamp) -> datetime:
    # Arithmetic, not fromtimestamp: the whole Timestamp range (years 1-9999) stays valid.
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


def _organization(res: resource_pb.Resource) -> Organization:
    found = unpack_all(res.annotations, traits.GroupTrait)
    slug = _text(found[0].profile, "slug") if found else ""
    return Organization(res.id.resource, res.display_name or res.id.resource, slug)


def _role_profile(res: resource_pb.Resource) -> tuple[str, tuple[str, ...], str]:
    found = unpack_all(res.annotations, traits.RoleTrait)
    profile = found[0].profile if found else struct_pb2.Struct()
    return _text(profile, "key"), _texts(profile, "permissions"), res.display_name


def _metadata(annotations: Iterable[any_pb2.Any]) -> struct_pb2.Struct:
    found = unpack_all(annotations, grant_annotations.GrantMetadata)
    return found[0].metadata if found else struct_pb2.Struct()


def _text(values: struct_pb2.Struct, key: str) -> str:
    value = values.fields.get(key)
    return value.string_value if value is not None else ""


def _texts(values: struct_pb2.Struct, key: str) -> tuple[str, ...]:
    value = values.fields.get(key)
    if value is None:
        return ()
    return tuple(item.string_value for item in value.list_value.values)
