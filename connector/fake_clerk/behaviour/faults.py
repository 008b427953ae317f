"""Faults a test switches on at runtime to see how a client copes with a misbehaving Clerk.

Each switch returns the `Fault` it added; `fault.hits` counts the requests it changed. A fault
applies to every request until cleared, or to the next `times` matching requests only. `path`
limits it to an API path prefix matched by whole segments, relative to `/v1` (`"/users"` matches
`/users`, `/users/count` and `/users/user_1`, not `/users_x`); `route` limits it to one route
template as `fake.stats` names it (e.g. `"GET /organizations/{id}/memberships"`).

Transport faults: `server_error` (500/502/503; 503 answers `maintenance_mode`), `slow` (sleep, then
answer normally or with the next fault), `rate_limited` (429 with Retry-After, whatever the rate
limit says), `drop_connection` (close without a response, or after half the body),
`malformed_body` (200 with a broken or unexpected body) and `revoke_key` (answer as if the
client's key were wrong). Paging faults change which rows a list returns:
`ignore_paging` (always the first page), `stale_pages` (the page before the one asked for, so only
rows already seen) and `short_pages` (at most `size` rows, whatever `limit` says).

Faults that model what real Clerk is allowed to do (the spec promises no more), each seeded:
- `shuffle_ties(seed)`: rows sharing the ordered field's value (e.g. `created_at`) come back in
  a different order on every request, on offset lists and on the users cursor alike. The spec
  names no tiebreak. The order of request k is a function of (seed, k, row id) only.
- `unordered(order, seed)`: `order_by` ignored altogether: `shuffled` (a new arbitrary order per
  request), `stable` (one arbitrary order, the same for every request) or `newest_first`
  (always `-created_at`, the spec's default).
- `cursor_gone(answer)`: `starting_after` naming a user deleted meanwhile answers `[]` (`empty`)
  or 422 (`error`); without it the fake resumes at the deleted user's place (`resume`). What real
  Clerk does is documented nowhere.
- `deep_offsets(at, seconds)`: list requests with `offset >= at` answer 504, at once or after
  `seconds` (a gateway's deadline: a client with a shorter timeout sees a time-out). The spec
  warns that large offsets get slower and eventually time out.
- `plan_lacks_feature(status)`: 402 or 403 with Clerk's error body for that status, after the key
  was accepted (default path `/role_sets`: an instance whose plan has no role sets).
- `members_filtered_by_user`: `created_at_after`/`created_at_before` on membership lists compare
  the member's user `created_at`, not the membership's (the spec's wording, "users who have been
  created", allows either reading).
- `minimum_permissions_needed(permission)`: a membership write (PATCH role, DELETE) that would
  leave the organization with no member holding `permission` (default
  `org:sys_memberships:manage`) answers 400 `organization_minimum_permissions_needed`, a code in
  Clerk's error index. Off by default: the spec lists no 400 for those routes and Clerk's docs
  describe an organization left without such a member as an "invalid state" it can reach. Only
  refused writes count as hits.

Write faults (membership writes only): `lost_reply(mode)` applies a write that succeeded and
then loses its answer: `drop` closes the connection without a response (httpx raises
`RemoteProtocolError`), `stall` holds the answer for `seconds` (a client with a shorter timeout
raises `ReadTimeout`; a patient one gets the answer). Either way the store has changed. Only
applied writes count as hits. `drop_connection` and `server_error` on a write path act before
the write, which is then not applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"
    DROP_CONNECTION = "drop_connection"
    MALFORMED_BODY = "malformed_body"
    REVOKED_KEY = "revoked_key"
    IGNORE_PAGING = "ignore_paging"
    STALE_PAGES = "stale_pages"
    SHORT_PAGES = "short_pages"
    SHUFFLE_TIES = "shuffle_ties"
    UNORDERED = "unordered"
    CURSOR_GONE = "cursor_gone"
    DEEP_OFFSETS = "deep_offsets"
    PLAN_LACKS_FEATURE = "plan_lacks_feature"
    MEMBERS_FILTERED_BY_USER = "members_filtered_by_user"
    MINIMUM_PERMISSIONS = "minimum_permissions"
    LOST_REPLY = "lost_reply"


class MalformedBody(StrEnum):
    TRUNCATED = "truncated"  # the real JSON body cut in half (Content-Length matches the cut)
    INVALID = "invalid"  # text that is not JSON at all
    HTML = "html"  # an HTML error page, as a proxy in front of the API might send
    WRONG_SHAPE = "wrong_shape"  # valid JSON of the wrong shape
    EMPTY = "empty"  # no body at all


class Unordered(StrEnum):
    SHUFFLED = "shuffled"  # a new arbitrary order on every request
    STABLE = "stable"  # one arbitrary order, the same for every request (a heap-ordered table)
    NEWEST_FIRST = "newest_first"  # always -created_at, whatever order_by says


class LostReply(StrEnum):
    DROP = "drop"  # close the connection without answering
    STALL = "stall"  # answer only after `seconds` (past the client's timeout)


class CursorGone(StrEnum):
    RESUME = "resume"  # the fake's default: continue after the deleted user's place
    EMPTY = "empty"  # 200 with []
    ERROR = "error"  # 422 form_param_value_invalid on starting_after


TRANSPORT_KINDS = frozenset(
    {FaultKind.SERVER_ERROR, FaultKind.DROP_CONNECTION, FaultKind.MALFORMED_BODY}
)
PAGING_KINDS = frozenset({FaultKind.IGNORE_PAGING, FaultKind.STALE_PAGES, FaultKind.SHORT_PAGES})
ORDER_KINDS = frozenset({FaultKind.UNORDERED, FaultKind.SHUFFLE_TIES})
# Faults that describe how the server behaves rather than a failure: not for a FaultMix.
BEHAVIOUR_KINDS = frozenset(
    {
        *PAGING_KINDS,
        *ORDER_KINDS,
        FaultKind.CURSOR_GONE,
        FaultKind.DEEP_OFFSETS,
        FaultKind.PLAN_LACKS_FEATURE,
        FaultKind.MEMBERS_FILTERED_BY_USER,
    }
)
# Faults only membership writes take; not for a FaultMix (it switches faults on per route,
# reads included).
WRITE_KINDS = frozenset({FaultKind.MINIMUM_PERMISSIONS, FaultKind.LOST_REPLY})
PLAN_STATUSES = frozenset({402, 403})
MANAGE_MEMBERS = "org:sys_memberships:manage"


@dataclass
class Fault:
    kind: FaultKind
    path: str | None = None
    route: str | None = None
    times: int | None = None  # None: until cleared
    status: int = 500  # server_error
    seconds: float = 0.0  # slow
    retry_after: int = 1  # rate_limited: the Retry-After seconds
    body: MalformedBody = MalformedBody.TRUNCATED  # malformed_body
    mid_body: bool = False  # drop_connection: send the headers and half the body first
    size: int = 1  # short_pages: rows per page
    seed: int = 0  # shuffle_ties, unordered
    order: Unordered = Unordered.SHUFFLED  # unordered
    answer: CursorGone = CursorGone.EMPTY  # cursor_gone
    at_offset: int = 0  # deep_offsets: the first offset that fails
    permission: str = MANAGE_MEMBERS  # minimum_permissions
    reply: LostReply = LostReply.DROP  # lost_reply (with `seconds` for a stall)
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def applies_to(self, path: str, route: str) -> bool:
        if self.route is not None and self.route != route:
            return False
        if self.path is None:
            return True
        prefix = _api_path(self.path).rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or prefix == ""


@dataclass(frozen=True)
class Hit:
    """A fault taken by one request; `number` counts from 0 per fault (the request's draw)."""

    fault: Fault
    number: int

    @property
    def kind(self) -> FaultKind:
        return self.fault.kind


def _api_path(path: str) -> str:
    return path[3:] if path == "/v1" or path.startswith("/v1/") else path


class Faults:
    """The faults switched on for one fake Clerk (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        """The faults that still apply to future requests."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def take(
        self,
        kinds: Collection[FaultKind],
        path: str,
        route: str,
        when: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """The first live fault of one of `kinds` for this request, counting it as used."""
        hit = self.take_hit(kinds, path, route, when)
        return None if hit is None else hit.fault

    def take_hit(
        self,
        kinds: Collection[FaultKind],
        path: str,
        route: str,
        when: Callable[[Fault], bool] | None = None,
    ) -> Hit | None:
        """Like `take`, with the request's number for this fault; `when` narrows the match."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.kind in kinds
                    and not fault.exhausted
                    and fault.applies_to(path, route)
                    and (when is None or when(fault))
                ):
                    fault.hits += 1
                    return Hit(fault, fault.hits - 1)
        return None

    # -- switches ---------------------------------------------------------------------------

    def server_error(
        self,
        status: int = 500,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Answer `status` (500-599) with a ClerkErrors body; 503 is `maintenance_mode`."""
        if not 500 <= status <= 599:
            raise ValueError("server_error needs a 5xx status")
        return self.add(
            Fault(FaultKind.SERVER_ERROR, path=path, route=route, times=times, status=status)
        )

    def slow(
        self,
        seconds: float,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Wait `seconds` before answering."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return self.add(Fault(FaultKind.SLOW, path=path, route=route, times=times, seconds=seconds))

    def rate_limited(
        self,
        retry_after: int = 1,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Answer 429 `too_many_requests` with `Retry-After: retry_after` (a Retry-After storm)."""
        if retry_after < 0:
            raise ValueError("retry_after must not be negative")
        return self.add(
            Fault(
                FaultKind.RATE_LIMITED,
                path=path,
                route=route,
                times=times,
                retry_after=retry_after,
            )
        )

    def drop_connection(
        self,
        *,
        mid_body: bool = False,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Close the connection without answering (with `mid_body`: halfway through the body)."""
        return self.add(
            Fault(FaultKind.DROP_CONNECTION, path=path, route=route, times=times, mid_body=mid_body)
        )

    def malformed_body(
        self,
        body: MalformedBody | str = MalformedBody.TRUNCATED,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Answer 200 with a body the client cannot use (see `MalformedBody`)."""
        return self.add(
            Fault(
                FaultKind.MALFORMED_BODY,
                path=path,
                route=route,
                times=times,
                body=MalformedBody(body),
            )
        )

    def revoke_key(
        self, *, times: int | None = None, path: str | None = None, route: str | None = None
    ) -> Fault:
        """Reject the client's key as if it had been revoked (401; 403 on /organizations(/{id}))."""
        return self.add(Fault(FaultKind.REVOKED_KEY, path=path, route=route, times=times))

    def ignore_paging(
        self, *, times: int | None = None, path: str | None = None, route: str | None = None
    ) -> Fault:
        """Ignore `offset` and `starting_after`: every list request gets the first page."""
        return self.add(Fault(FaultKind.IGNORE_PAGING, path=path, route=route, times=times))

    def stale_pages(
        self, *, times: int | None = None, path: str | None = None, route: str | None = None
    ) -> Fault:
        """Answer with the page before the one asked for (rows a sequential reader already saw)."""
        return self.add(Fault(FaultKind.STALE_PAGES, path=path, route=route, times=times))

    def short_pages(
        self,
        size: int = 1,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Return at most `size` rows per page (fewer than `limit`), leaving total_count alone."""
        if size < 0:
            raise ValueError("size must not be negative")
        return self.add(
            Fault(FaultKind.SHORT_PAGES, path=path, route=route, times=times, size=size)
        )

    # -- what real Clerk may do -----------------------------------------------------------------

    def shuffle_ties(
        self,
        seed: int = 0,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Rows that tie on the ordered field come back in a new seeded order on every request."""
        return self.add(
            Fault(FaultKind.SHUFFLE_TIES, path=path, route=route, times=times, seed=seed)
        )

    def unordered(
        self,
        order: Unordered | str = Unordered.SHUFFLED,
        *,
        seed: int = 0,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Ignore `order_by` on list requests: serve `order` instead (see `Unordered`)."""
        return self.add(
            Fault(
                FaultKind.UNORDERED,
                path=path,
                route=route,
                times=times,
                seed=seed,
                order=Unordered(order),
            )
        )

    def cursor_gone(
        self,
        answer: CursorGone | str = CursorGone.EMPTY,
        *,
        times: int | None = None,
        path: str | None = "/users",
        route: str | None = None,
    ) -> Fault:
        """How `starting_after=<a deleted user>` is answered; counts only such requests."""
        return self.add(
            Fault(
                FaultKind.CURSOR_GONE,
                path=path,
                route=route,
                times=times,
                answer=CursorGone(answer),
            )
        )

    def deep_offsets(
        self,
        at: int,
        *,
        seconds: float = 0.0,
        times: int | None = None,
        path: str | None = "/organization_memberships",
        route: str | None = None,
    ) -> Fault:
        """Answer 504 to requests with `offset >= at`, after `seconds` (0: at once).

        Only requests past the threshold count as hits (and against `times`).
        """
        if at < 0:
            raise ValueError("at must not be negative")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return self.add(
            Fault(
                FaultKind.DEEP_OFFSETS,
                path=path,
                route=route,
                times=times,
                seconds=seconds,
                at_offset=at,
            )
        )

    def plan_lacks_feature(
        self,
        status: int = 402,
        *,
        times: int | None = None,
        path: str | None = "/role_sets",
        route: str | None = None,
    ) -> Fault:
        """Answer 402 (payment required) or 403 (authorization_invalid) to an accepted key."""
        if status not in PLAN_STATUSES:
            raise ValueError("plan_lacks_feature answers 402 or 403")
        return self.add(
            Fault(FaultKind.PLAN_LACKS_FEATURE, path=path, route=route, times=times, status=status)
        )

    def members_filtered_by_user(
        self, *, times: int | None = None, path: str | None = None, route: str | None = None
    ) -> Fault:
        """`created_at_after`/`_before` on membership lists compare the user's created_at."""
        return self.add(
            Fault(FaultKind.MEMBERS_FILTERED_BY_USER, path=path, route=route, times=times)
        )

    def minimum_permissions_needed(
        self,
        permission: str = MANAGE_MEMBERS,
        *,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Refuse (400) a role change or removal that leaves no member holding `permission`."""
        return self.add(
            Fault(
                FaultKind.MINIMUM_PERMISSIONS,
                path=path,
                route=route,
                times=times,
                permission=permission,
            )
        )

    def lost_reply(
        self,
        mode: LostReply | str = LostReply.DROP,
        *,
        seconds: float = 30.0,
        times: int | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """Apply a membership write, then lose its answer: `drop` or `stall` for `seconds`."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return self.add(
            Fault(
                FaultKind.LOST_REPLY,
                path=path,
                route=route,
                times=times,
                seconds=seconds,
                reply=LostReply(mode),
            )
        )
