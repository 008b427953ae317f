"""The `created_at_after` / `created_at_before` filters of `GET /users`, `GET /users/count` and
`GET /organizations/{id}/memberships`, and that list's `user_id` and `role` array filters.

The spec says "created before" / "created after the given date (with millisecond precision)"
and nothing about equality, so the fake reads both bounds as strict: `after < created_at <
before`. A client resuming from a row's own `created_at` with `created_at_after` must therefore
expect ties of that row to be left out (and should step one millisecond back and de-duplicate).
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.fake_clerk.api.errors import invalid_param
from connector.fake_clerk.api.params import Query
from connector.fake_clerk.data.store import SortedView

_CREATED_AT = operator.attrgetter("created_at")


@dataclass(frozen=True, slots=True)
class CreatedAtRange:
    after: int | None = None
    before: int | None = None

    @classmethod
    def from_query(cls, query: Query) -> CreatedAtRange:
        return cls(
            query.optional_integer("created_at_after"), query.optional_integer("created_at_before")
        )

    @property
    def unbounded(self) -> bool:
        return self.after is None and self.before is None

    def admits(self, stamp: int) -> bool:
        return (self.after is None or stamp > self.after) and (
            self.before is None or stamp < self.before
        )


def narrow(
    view: SortedView, bounds: CreatedAtRange, time_of: Callable[[Any], int] | None = None
) -> SortedView:
    """The rows of `view` inside `bounds`, in the same order.

    `time_of` reads the compared timestamp (default: the row's own created_at, which on a
    created_at view is a bisect rather than a scan).
    """
    if bounds.unbounded:
        return view
    rows = view.rows
    if time_of is None and view.order_field == "created_at":
        lo = 0 if bounds.after is None else bisect.bisect_right(rows, bounds.after, key=_CREATED_AT)
        hi = (
            len(rows)
            if bounds.before is None
            else bisect.bisect_left(rows, bounds.before, key=_CREATED_AT)
        )
        return SortedView(rows[lo : max(lo, hi)], view.order_field)
    read = time_of if time_of is not None else _CREATED_AT
    return SortedView([row for row in rows if bounds.admits(read(row))], view.order_field)


# The spec: "Accepts up to 100 user IDs" / "up to 100 roles".
MAX_FILTER_VALUES = 100


@dataclass(frozen=True, slots=True)
class MemberFilter:
    """`user_id` (each id may carry `+` include or `-` exclude; ids not found are ignored) and
    `role` of `GET /organizations/{id}/memberships`: rows must pass both."""

    include_users: frozenset[str] = frozenset()
    exclude_users: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    @classmethod
    def from_query(cls, query: Query) -> MemberFilter:
        user_ids, roles = query.all("user_id"), query.all("role")
        for name, values in (("user_id", user_ids), ("role", roles)):
            if len(values) > MAX_FILTER_VALUES:
                raise invalid_param(name, f"accepts up to {MAX_FILTER_VALUES} values")
        include = {v[1:] if v[0] in "+ " else v for v in user_ids if v[0] != "-"}
        exclude = {v[1:] for v in user_ids if v[0] == "-"}
        return cls(frozenset(include), frozenset(exclude), frozenset(roles))

    @property
    def unfiltered(self) -> bool:
        return not (self.include_users or self.exclude_users or self.roles)

    def admits(self, membership: Any) -> bool:
        user_id = membership.user_id
        if self.include_users and user_id not in self.include_users:
            return False
        if user_id in self.exclude_users:
            return False
        return not self.roles or membership.role in self.roles

    def narrow(self, view: SortedView) -> SortedView:
        if self.unfiltered:
            return view
        return SortedView([row for row in view.rows if self.admits(row)], view.order_field)
