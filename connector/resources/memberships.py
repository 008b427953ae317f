"""Organization memberships in compact form, read once per sync for the whole instance.

A sync needs every organization's memberships twice (entitlements, then grants). Asking each
organization costs at least one Clerk request per organization; `GET /organization_memberships`
lists every membership of the instance at 500 per request. So within a sync the connector reads
that list once, in the background from the sync's first ListResources call, into a
`MembershipIndex`; without a sync id it reads the one organization it is asked about.

Memory: a membership is kept as one small slotted object whose user id, user label and role
key are interned (one string per distinct value), about 150 bytes per membership.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog

from connector.clerk import ClerkClient, OrganizationMembership
from connector.sync_cache import ScopeClosed

log = structlog.get_logger(__name__)

# How many memberships are read between two checks that the sync is still alive.
_CHECK_EVERY = 500


@dataclass(frozen=True, slots=True)
class Member:
    """The part of a membership that entitlements and grants need."""

    membership_id: str
    user_id: str
    user_label: str
    role_key: str


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
    """Every membership of the instance, grouped by organization."""

    def __init__(self, by_organization: dict[str, list[Member]]) -> None:
        self._by_organization = by_organization

    def members(self, organization_id: str) -> Sequence[Member]:
        return self._by_organization.get(organization_id, ())

    def __len__(self) -> int:
        return sum(len(members) for members in self._by_organization.values())

    @classmethod
    def read(cls, client: ClerkClient, closed: threading.Event) -> MembershipIndex:
        """Read the instance-wide list; raises ScopeClosed as soon as the sync has ended."""
        by_organization: dict[str, list[Member]] = {}
        intern = _Interner()
        for count, (org_id, member) in enumerate(
            compact(client.list_instance_memberships(), intern)
        ):
            if count % _CHECK_EVERY == 0 and closed.is_set():
                raise ScopeClosed("the sync ended while its memberships were being read")
            by_organization.setdefault(org_id, []).append(member)
        index = cls(by_organization)
        log.info(
            "memberships_prefetched",
            memberships=len(index),
            organizations=len(by_organization),
            distinct_strings=len(intern),
        )
        return index


def read_one_organization(client: ClerkClient, organization_id: str) -> list[Member]:
    """The memberships of one organization, read on their own (no sync to share them with)."""
    return [member for _, member in compact(client.list_organization_memberships(organization_id))]
