"""Organization memberships in compact form, read once per sync for the whole instance.

A sync needs every organization's memberships twice (entitlements, then grants). Asking each
organization costs at least one Clerk request per organization; `GET /organization_memberships`
lists every membership of the instance at 500 per request. So within a sync the connector reads
that list once, in the background from the sync's first ListResources call, into a
`MembershipIndex`; without a sync id it reads the one organization it is asked about.

The index also keeps what tells an organization's memberships apart from complete: the
memberships that name no user (nothing can be granted from them), whether the instance-wide
read stopped early (deep offsets may time out: the spec warns that large offsets get slower),
and how much the list's total moved while it was read (churn). `needs_reread` turns that into
a per-organization decision (see organizations.py).

Memory: a membership costs four pointers in its organization's flat tuple plus its own id
string; user ids, user labels and role keys are interned (one string per distinct value).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import NamedTuple

import structlog

from connector.c1.sync_cache import ScopeClosed
from connector.clerk import ClerkClient, ClerkUnavailableError, OrganizationMembership
from connector.clerk.paging import EvidenceObserver, ignore_evidence

log = structlog.get_logger(__name__)


class Member(NamedTuple):
    """The part of a membership that entitlements and grants need."""

    membership_id: str
    user_id: str
    user_label: str
    role_key: str
    role_name: str  # "" when Clerk sent none
    permissions: str  # the membership's permission keys, space-separated

    def permission_keys(self) -> list[str]:
        return self.permissions.split()


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
    memberships: Iterable[OrganizationMembership],
    intern: _Interner | None = None,
    userless: dict[str, list[str]] | None = None,
) -> Iterable[tuple[str, Member]]:
    """(organization id, Member) for each membership that names its user; the others are
    noted in `userless` (organization id -> membership ids)."""
    intern = intern or _Interner()
    for membership in memberships:
        data = membership.public_user_data
        org_id = intern(membership.organization.id)
        if data is None:
            # The only link to the user is missing: nothing can be granted to anyone.
            log.warning(
                "membership_without_user", organization_id=org_id, membership_id=membership.id
            )
            if userless is not None:
                userless.setdefault(org_id, []).append(membership.id)
            continue
        full_name = " ".join(part for part in (data.first_name, data.last_name) if part)
        label = full_name or data.username or data.identifier or data.user_id
        member = Member(
            membership.id,
            intern(data.user_id),
            intern(label),
            intern(membership.role),
            intern(membership.role_name or ""),
            intern(" ".join(membership.permissions)),
        )
        yield org_id, member


class MembershipIndex:
    """Every membership of the instance, grouped by organization.

    Each organization's members are kept as one flat tuple of strings (membership id, user id,
    user label, role key, then the next member's four). The garbage collector stops tracking a
    tuple that holds only strings, so hundreds of thousands of memberships add nothing to its
    full collections; one object per membership would be scanned by every one of them. `members`
    builds the Member objects of one organization when asked.
    """

    def __init__(
        self,
        by_organization: dict[str, tuple[str, ...]],
        *,
        userless: dict[str, list[str]] | None = None,
        partial: bool = False,
        churn: int = 0,
    ) -> None:
        self._by_organization = by_organization
        self.userless = userless or {}  # organization id -> memberships without a user
        self.partial = partial  # the instance-wide read stopped before the end
        self.churn = churn  # how much the list's total moved while it was read

    def members(self, organization_id: str) -> list[Member]:
        flat = self._by_organization.get(organization_id, ())
        return [Member(*flat[i : i + _FIELDS]) for i in range(0, len(flat), _FIELDS)]

    def count(self, organization_id: str) -> int:
        return len(self._by_organization.get(organization_id, ())) // _FIELDS

    def __len__(self) -> int:
        return sum(len(flat) for flat in self._by_organization.values()) // _FIELDS

    def needs_reread(self, organization_id: str, members_count: int | None) -> str | None:
        """Why this organization's memberships must be read on their own, or None.

        `members_count` is Clerk's count for the organization (from the organizations list);
        None when it is unknown. A difference up to the churn the instance-wide read saw is
        the list moving, not rows lost.
        """
        if organization_id in self.userless:
            return "a membership without a user"
        held = self.count(organization_id)
        if self.partial and held != members_count:
            return "the instance-wide list was not read to the end"
        if members_count is not None and abs(held - members_count) > self.churn:
            return f"{held} memberships read, members_count {members_count}"
        return None

    @classmethod
    def read(
        cls,
        client: ClerkClient,
        closed: threading.Event,
        on_evidence: EvidenceObserver = ignore_evidence,
    ) -> MembershipIndex:
        """Read the instance-wide list; raises ScopeClosed as soon as the sync has ended.

        A read that Clerk stops answering after its first page (deep offsets time out or
        answer 5xx) keeps what it read and is marked partial: organizations whose count
        disagrees are then read on their own, within the same request budget.
        """
        growing: dict[str, list[str]] = {}
        userless: dict[str, list[str]] = {}
        intern = _Interner()
        listing = client.instance_memberships_listing(on_evidence)
        partial = False
        count = 0
        try:
            for batch in listing:
                for org_id, member in compact(batch, intern, userless):
                    growing.setdefault(org_id, []).extend(member)
                count += len(batch)
                if closed.is_set():
                    raise ScopeClosed("the sync ended while its memberships were being read")
        except ClerkUnavailableError as exc:
            if count == 0:
                raise  # Clerk is down, not only slow at depth
            partial = True
            log.warning(
                "memberships_read_stopped",
                read=count,
                error=str(exc),
                effect="organizations whose members_count disagrees are read on their own",
            )
        finally:
            listing.close()
        index = cls(
            {org_id: _newest_per_user(flat) for org_id, flat in growing.items()},
            userless=userless,
            partial=partial,
            churn=listing.totals.churn,
        )
        log.info(
            "memberships_prefetched",
            memberships=len(index),
            organizations=len(growing),
            distinct_strings=len(intern),
            partial=partial,
        )
        return index


def read_one_organization(client: ClerkClient, organization_id: str) -> MembershipIndex:
    """The memberships of one organization, read on their own (no sync to share them with, or
    the instance-wide read left it in doubt)."""
    userless: dict[str, list[str]] = {}
    listing = client.organization_memberships_listing(organization_id)
    flat = [
        field
        for batch in listing
        for _, member in compact(batch, userless=userless)
        for field in member
    ]
    return MembershipIndex(
        {organization_id: _newest_per_user(flat)},
        userless=userless,
        churn=listing.totals.churn,
    )


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
