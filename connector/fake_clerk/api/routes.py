"""The endpoints the connector reads, one handler each, and the table that matches paths to them.

Handlers get the dataset (its lock held by the caller) and the parsed request, and return the JSON
value to send (or an already `Encoded` one) or raise an `ApiError`. The membership writes are in
`writes`. Lists default to newest first
(`-created_at`) as the spec states for users, organizations, roles and role sets; it states no
default for memberships and permissions, where the fake uses the same. Ties sort by id, so every
ordering is total, unless a `shuffle_ties` or `unordered` fault says otherwise (see `listing`).

`created_at_after` / `created_at_before` narrow `GET /users`, `GET /users/count` and
`GET /organizations/{id}/memberships` (strict bounds, see `filters`); `total_count` and the count
are of the narrowed rows, and `offset` / `starting_after` page within them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote

from connector.fake_clerk.api import render, writes
from connector.fake_clerk.api.errors import invalid_param, not_found
from connector.fake_clerk.api.filters import CreatedAtRange, MemberFilter, narrow
from connector.fake_clerk.api.fragments import Encoded, FragmentCache, json_array, json_envelope
from connector.fake_clerk.api.listing import CursorKey, Listing, Shuffled, Sorted, TiesShuffled
from connector.fake_clerk.api.paging import select
from connector.fake_clerk.api.params import Order, Query
from connector.fake_clerk.api.request import Request
from connector.fake_clerk.behaviour.faults import (
    ORDER_KINDS,
    PAGING_KINDS,
    CursorGone,
    FaultKind,
    Unordered,
)
from connector.fake_clerk.data.ordering import ORDERINGS, tie_key
from connector.fake_clerk.data.records import MembershipRecord, OrganizationRecord, UserRecord
from connector.fake_clerk.data.store import Collection as CollectionName
from connector.fake_clerk.data.store import Dataset, SortedView

DEFAULT_ORDER = "-created_at"
_PAGING = tuple(PAGING_KINDS)


Handler = Callable[[Dataset, Request], Any]
ViewFor = Callable[[str], SortedView]


def _listing(
    dataset: Dataset,
    request: Request,
    collection: CollectionName,
    view_for: ViewFor,
    order: Order,
    narrowed: Callable[[SortedView], SortedView],
) -> Listing:
    """The order this request serves: sorted, or bent by an ordering fault."""
    hit = request.take(ORDER_KINDS)
    if hit is None:
        return Sorted(narrowed(view_for(order.field)), descending=order.descending)
    fault = hit.fault
    if fault.kind is FaultKind.UNORDERED:
        if fault.order is Unordered.NEWEST_FIRST:
            return Sorted(narrowed(view_for("created_at")), descending=True)
        salt = f"{fault.seed}" if fault.order is Unordered.STABLE else f"{fault.seed}/{hit.number}"
        return Shuffled(narrowed(view_for("created_at")).rows, salt=salt)
    key = tie_key(collection, order.field)
    return TiesShuffled(
        narrowed(view_for(order.field)),
        descending=order.descending,
        salt=f"{fault.seed}/{hit.number}",
        tie_key=lambda row: key(dataset, row),
    )


def _offset_list(
    dataset: Dataset,
    request: Request,
    collection: CollectionName,
    view_for: ViewFor,
    narrowed: Callable[[SortedView], SortedView] = lambda view: view,
) -> tuple[list[Any], int]:
    """The rows of an offset-paginated list and its total_count."""
    query = request.query
    limit, offset = query.limit(), query.offset()
    order = query.order(ORDERINGS[collection].keys(), DEFAULT_ORDER)
    listing = _listing(dataset, request, collection, view_for, order, narrowed)
    rows = select(listing, start=offset, limit=limit, fault=request.fault(*_PAGING))
    return rows, len(listing)


# -- users -----------------------------------------------------------------------------------


def _users_narrowed(query: Query) -> Callable[[SortedView], SortedView]:
    bounds = CreatedAtRange.from_query(query)
    return lambda view: narrow(view, bounds)


def list_users(dataset: Dataset, request: Request) -> Encoded:
    """A bare array; `starting_after` continues after the named user in this request's order."""
    query = request.query
    limit, offset = query.limit(), query.offset()
    order = query.order(ORDERINGS["users"].keys(), DEFAULT_ORDER)
    narrowed = _users_narrowed(query)
    cursor = query.first("starting_after") or None
    key: CursorKey | None = None
    if cursor is not None:
        if order.field != "created_at":
            raise invalid_param(
                "starting_after", "needs order_by created_at, +created_at or -created_at"
            )
        if offset != 0:
            raise invalid_param("starting_after", "cannot be combined with a non-zero offset")
        key = dataset.user_cursor_key(cursor)
        if key is None:
            raise invalid_param("starting_after", f"no user with id {cursor!r}")
        if dataset.user(cursor) is None:  # deleted since it was served
            gone = request.fault(FaultKind.CURSOR_GONE)
            if gone is not None and gone.fault.answer is CursorGone.EMPTY:
                return Encoded(b"[]")
            if gone is not None and gone.fault.answer is CursorGone.ERROR:
                raise invalid_param("starting_after", f"no user with id {cursor!r}")
    listing = _listing(
        dataset, request, "users", lambda field: dataset.view("users", field), order, narrowed
    )
    start = offset if key is None else listing.start_after(key)
    rows = select(listing, start=start, limit=limit, fault=request.fault(*_PAGING))
    return Encoded(json_array(user_fragment(request.fragments, user) for user in rows))


def user_fragment(cache: FragmentCache, user: UserRecord) -> bytes:
    return cache.get(user.id, (user,), partial(render.user_json, user))


def count_users(dataset: Dataset, request: Request) -> dict[str, Any]:
    """What `GET /users` with the same filters would list, counted now."""
    total = len(_users_narrowed(request.query)(dataset.view("users")))
    return {"object": "total_count", "total_count": total}


def get_user(dataset: Dataset, request: Request) -> dict[str, Any]:
    user = dataset.user(request.path_params[0])
    if user is None:
        raise not_found("user")
    return render.user_json(user)


# -- organizations ---------------------------------------------------------------------------


def _organization(
    dataset: Dataset, organization: OrganizationRecord, request: Request
) -> dict[str, Any]:
    count = (
        dataset.members_count(organization.id)
        if request.query.flag("include_members_count")
        else None
    )
    return render.organization_json(organization, count)


def list_organizations(dataset: Dataset, request: Request) -> dict[str, Any]:
    rows, total = _offset_list(
        dataset, request, "organizations", lambda field: dataset.view("organizations", field)
    )
    return {"data": [_organization(dataset, org, request) for org in rows], "total_count": total}


def get_organization(dataset: Dataset, request: Request) -> dict[str, Any]:
    organization = dataset.organization(request.path_params[0])
    if organization is None:
        raise not_found("organization")
    return _organization(dataset, organization, request)


# -- memberships -----------------------------------------------------------------------------


def membership_fragment(
    dataset: Dataset, cache: FragmentCache, membership: MembershipRecord
) -> bytes:
    # The encoded row embeds the organization, the member's public data and the role's name and
    # permissions: it stays valid while all four records are unchanged.
    sources = (
        membership,
        dataset.organizations[membership.organization_id],
        dataset.users[membership.user_id],
        dataset.roles.get(membership.role),
    )
    return cache.get(membership.id, sources, partial(render.membership_json, membership, dataset))


def _memberships_json(
    dataset: Dataset, request: Request, rows: Sequence[MembershipRecord]
) -> list[bytes]:
    return [membership_fragment(dataset, request.fragments, m) for m in rows]


def list_organization_memberships(dataset: Dataset, request: Request) -> Encoded:
    organization = dataset.organization(request.path_params[0])
    if organization is None:
        raise not_found("organization")
    bounds = CreatedAtRange.from_query(request.query)
    members = MemberFilter.from_query(request.query)
    by_user = request.fault(FaultKind.MEMBERS_FILTERED_BY_USER) if not bounds.unbounded else None
    time_of = None if by_user is None else partial(_member_created_at, dataset)
    rows, total = _offset_list(
        dataset,
        request,
        "memberships",
        lambda field: dataset.organization_view(organization.id, field),
        lambda view: members.narrow(narrow(view, bounds, time_of)),
    )
    return Encoded(json_envelope(_memberships_json(dataset, request, rows), total))


def _member_created_at(dataset: Dataset, membership: MembershipRecord) -> int:
    return dataset.users[membership.user_id].created_at


def list_instance_memberships(dataset: Dataset, request: Request) -> Encoded:
    rows, total = _offset_list(
        dataset, request, "memberships", lambda field: dataset.view("memberships", field)
    )
    return Encoded(json_envelope(_memberships_json(dataset, request, rows), total))


# -- roles, permissions, role sets, settings ---------------------------------------------------


def list_roles(dataset: Dataset, request: Request) -> dict[str, Any]:
    rows, total = _offset_list(
        dataset, request, "roles", lambda field: dataset.view("roles", field)
    )
    return {"data": [render.role_json(role, dataset) for role in rows], "total_count": total}


def list_permissions(dataset: Dataset, request: Request) -> dict[str, Any]:
    rows, total = _offset_list(
        dataset, request, "permissions", lambda field: dataset.view("permissions", field)
    )
    return {"data": [render.permission_json(p) for p in rows], "total_count": total}


def list_role_sets(dataset: Dataset, request: Request) -> dict[str, Any]:
    rows, total = _offset_list(
        dataset, request, "role_sets", lambda field: dataset.view("role_sets", field)
    )
    return {"data": [render.role_set_json(rs, dataset) for rs in rows], "total_count": total}


def organization_settings(dataset: Dataset, _: Request) -> dict[str, Any]:
    return render.settings_json(dataset.settings)


# -- routing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # relative to /v1, with {id} for a path parameter
    handler: Handler

    @property
    def name(self) -> str:
        """How stats and fault filters name the route, e.g. `GET /users/{id}`."""
        return f"{self.method} {self.template}"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.template).replace(r"\{id\}", "([^/]+)") + "$")


# Order matters: /users/count must win over /users/{id}. Writes are in `writes`.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/users", list_users),
    Route("GET", "/users/count", count_users),
    Route("GET", "/users/{id}", get_user),
    Route("GET", "/organizations", list_organizations),
    Route("GET", "/organizations/{id}", get_organization),
    Route("GET", "/organizations/{id}/memberships", list_organization_memberships),
    Route("POST", "/organizations/{id}/memberships", writes.create_membership),
    Route("PATCH", "/organizations/{id}/memberships/{id}", writes.update_membership),
    Route("DELETE", "/organizations/{id}/memberships/{id}", writes.delete_membership),
    Route("GET", "/organization_memberships", list_instance_memberships),
    Route("GET", "/organization_roles", list_roles),
    Route("GET", "/organization_permissions", list_permissions),
    Route("GET", "/role_sets", list_role_sets),
    Route("GET", "/instance/organization_settings", organization_settings),
)
_COMPILED = tuple((route, route.pattern) for route in ROUTES)


@dataclass(frozen=True)
class Match:
    template: str
    params: tuple[str, ...]
    route: Route | None  # None: the path exists, but not for this method (405)


def match(method: str, path: str) -> Match | None:
    """The route for a method and an API path (relative to /v1), with its decoded parameters."""
    found: Match | None = None
    for route, pattern in _COMPILED:
        hit = pattern.match(path)
        if hit is None or (found is not None and route.template != found.template):
            continue
        params = tuple(unquote(group) for group in hit.groups())
        if route.method == method:
            return Match(route.template, params, route)
        found = found or Match(route.template, params, None)
    return found
