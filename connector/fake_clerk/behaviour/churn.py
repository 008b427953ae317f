"""Churn: users, organizations and memberships created and deleted between requests, the way a
live Clerk instance changes while a sync pages through it.

    churn = Churn(fake.dataset, rate=1.0, seed=7)
    fake.hooks = [churn]          # runs before every request the fake receives
    ...                           # the sync under test
    record = churn.stop()
    record.survivors              # existed when churn started and were never deleted
    record.ever                   # existed at some moment while it ran

Each request first applies `rate` mutations on average (the whole part every time, the fraction
with that probability), drawn from one seeded `random.Random`: the same seed and the same request
sequence give the same changes. Deletions really remove rows, so later offsets shift as in a
database, and deleting a user or an organization deletes its memberships, as Clerk does.
Creations are stamped "now", after every existing row (Clerk sets created_at on creation; it
cannot create a row in the past), or with `same_instant` in the newest row's millisecond.

A correct client lists every survivor exactly once and nothing outside `ever`. Picking a row to
delete copies the table's keys, which is fine for the small instances churn tests use.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from connector.fake_clerk.data.records import (
    EmailAddressRecord,
    MembershipRecord,
    OrganizationRecord,
    UserRecord,
)
from connector.fake_clerk.data.store import Dataset

RequestHook = Callable[[str], None]
"""Called with the route name (e.g. `GET /users`) as each request arrives, before anything else."""


class Mutation(StrEnum):
    CREATE_USER = "create_user"
    DELETE_USER = "delete_user"
    CREATE_ORGANIZATION = "create_organization"
    DELETE_ORGANIZATION = "delete_organization"
    CREATE_MEMBERSHIP = "create_membership"
    DELETE_MEMBERSHIP = "delete_membership"


# Organizations change less often than memberships: deleting one also deletes its members.
DEFAULT_MIX: Mapping[Mutation, float] = MappingProxyType(
    {
        Mutation.CREATE_USER: 1.0,
        Mutation.DELETE_USER: 1.0,
        Mutation.CREATE_ORGANIZATION: 0.5,
        Mutation.DELETE_ORGANIZATION: 0.5,
        Mutation.CREATE_MEMBERSHIP: 2.0,
        Mutation.DELETE_MEMBERSHIP: 2.0,
    }
)
RowT = TypeVar("RowT")
_DRAWS = 10  # a mutation that cannot apply (nothing to delete) is redrawn this many times


@dataclass(frozen=True)
class Rows:
    """Users, organizations and memberships by id."""

    users: Mapping[str, UserRecord]
    organizations: Mapping[str, OrganizationRecord]
    memberships: Mapping[str, MembershipRecord]


@dataclass(frozen=True)
class ChurnRecord:
    survivors: Rows  # present when churn started and never deleted: must be listed exactly once
    ever: Rows  # present at some moment while churn ran: nothing else may be listed
    applied: Mapping[Mutation, int]

    def survivor_dataset(self, catalog: Dataset) -> Dataset:
        """The survivors as a dataset, with `catalog`'s roles, permissions, role sets, settings.

        For deriving the ids a sync must return from survivors alone (memberships of survivors
        only ever join survivors: a deletion takes its memberships with it).
        """
        with catalog.lock:
            return Dataset(
                users=self.survivors.users.values(),
                organizations=self.survivors.organizations.values(),
                memberships=self.survivors.memberships.values(),
                permissions=catalog.permissions.values(),
                roles=catalog.roles.values(),
                role_sets=catalog.role_sets.values(),
                settings=catalog.settings,
            )


class Churn:
    """A `RequestHook` that mutates `dataset` before each request (thread-safe)."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        rate: float,
        seed: int = 0,
        mix: Mapping[Mutation, float] = DEFAULT_MIX,
        same_instant: float = 0.0,
    ) -> None:
        if not rate >= 0:
            raise ValueError("rate must be >= 0 mutations per request")
        if any(weight < 0 for weight in mix.values()) or not sum(mix.values()) > 0:
            raise ValueError("mix needs non-negative weights, at least one positive")
        if not 0 <= same_instant <= 1:
            raise ValueError("same_instant is a probability")
        self.dataset = dataset
        self.rate = rate
        self.same_instant = same_instant
        self._kinds = list(mix)
        self._weights = [mix[kind] for kind in self._kinds]
        self._rng = random.Random(seed)
        self._stopped = False
        self._applied: Counter[Mutation] = Counter()
        self._deleted: set[str] = set()
        with dataset.lock:
            self._initial = Rows(
                dict(dataset.users), dict(dataset.organizations), dict(dataset.memberships)
            )
        self._users = dict(self._initial.users)
        self._organizations = dict(self._initial.organizations)
        self._memberships = dict(self._initial.memberships)

    def __call__(self, route: str) -> None:
        with self.dataset.lock:
            if self._stopped:
                return
            whole = int(self.rate)
            count = whole + (self._rng.random() < self.rate - whole)
            for _ in range(count):
                self._mutate_once()

    def stop(self) -> ChurnRecord:
        """No more mutations; returns the final record."""
        with self.dataset.lock:
            self._stopped = True
            return self.record

    @property
    def record(self) -> ChurnRecord:
        with self.dataset.lock:
            initial, deleted = self._initial, self._deleted
            return ChurnRecord(
                survivors=Rows(
                    _without(initial.users, deleted),
                    _without(initial.organizations, deleted),
                    _without(initial.memberships, deleted),
                ),
                ever=Rows(dict(self._users), dict(self._organizations), dict(self._memberships)),
                applied=dict(self._applied),
            )

    # -- mutations (the dataset lock is held) -----------------------------------------------------

    def _mutate_once(self) -> None:
        for _ in range(_DRAWS):
            (kind,) = self._rng.choices(self._kinds, self._weights)
            if self._apply(kind):
                self._applied[kind] += 1
                return

    def _apply(self, kind: Mutation) -> bool:
        data = self.dataset
        if kind is Mutation.CREATE_USER:
            self._create_user()
            return True
        if kind is Mutation.CREATE_ORGANIZATION:
            self._create_organization()
            return True
        if kind is Mutation.CREATE_MEMBERSHIP:
            return self._create_membership()
        if kind is Mutation.DELETE_USER and data.users:
            user_id = self._rng.choice(list(data.users))
            gone = [m.id for m in data.memberships.values() if m.user_id == user_id]
            data.remove_user(user_id)
            self._deleted.update([user_id, *gone])
            return True
        if kind is Mutation.DELETE_ORGANIZATION and data.organizations:
            org_id = self._rng.choice(list(data.organizations))
            gone = [m.id for m in data.organization_view(org_id).rows]
            data.remove_organization(org_id)
            self._deleted.update([org_id, *gone])
            return True
        if kind is Mutation.DELETE_MEMBERSHIP and data.memberships:
            membership_id = self._rng.choice(list(data.memberships))
            data.remove_membership(membership_id)
            self._deleted.add(membership_id)
            return True
        return False

    def _stamp(self) -> int:
        """created_at for a row created now: after every row, or in the newest row's instant."""
        after = self.dataset.next_created_at()
        return after - 1000 if self._rng.random() < self.same_instant else after

    def _create_user(self) -> None:
        data = self.dataset
        user_id = data.new_id("user")
        serial = self._applied[Mutation.CREATE_USER] + 1
        email = EmailAddressRecord(data.new_id("idn"), f"churn.{serial}.{user_id[-6:]}@example.com")
        user = UserRecord(
            id=user_id,
            created_at=self._stamp(),
            first_name="Churn",
            last_name=f"User {serial}",
            email_addresses=(email,),
            primary_email_address_id=email.id,
        )
        self._users[user.id] = data.add_user(user)

    def _create_organization(self) -> None:
        data = self.dataset
        org_id = data.new_id("org")
        serial = self._applied[Mutation.CREATE_ORGANIZATION] + 1
        organization = OrganizationRecord(
            id=org_id,
            name=f"Churn Org {serial}",
            slug=f"churn-{serial}-{org_id[4:].lower()}",
            created_at=self._stamp(),
        )
        self._organizations[org_id] = data.add_organization(organization)

    def _create_membership(self) -> bool:
        data = self.dataset
        if not data.users or not data.organizations:
            return False
        users, organizations = list(data.users), list(data.organizations)
        for _ in range(_DRAWS):
            org_id, user_id = self._rng.choice(organizations), self._rng.choice(users)
            if data.membership(org_id, user_id) is None:
                role = self._role_for(data.organizations[org_id])
                created = data.create_membership(org_id, user_id, role, created_at=self._stamp())
                self._memberships[created.id] = created
                return True
        return False

    def _role_for(self, organization: OrganizationRecord) -> str:
        """A role the organization may assign (its role set, else any role of the instance)."""
        role_set = self.dataset.role_set_of(organization)
        keys = list(role_set.roles) if role_set is not None else list(self.dataset.roles)
        keys = [key for key in keys if key in self.dataset.roles]
        return self._rng.choice(keys) if keys else "org:member"


def _without(rows: Mapping[str, RowT], deleted: set[str]) -> dict[str, RowT]:
    return {key: row for key, row in rows.items() if key not in deleted}
