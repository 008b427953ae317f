"""The `created_at_after` / `created_at_before` filters of `GET /users`, `GET /users/count` and
`GET /organizations/{id}/memberships`.

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
