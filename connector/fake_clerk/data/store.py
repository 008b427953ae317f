"""`Dataset`: one fake Clerk instance, its indexes, sorted views and mutation helpers.

The server reads and tests mutate the same object from different threads, so every public method
takes `lock` (re-entrant: hold it yourself to make several calls one consistent step). Sorted
views are built on first use and dropped by any mutation, so a page costs a list slice, not a sort.
"""

from __future__ import annotations

import bisect
import operator
import random
import string
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from connector.fake_clerk.data.ordering import ORDERINGS
from connector.fake_clerk.data.records import (
    TIMESTAMP_MAX_MS,
    MembershipRecord,
    OrganizationRecord,
    OrganizationSettingsRecord,
    PermissionRecord,
    RoleRecord,
    RoleSetRecord,
    UserRecord,
)

Collection = Literal["users", "organizations", "memberships", "roles", "permissions", "role_sets"]

_ID_ALPHABET = string.ascii_letters + string.digits
_CREATED_AT_KEY = operator.attrgetter("created_at", "id")


@dataclass(frozen=True, slots=True)
class SortedView:
    """Rows of one collection in ascending order of one field (descending is the reverse)."""

    rows: Sequence[Any]
    order_field: str = "created_at"

    def __len__(self) -> int:
        return len(self.rows)

    def start_after(self, key: tuple[int, str], *, descending: bool) -> int:
        """Listing position of the first row that follows the (created_at, id) `key`.

        Only for created_at views. The key need not belong to a current row: a deleted row's key
        still marks a place.
        """
        if self.order_field != "created_at":
            raise ValueError("a cursor needs a created_at view")
        if descending:
            return len(self.rows) - bisect.bisect_left(self.rows, key, key=_CREATED_AT_KEY)
        return bisect.bisect_right(self.rows, key, key=_CREATED_AT_KEY)

    def page(self, start: int, limit: int, *, descending: bool) -> list[Any]:
        """`limit` rows from listing position `start`; the listing is reversed when descending."""
        if not descending:
            return list(self.rows[start : start + limit])
        end = len(self.rows) - start  # position p of the listing is rows[len - 1 - p]
        return list(self.rows[max(0, end - limit) : max(0, end)])[::-1]


class Dataset:
    """A Clerk instance: users, organizations, memberships, roles, permissions, role sets."""

    def __init__(
        self,
        *,
        users: Iterable[UserRecord] = (),
        organizations: Iterable[OrganizationRecord] = (),
        memberships: Iterable[MembershipRecord] = (),
        permissions: Iterable[PermissionRecord] = (),
        roles: Iterable[RoleRecord] = (),
        role_sets: Iterable[RoleSetRecord] = (),
        settings: OrganizationSettingsRecord | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.settings = settings if settings is not None else OrganizationSettingsRecord()
        self._users: dict[str, UserRecord] = {}
        self._organizations: dict[str, OrganizationRecord] = {}
        self._org_by_slug: dict[str, str] = {}
        self._memberships: dict[str, MembershipRecord] = {}
        # organization id -> user id -> membership id: keeps (org, user) unique, counts members.
        self._members: dict[str, dict[str, str]] = {}
        self._permissions: dict[str, PermissionRecord] = {}  # by key
        self._roles: dict[str, RoleRecord] = {}  # by key
        self._role_sets: dict[str, RoleSetRecord] = {}  # by key
        # Cursor keys of deleted users, so `starting_after=<deleted user>` still resumes.
        self._tombstones: dict[str, tuple[int, str]] = {}
        self._views: dict[tuple[str, str], SortedView] = {}
        self._org_views: dict[tuple[str, str], SortedView] = {}
        self._latest = 0
        self._last_stamp = 0
        self._ids = random.Random(0x5EED)
        for permission in permissions:
            self._put_unique(self._permissions, permission.key, permission, "permission key")
        for role in roles:
            self._check_permissions(role)
            self._put_unique(self._roles, role.key, role, "role key")
        for role_set in role_sets:
            self._put_unique(self._role_sets, role_set.key, role_set, "role set key")
        for user in users:
            self._add_user(user)
        for organization in organizations:
            self._add_organization(organization)
        for membership in memberships:
            self._add_membership(membership)
        for stamp in [p.created_at for p in self._permissions.values()] + [
            r.created_at for r in self._roles.values()
        ]:
            self._saw(stamp)

    def __repr__(self) -> str:
        return (
            f"Dataset(users={len(self._users)}, organizations={len(self._organizations)}, "
            f"memberships={len(self._memberships)}, roles={len(self._roles)}, "
            f"permissions={len(self._permissions)}, role_sets={len(self._role_sets)})"
        )

    # -- read access ---------------------------------------------------------------------------

    @property
    def users(self) -> Mapping[str, UserRecord]:
        """Users by id (a read-only live view: copy it before iterating while others mutate)."""
        return MappingProxyType(self._users)

    @property
    def organizations(self) -> Mapping[str, OrganizationRecord]:
        return MappingProxyType(self._organizations)

    @property
    def memberships(self) -> Mapping[str, MembershipRecord]:
        return MappingProxyType(self._memberships)

    @property
    def permissions(self) -> Mapping[str, PermissionRecord]:
        """Permissions by key."""
        return MappingProxyType(self._permissions)

    @property
    def roles(self) -> Mapping[str, RoleRecord]:
        """Roles by key (keys are what memberships and role sets refer to)."""
        return MappingProxyType(self._roles)

    @property
    def role_sets(self) -> Mapping[str, RoleSetRecord]:
        """Role sets by key."""
        return MappingProxyType(self._role_sets)

    def user(self, user_id: str) -> UserRecord | None:
        return self._users.get(user_id)

    def organization(self, id_or_slug: str) -> OrganizationRecord | None:
        """The organization with this id or, failing that, this slug (as Clerk looks it up)."""
        with self.lock:
            found = self._organizations.get(id_or_slug)
            if found is None and id_or_slug in self._org_by_slug:
                found = self._organizations[self._org_by_slug[id_or_slug]]
            return found

    def membership(self, organization_id: str, user_id: str) -> MembershipRecord | None:
        with self.lock:
            membership_id = self._members.get(organization_id, {}).get(user_id)
            return None if membership_id is None else self._memberships[membership_id]

    def members_count(self, organization_id: str) -> int:
        return len(self._members.get(organization_id, ()))

    def role_set_of(self, organization: OrganizationRecord) -> RoleSetRecord | None:
        """The organization's role set: its own key, or the instance's initial set when None."""
        key = organization.role_set_key or self.settings.initial_role_set_key
        return None if key is None else self._role_sets.get(key)

    def user_cursor_key(self, user_id: str) -> tuple[int, str] | None:
        """(created_at, id) of a current or deleted user, for `starting_after`; None if unknown."""
        with self.lock:
            user = self._users.get(user_id)
            if user is not None:
                return (user.created_at, user.id)
            return self._tombstones.get(user_id)

    def view(self, collection: Collection, order_field: str = "created_at") -> SortedView:
        """Every row of `collection` in ascending `order_field` order (KeyError: unknown field)."""
        with self.lock:
            cached = self._views.get((collection, order_field))
            if cached is None:
                cached = self._build_view(self._rows(collection), collection, order_field)
                self._views[(collection, order_field)] = cached
            return cached

    def organization_view(
        self, organization_id: str, order_field: str = "created_at"
    ) -> SortedView:
        """The memberships of one organization, in ascending `order_field` order."""
        with self.lock:
            cached = self._org_views.get((organization_id, order_field))
            if cached is None:
                ids = self._members.get(organization_id, {}).values()
                rows = [self._memberships[membership_id] for membership_id in ids]
                cached = self._build_view(rows, "memberships", order_field)
                self._org_views[(organization_id, order_field)] = cached
            return cached

    # -- mutation helpers (for churn tests) ------------------------------------------------------

    def next_created_at(self) -> int:
        """A timestamp one second after the newest row: what a row created "now" would get.

        Rows stamped past protobuf's range (year 9999) are not "now" and do not count.
        """
        with self.lock:
            return self._latest + 1000

    def stamp(self) -> int:
        """The time of a write: the wall clock in milliseconds, but always after every row's
        `created_at` (within protobuf's range) and every earlier stamp, so each write is newer."""
        with self.lock:
            now = time.time_ns() // 1_000_000
            self._last_stamp = max(now, self._latest + 1, self._last_stamp + 1)
            return self._last_stamp

    def new_id(self, prefix: str) -> str:
        """A fresh id such as `user_…`, unused in this dataset."""
        with self.lock:
            while True:
                candidate = f"{prefix}_{''.join(self._ids.choices(_ID_ALPHABET, k=27))}"
                if not any(
                    candidate in table
                    for table in (
                        self._users,
                        self._organizations,
                        self._memberships,
                        self._tombstones,
                    )
                ):
                    return candidate

    def add_user(self, user: UserRecord) -> UserRecord:
        with self.lock:
            self._add_user(user)
            self._changed()
            return user

    def replace_user(self, user: UserRecord) -> UserRecord:
        """Swap in a changed copy of an existing user (same id); returns the old one."""
        with self.lock:
            old = self._users[user.id]
            self._users[user.id] = user
            self._saw(user.created_at)
            self._changed()
            return old

    def remove_user(self, user_id: str) -> UserRecord:
        """Delete a user and, as Clerk does, every membership of that user."""
        with self.lock:
            user = self._users.pop(user_id)
            self._tombstones[user_id] = (user.created_at, user.id)
            for membership in [m for m in self._memberships.values() if m.user_id == user_id]:
                self._drop_membership(membership)
            self._changed()
            return user

    def add_organization(self, organization: OrganizationRecord) -> OrganizationRecord:
        with self.lock:
            self._add_organization(organization)
            self._changed()
            return organization

    def replace_organization(self, organization: OrganizationRecord) -> OrganizationRecord:
        """Swap in a changed copy of an existing organization (same id); returns the old one."""
        with self.lock:
            old = self._organizations[organization.id]
            if organization.slug != old.slug:
                self._check_slug(organization)
                del self._org_by_slug[old.slug]
                self._org_by_slug[organization.slug] = organization.id
            self._organizations[organization.id] = organization
            self._saw(organization.created_at)
            self._changed()
            return old

    def remove_organization(self, organization_id: str) -> OrganizationRecord:
        """Delete an organization and every membership in it."""
        with self.lock:
            organization = self._organizations.pop(organization_id)
            del self._org_by_slug[organization.slug]
            for membership_id in list(self._members.pop(organization_id, {}).values()):
                del self._memberships[membership_id]
            self._changed()
            return organization

    def add_membership(self, membership: MembershipRecord) -> MembershipRecord:
        with self.lock:
            self._add_membership(membership)
            self._changed()
            return membership

    def create_membership(
        self, organization_id: str, user_id: str, role: str, *, created_at: int | None = None
    ) -> MembershipRecord:
        """Add a membership with a fresh id, created "now" unless `created_at` is given."""
        with self.lock:
            membership = MembershipRecord(
                id=self.new_id("orgmem"),
                organization_id=organization_id,
                user_id=user_id,
                role=role,
                created_at=self.next_created_at() if created_at is None else created_at,
            )
            return self.add_membership(membership)

    def change_role(
        self, membership_id: str, role: str, *, updated_at: int | None = None
    ) -> MembershipRecord:
        """Give a membership another role key (any key, even one no role has).

        Later reads render the new role's name and permissions (any stale copy is dropped).
        """
        with self.lock:
            old = self._memberships[membership_id]
            stamp = self.next_created_at() if updated_at is None else updated_at
            new = replace(
                old, role=role, updated_at=stamp, stale_role_name=None, stale_permissions=None
            )
            self._memberships[membership_id] = new
            self._changed()
            return new

    def rename_role(
        self,
        key: str,
        *,
        new_key: str | None = None,
        name: str | None = None,
        permissions: tuple[str, ...] | None = None,
    ) -> RoleRecord:
        """Update a role as `PATCH /organization_roles/{id}` would (key, name, permissions).

        The role keeps its id; memberships, role sets and settings that held the old key now
        hold the new one, so every later read shows the new key and name. Returns the new role.
        """
        with self.lock:
            old = self._roles[key]
            target = key if new_key is None else new_key
            if target != key and target in self._roles:
                raise ValueError(f"duplicate role key: {target!r}")
            role = replace(
                old,
                key=target,
                name=old.name if name is None else name,
                permissions=old.permissions if permissions is None else permissions,
                updated_at=self.next_created_at(),
            )
            self._check_permissions(role)
            del self._roles[key]
            self._roles[target] = role
            if target != key:
                self._rekey_role(key, target)
            self._changed()
            return role

    def _rekey_role(self, old: str, new: str) -> None:
        def swap(value: str | None) -> str | None:
            return new if value == old else value

        for membership in [m for m in self._memberships.values() if m.role == old]:
            self._memberships[membership.id] = replace(membership, role=new)
        for role_set in list(self._role_sets.values()):
            if old in role_set.roles or old in (role_set.default_role, role_set.creator_role):
                self._role_sets[role_set.key] = replace(
                    role_set,
                    roles=tuple(new if k == old else k for k in role_set.roles),
                    default_role=swap(role_set.default_role),
                    creator_role=swap(role_set.creator_role),
                )
        settings = self.settings
        self.settings = replace(
            settings,
            creator_role=swap(settings.creator_role) or settings.creator_role,
            domains_default_role=swap(settings.domains_default_role)
            or settings.domains_default_role,
        )

    def remove_membership(self, membership_id: str) -> MembershipRecord:
        with self.lock:
            membership = self._memberships[membership_id]
            self._drop_membership(membership)
            self._changed()
            return membership

    # -- internals ---------------------------------------------------------------------------

    def _rows(self, collection: Collection) -> Iterable[Any]:
        sources: dict[str, Mapping[str, Any]] = {
            "users": self._users,
            "organizations": self._organizations,
            "memberships": self._memberships,
            "roles": self._roles,
            "permissions": self._permissions,
            "role_sets": self._role_sets,
        }
        return sources[collection].values()

    def _build_view(self, rows: Iterable[Any], collection: str, order_field: str) -> SortedView:
        if order_field == "created_at":
            # The common case, sorted by a C-level key: re-sorting 300k rows after a mutation
            # stays cheap.
            ordered = sorted(rows, key=_CREATED_AT_KEY)
        else:
            key = ORDERINGS[collection][order_field]
            ordered = sorted(rows, key=lambda row: key(self, row))
        return SortedView(ordered, order_field)

    def _changed(self) -> None:
        self._views.clear()
        self._org_views.clear()

    @staticmethod
    def _put_unique(target: dict[str, Any], key: str, value: Any, what: str) -> None:
        if key in target:
            raise ValueError(f"duplicate {what}: {key!r}")
        target[key] = value

    def _check_permissions(self, role: RoleRecord) -> None:
        missing = [key for key in role.permissions if key not in self._permissions]
        if missing:
            raise ValueError(f"role {role.key!r} names unknown permissions {missing}")

    def _check_slug(self, organization: OrganizationRecord) -> None:
        if organization.slug in self._org_by_slug:
            raise ValueError(f"duplicate organization slug: {organization.slug!r}")

    def _add_user(self, user: UserRecord) -> None:
        self._put_unique(self._users, user.id, user, "user id")
        self._tombstones.pop(user.id, None)
        self._saw(user.created_at)

    def _add_organization(self, organization: OrganizationRecord) -> None:
        self._check_slug(organization)
        self._put_unique(self._organizations, organization.id, organization, "organization id")
        self._org_by_slug[organization.slug] = organization.id
        self._saw(organization.created_at)

    def _add_membership(self, membership: MembershipRecord) -> None:
        org_id, user_id = membership.organization_id, membership.user_id
        if org_id not in self._organizations:
            raise ValueError(f"membership {membership.id}: unknown organization {org_id!r}")
        if user_id not in self._users:
            raise ValueError(f"membership {membership.id}: unknown user {user_id!r}")
        members = self._members.setdefault(org_id, {})
        if user_id in members:
            raise ValueError(f"user {user_id!r} is already a member of {org_id!r}")
        self._put_unique(self._memberships, membership.id, membership, "membership id")
        members[user_id] = membership.id
        self._saw(membership.created_at)

    def _saw(self, created_at: int) -> None:
        if self._latest < created_at <= TIMESTAMP_MAX_MS:
            self._latest = created_at

    def _drop_membership(self, membership: MembershipRecord) -> None:
        del self._memberships[membership.id]
        del self._members[membership.organization_id][membership.user_id]
