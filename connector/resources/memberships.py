"""Organization memberships in compact form, read once per sync for the whole instance.

A sync needs every organization's memberships twice (entitlements, then grants). Asking each
organization costs at least one Clerk request per organization; `GET /organization_memberships`
lists every membership of the instance at 500 per request. So within a sync the connector reads
that list once, in the background from the sync's first ListResources call, into a
`MembershipIndex`; without a sync id it reads the one organization it is asked about.

Memory: a membership costs four pointers in its organization's flat tuple plus its own id
string; user ids, user labels and role keys are interned (one string per distinct value).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import NamedTuple

import structlog

from connector.clerk import ClerkClient, OrganizationMembership
from connector.sync_cache import ScopeClosed

log = structlog.get_logger(__name__)

# How many memberships are read between two checks that the sync is still alive.
_CHECK_EVERY = 500


class Member(NamedTuple):
    """The part of a membership that entitlements and grants need."""

    membership_id: str
    user_id: str
    user_label: str
    role_key: str


_FIELDS = len(Member._fields)
_USER_ID = Member._fields.index("user_id")


class _Interner:
    def __init__(self) -> None:
        self._strings: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        return self._strings.setdefault(value, value)

    def __len__(self) -> int:
        return len(self._strings)


def compact(
    memberships: Iterable[OrganizationMembership], intern: _Interner | None = None
) -> Iterable[tuple[str, Member]]:
    """(organization id, Member) for each membership that names its user."""
    intern = intern or _Interner()
    for membership in memberships:
        data = membership.public_user_data
        org_id = intern(membership.organization.id)
        if data is None:
            # The only link to the user is missing: nothing can be granted to anyone.
            log.warning(
                "membership_without_user", organization_id=org_id, membership_id=membership.id
            )
            continue
        label = data.identifier or data.username or data.user_id
        member = Member(membership.id, intern(data.user_id), intern(label), intern(membership.role))
        yield org_id, member


class MembershipIndex:
    """Every membership of the instance, grouped by organization.

    Each organization's members are kept as one flat tuple of strings (membership id, user id,
    user label, role key, then the next member's four). The garbage collector stops tracking a
    tuple that holds only strings, so hundreds of thousands of memberships add nothing to its
    full collections; one object per membership would be scanned by every one of them. `members`
    builds the Member objects of one organization when asked.
    """

    def __init__(self, by_organization: dict[str, tuple[str, ...]]) -> None:
        self._by_organization = by_organization

    def members(self, organization_id: str) -> list[Member]:
        flat = self._by_organization.get(organization_id, ())
        return [Member(*flat[i : i + _FIELDS]) for i in range(0, len(flat), _FIELDS)]

    def __len__(self) -> int:
        return sum(len(flat) for flat in self._by_organization.values()) // _FIELDS

    @classmethod
    def read(cls, client: ClerkClient, closed: threading.Event) -> MembershipIndex:
        """Read the instance-wide list; raises ScopeClosed as soon as the sync has ended."""
        growing: dict[str, list[str]] = {}
        intern = _Interner()
        for count, (org_id, member) in enumerate(
            compact(client.list_instance_memberships(), intern)
        ):
            if count % _CHECK_EVERY == 0 and closed.is_set():
                raise ScopeClosed("the sync ended while its memberships were being read")
            growing.setdefault(org_id, []).extend(member)
        index = cls({org_id: _newest_per_user(flat) for org_id, flat in growing.items()})
        log.info(
            "memberships_prefetched",
            memberships=len(index),
            organizations=len(growing),
            distinct_strings=len(intern),
        )
        return index


def read_one_organization(client: ClerkClient, organization_id: str) -> list[Member]:
    """The memberships of one organization, read on their own (no sync to share them with)."""
    flat = [
        field
        for _, member in compact(client.list_organization_memberships(organization_id))
        for field in member
    ]
    return MembershipIndex({organization_id: _newest_per_user(flat)}).members(organization_id)


def _newest_per_user(flat: list[str]) -> tuple[str, ...]:
    """One membership per user, the last one listed (the newest: lists are oldest first).

    A user removed and added again while the list was read shows up twice; both would emit
    the same grant ids. Only the later one still exists.
    """
    if len(set(flat[_USER_ID::_FIELDS])) * _FIELDS == len(flat):
        return tuple(flat)  # the usual case: nobody listed twice
    kept: list[list[str]] = []
    users: set[str] = set()
    for start in range(len(flat) - _FIELDS, -1, -_FIELDS):
        member = flat[start : start + _FIELDS]
        if member[_USER_ID] not in users:
            users.add(member[_USER_ID])
            kept.append(member)
    return tuple(field for member in reversed(kept) for field in member)
