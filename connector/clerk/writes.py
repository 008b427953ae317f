"""Organization-membership writes: create, change role, delete, and the read-back they rest on.

Each write is sent once (`ClerkHttp.write`), after waiting on two budgets: the instance's
shared request budget (inside the transport, like every read) and a per-object write budget,
because Clerk limits writes to one object to a few per window (docs: 10 per 10 s). The
object of a membership write is the organization: every write changes its members list.

`membership(org, user)` reads the one membership of a user in an organization through the
list's `user_id` filter; a provisioning call reads it before deciding what to write and again
when a write's outcome is unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from connector.clerk.models import OffsetPage, OrganizationMembership
from connector.clerk.ratelimit import RequestBudget
from connector.clerk.transport import ClerkHttp, ParamValue

MEMBERSHIPS_ROUTE = "/organizations/{organization_id}/memberships"
MEMBERSHIP_ROUTE = "/organizations/{organization_id}/memberships/{user_id}"
# Clerk's documented per-object write limit.
WRITES_PER_OBJECT = 10
WRITE_WINDOW_SECONDS = 10.0

# Parse a successful body (and the route, for errors); raise ClerkResponseError on a bad one.
MembershipParser = Callable[[bytes, str], OrganizationMembership]
MembershipPageParser = Callable[[bytes, str], OffsetPage[OrganizationMembership]]


class ObjectWriteBudget:
    """A `RequestBudget` per written object, created on first use."""

    def __init__(
        self,
        writes: int = WRITES_PER_OBJECT,
        per_seconds: float = WRITE_WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._writes = writes
        self._per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, RequestBudget] = {}
        self._lock = threading.Lock()

    def acquire(self, obj: str) -> float:
        """Block until `obj` may be written again; the seconds waited."""
        with self._lock:
            budget = self._budgets.get(obj)
            if budget is None:
                budget = RequestBudget(
                    self._writes, self._per_seconds, clock=self._clock, sleep=self._sleep
                )
                self._budgets[obj] = budget
        return budget.acquire()


class MembershipWrites:
    """The membership write endpoints of one Clerk instance, and the read-back."""

    def __init__(
        self,
        http: ClerkHttp,
        parse_membership: MembershipParser,
        parse_page: MembershipPageParser,
        segment: Callable[[str], str],
        object_budget: ObjectWriteBudget | None = None,
    ) -> None:
        self._http = http
        self._parse = parse_membership
        self._parse_page = parse_page
        self._segment = segment
        self.object_budget = object_budget or ObjectWriteBudget()

    def membership(self, organization_id: str, user_id: str) -> OrganizationMembership | None:
        """The user's membership of the organization, or None (404 if the organization is gone)."""
        params: dict[str, ParamValue] = {"user_id": [user_id], "limit": 10, "offset": 0}
        body = self._http.get_bytes(MEMBERSHIPS_ROUTE, self._members_path(organization_id), params)
        page = self._parse_page(body, MEMBERSHIPS_ROUTE)
        # The filter narrows to this user; check anyway rather than trust a filter we did not ask
        # Clerk to keep.
        return next((item for item in page.data if item.user_id == user_id), None)

    def count_holding(self, organization_id: str, role_keys: list[str]) -> int:
        """How many members of the organization hold one of these roles (Clerk's total_count
        of the list filtered by `role`)."""
        if not role_keys:
            return 0
        params: dict[str, ParamValue] = {"role": role_keys, "limit": 1, "offset": 0}
        body = self._http.get_bytes(MEMBERSHIPS_ROUTE, self._members_path(organization_id), params)
        return self._parse_page(body, MEMBERSHIPS_ROUTE).total_count

    def create(self, organization_id: str, user_id: str, role_key: str) -> OrganizationMembership:
        self.object_budget.acquire(organization_id)
        body = self._http.write(
            "POST",
            MEMBERSHIPS_ROUTE,
            self._members_path(organization_id),
            {"user_id": user_id, "role": role_key},
        )
        return self._parse(body, MEMBERSHIPS_ROUTE)

    def change_role(
        self, organization_id: str, user_id: str, role_key: str
    ) -> OrganizationMembership:
        self.object_budget.acquire(organization_id)
        body = self._http.write(
            "PATCH",
            MEMBERSHIP_ROUTE,
            self._member_path(organization_id, user_id),
            {"role": role_key},
        )
        return self._parse(body, MEMBERSHIP_ROUTE)

    def delete(self, organization_id: str, user_id: str) -> OrganizationMembership:
        self.object_budget.acquire(organization_id)
        body = self._http.write(
            "DELETE", MEMBERSHIP_ROUTE, self._member_path(organization_id, user_id)
        )
        return self._parse(body, MEMBERSHIP_ROUTE)

    def _members_path(self, organization_id: str) -> str:
        return f"/organizations/{self._segment(organization_id)}/memberships"

    def _member_path(self, organization_id: str, user_id: str) -> str:
        return f"{self._members_path(organization_id)}/{self._segment(user_id)}"
