"""`ClerkClient`: the read operations a sync needs, over `ClerkHttp` and the paging loops."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx
import msgspec
from pydantic import SecretStr

from connector.clerk.decoding import describe_decode_error, json_decoder
from connector.clerk.errors import ClerkNotFoundError, ClerkResponseError
from connector.clerk.inflight import MAX_WINDOW, MIN_WINDOW, InFlightWindow
from connector.clerk.models import (
    OffsetPage,
    Organization,
    OrganizationMembership,
    OrganizationSettings,
    Permission,
    Role,
    RoleSet,
    TotalCount,
    User,
)
from connector.clerk.paging import (
    MAX_PAGE_SIZE,
    Evidence,
    EvidenceObserver,
    HasId,
    Listing,
    OffsetPageFetcher,
    ignore_evidence,
    iter_offset_pages,
    offset_walk,
    users_walk,
)
from connector.clerk.ratelimit import InstanceKind, RequestBudget, instance_kind
from connector.clerk.transport import ClerkHttp, ClientStats, ParamValue
from connector.clerk.writes import MembershipWrites

ASCENDING = "+created_at"
# How long the roles page read by a credential check stands in for a fresh read: a platform
# sync calls Validate and starts listing within a second or two.
CHECKED_ROLES_TTL_SECONDS = 30.0

ModelT = TypeVar("ModelT")
ItemT = TypeVar("ItemT", bound=HasId)

# One compiled decoder per response type, built once (GET /users is a bare array).
_USER = json_decoder(User)
_USERS = json_decoder(list[User])
_USER_COUNT = json_decoder(TotalCount)
_ORGANIZATION = json_decoder(Organization)
_SETTINGS = json_decoder(OrganizationSettings)
_ORGANIZATIONS = json_decoder(OffsetPage[Organization])
_MEMBERSHIP = json_decoder(OrganizationMembership)
_MEMBERSHIPS = json_decoder(OffsetPage[OrganizationMembership])
_ROLES = json_decoder(OffsetPage[Role])
_PERMISSIONS = json_decoder(OffsetPage[Permission])
_ROLE_SETS = json_decoder(OffsetPage[RoleSet])


@dataclass(frozen=True)
class ValidationSummary:
    """What a credential check learned about the instance."""

    instance_kind: InstanceKind
    user_count: int | None  # None when the instance does not answer /users/count


def _segment(value: str) -> str:
    """`value` as one percent-encoded path segment (ids are never allowed to change the path)."""
    if value in ("", ".", ".."):
        raise ValueError(f"invalid id for a URL path: {value!r}")
    return quote(value, safe="")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")


def _check_offset(offset: int) -> None:
    if offset < 0:
        raise ValueError("offset must be >= 0")


class ClerkClient:
    """Client of one Clerk instance's Backend API: the reads a sync needs, and `memberships`
    (the membership writes provisioning makes, see writes.py).

    All requests of one client share a `RequestBudget` of `rate_limit_share` of the instance's
    documented rate limit. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        api_url: str,
        secret_key: SecretStr,
        *,
        rate_limit_share: float = 0.5,
        timeout: float = 10.0,
        max_retries: int = 5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        http2: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        budget: RequestBudget | None = None,
        adaptive_window: bool = True,
    ) -> None:
        if not 2 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 2 and {MAX_PAGE_SIZE}")
        self._clock = clock
        # The roles page the last credential check read, handed to the next roles listing.
        self._checked_roles: tuple[float, OffsetPage[Role]] | None = None
        self._checked_roles_lock = threading.Lock()
        self.instance_kind: InstanceKind = instance_kind(secret_key)
        # An explicit budget (tests, benchmarks) replaces the one derived from the key.
        self.budget = budget or RequestBudget.for_key(
            secret_key, rate_limit_share, clock=clock, sleep=sleep
        )
        self._page_size = page_size
        self._http = ClerkHttp(
            api_url,
            secret_key,
            budget=self.budget,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            http2=http2,
            sleep=sleep,
            clock=clock,
            jitter=jitter,
        )
        self.stats: ClientStats = self._http.stats
        # Pages one offset listing keeps in flight (all still wait on the shared budget): with
        # `adaptive_window` (the default), sized from the budget and the response times measured
        # here; else the fixed 4. (Wider windows once exposed a gap in the offset walk's join
        # rule under churn with reordered ties; the rule now needs an older row, see paging.py.)
        self.window = InFlightWindow(
            self.budget, maximum=MAX_WINDOW if adaptive_window else MIN_WINDOW
        )
        self.stats.subscribe(self.window.observe)
        # Told the completeness evidence of every listing (the server sets it to its metrics).
        self.on_evidence: EvidenceObserver = ignore_evidence
        # Membership writes (provisioning); nothing calls them unless provisioning is on.
        self.memberships = MembershipWrites(
            self._http,
            lambda body, route: _decode(_MEMBERSHIP, body, route),
            lambda body, route: _decode(_MEMBERSHIPS, body, route),
            _segment,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ClerkClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- single requests ---------------------------------------------------------------------

    def users_page(
        self, *, limit: int, starting_after: str | None, created_at_after: int | None = None
    ) -> list[User]:
        """`GET /users` oldest first: after the user `starting_after`, or created after
        `created_at_after` (Unix ms), or from the start."""
        _check_limit(limit)
        params: dict[str, ParamValue] = {"limit": limit, "order_by": ASCENDING}
        if starting_after is not None:
            params["starting_after"] = starting_after
        if created_at_after is not None:
            params["created_at_after"] = created_at_after
        return self._get(_USERS, "/users", "/users", params)

    def organizations_page(self, *, limit: int, offset: int) -> OffsetPage[Organization]:
        """`GET /organizations` oldest first, with `members_count`."""
        params = self._offset_params(limit, offset, include_members_count=True)
        return self._get(_ORGANIZATIONS, "/organizations", "/organizations", params)

    def instance_memberships_page(
        self, *, limit: int, offset: int
    ) -> OffsetPage[OrganizationMembership]:
        """`GET /organization_memberships`: every organization's memberships, oldest first."""
        return self._get(
            _MEMBERSHIPS,
            "/organization_memberships",
            "/organization_memberships",
            self._offset_params(limit, offset),
        )

    def organization_memberships_page(
        self, organization_id: str, *, limit: int, offset: int
    ) -> OffsetPage[OrganizationMembership]:
        """`GET /organizations/{organization_id}/memberships`, oldest first."""
        return self._get(
            _MEMBERSHIPS,
            "/organizations/{organization_id}/memberships",
            f"/organizations/{_segment(organization_id)}/memberships",
            self._offset_params(limit, offset),
        )

    def get_user(self, user_id: str) -> User:
        return self._get(_USER, "/users/{user_id}", f"/users/{_segment(user_id)}")

    def get_organization(self, organization_id: str) -> Organization:
        return self._get(
            _ORGANIZATION,
            "/organizations/{organization_id}",
            f"/organizations/{_segment(organization_id)}",
            {"include_members_count": True},
        )

    def count_users(self) -> int:
        return self._get(_USER_COUNT, "/users/count", "/users/count").total_count

    def organization_settings(self) -> OrganizationSettings:
        return self._get(
            _SETTINGS,
            "/instance/organization_settings",
            "/instance/organization_settings",
        )

    def check_key(self, *, read_roles: bool = False) -> None:
        """A credential check in one request.

        Plain: `GET /users?limit=1`, the documented cheapest check. With `read_roles` (for a
        connector that will list roles anyway) it reads the first page of organization roles
        instead, another documented check, and keeps that page for
        `CHECKED_ROLES_TTL_SECONDS`, so the sync that follows a platform's Validate does not
        read it twice.
        """
        if not read_roles:
            self.users_page(limit=1, starting_after=None)
            return
        page = self._roles_page(limit=self._page_size, offset=0)
        with self._checked_roles_lock:
            self._checked_roles = (self._clock(), page)

    def _take_checked_roles(self) -> OffsetPage[Role] | None:
        with self._checked_roles_lock:
            checked, self._checked_roles = self._checked_roles, None
        if checked is None or self._clock() - checked[0] > CHECKED_ROLES_TTL_SECONDS:
            return None
        return checked[1]

    def validate(self) -> ValidationSummary:
        """The credential check, plus the user count for a human-readable summary."""
        self.check_key()
        try:
            count: int | None = self.count_users()
        except ClerkNotFoundError:
            count = None  # the count is a courtesy; the key is already proven good
        return ValidationSummary(instance_kind=self.instance_kind, user_count=count)

    # -- full listings -------------------------------------------------------------------------

    def users_listing(self, on_evidence: EvidenceObserver | None = None) -> Listing[User]:
        """Every user, oldest first, checked against `GET /users/count` (driven by the caller)."""
        walk = users_walk(self.users_page, self.count_users, self._page_size, route="/users")
        return Listing("/users", walk, on_evidence=self._observers(on_evidence))

    def organizations_listing(
        self, on_evidence: EvidenceObserver | None = None
    ) -> Listing[Organization]:
        """Every organization (with `members_count`), checked against `total_count`."""
        walk = offset_walk(self.organizations_page, self._page_size, route="/organizations")
        return Listing("/organizations", walk, on_evidence=self._observers(on_evidence))

    def instance_memberships_listing(
        self, on_evidence: EvidenceObserver | None = None
    ) -> Listing[OrganizationMembership]:
        """Every membership of the instance, enough pages in flight to fill the budget."""
        route = "/organization_memberships"
        walk = offset_walk(
            self.instance_memberships_page, self._page_size, route=route, window=self.window
        )
        return Listing(route, walk, on_evidence=self._observers(on_evidence))

    def organization_memberships_listing(
        self, organization_id: str, on_evidence: EvidenceObserver | None = None
    ) -> Listing[OrganizationMembership]:
        """One organization's memberships, checked against `total_count`."""
        route = "/organizations/{organization_id}/memberships"

        def fetch(*, limit: int, offset: int) -> OffsetPage[OrganizationMembership]:
            return self.organization_memberships_page(organization_id, limit=limit, offset=offset)

        walk = offset_walk(fetch, self._page_size, route=route)
        return Listing(route, walk, on_evidence=self._observers(on_evidence))

    def _observers(self, extra: EvidenceObserver | None) -> EvidenceObserver:
        def observe(evidence: Evidence) -> None:
            self.on_evidence(evidence)  # looked up now: metrics may attach after the listing
            if extra is not None:
                extra(evidence)

        return observe

    def list_roles(self, on_evidence: EvidenceObserver | None = None) -> list[Role]:
        checked = self._take_checked_roles()

        def fetch(*, limit: int, offset: int) -> OffsetPage[Role]:
            if offset == 0 and checked is not None and limit == self._page_size:
                return checked
            return self._roles_page(limit=limit, offset=offset)

        return list(self._offset_list(fetch, "/organization_roles", on_evidence))

    def list_permissions(self, on_evidence: EvidenceObserver | None = None) -> list[Permission]:
        route = "/organization_permissions"
        return list(self._offset_list(self._permissions_page, route, on_evidence))

    def list_role_sets(self, on_evidence: EvidenceObserver | None = None) -> list[RoleSet]:
        return list(self._offset_list(self._role_sets_page, "/role_sets", on_evidence))

    # -- internals -----------------------------------------------------------------------------

    def _roles_page(self, *, limit: int, offset: int) -> OffsetPage[Role]:
        route = "/organization_roles"
        return self._get(_ROLES, route, route, self._offset_params(limit, offset))

    def _permissions_page(self, *, limit: int, offset: int) -> OffsetPage[Permission]:
        route = "/organization_permissions"
        return self._get(_PERMISSIONS, route, route, self._offset_params(limit, offset))

    def _role_sets_page(self, *, limit: int, offset: int) -> OffsetPage[RoleSet]:
        route = "/role_sets"
        return self._get(_ROLE_SETS, route, route, self._offset_params(limit, offset))

    def _offset_list(
        self,
        fetch: OffsetPageFetcher[ItemT],
        route: str,
        on_evidence: EvidenceObserver | None = None,
    ) -> Iterator[ItemT]:
        pages = iter_offset_pages(
            fetch,
            self._page_size,
            window=self.window,
            route=route,
            on_evidence=self._observers(on_evidence),
        )
        for page in pages:
            yield from page

    @staticmethod
    def _offset_params(limit: int, offset: int, **extra: ParamValue) -> dict[str, ParamValue]:
        _check_limit(limit)
        _check_offset(offset)
        return {"limit": limit, "offset": offset, "order_by": ASCENDING, **extra}

    def _get(
        self,
        decoder: msgspec.json.Decoder[ModelT],
        route: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
    ) -> ModelT:
        return _decode(decoder, self._http.get_bytes(route, path, params), route)


def _decode(decoder: msgspec.json.Decoder[ModelT], body: bytes, route: str) -> ModelT:
    try:
        # Straight from the bytes into the models; fields they do not name are skipped.
        return decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
        raise ClerkResponseError(route, detail=describe_decode_error(body, exc)) from None
