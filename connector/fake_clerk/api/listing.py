"""The order one list request serves its rows in: sorted, with ties shuffled, or arbitrary.

A `Listing` maps listing positions (what `offset` counts) to rows, and places the users cursor.
`Sorted` is the fake's default: a total order, ties broken by `(created_at, id)`. The others model
what real Clerk is allowed to do (see the `shuffle_ties` and `unordered` faults):

- `TiesShuffled`: the ordered field is respected, but rows equal in it come in an order drawn
  for this request alone. Only the tie groups a page touches are ordered, so a page still costs
  about its own size (plus the size of its tie groups).
- `Shuffled`: the whole collection in an arbitrary order (O(n log n) per request).

Arbitrary orders rank rows by a keyed hash of (salt, row id): the same salt gives the same order,
a row keeps its rank while others come and go, and the rank of a deleted user can still be
computed (for a cursor that names one). Python's `hash` is salted per process, so a blake2b
digest is used instead.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from connector.fake_clerk.data.store import SortedView

CursorKey = tuple[int, str]  # (created_at, id) of the user named by `starting_after`


class Listing(Protocol):
    def __len__(self) -> int: ...

    def page(self, start: int, limit: int) -> list[Any]:
        """The rows at listing positions `start` .. `start + limit - 1`."""
        ...

    def start_after(self, key: CursorKey) -> int:
        """The listing position just after the user `key` names (deleted users included)."""
        ...


def rank(salt: str, row_id: str) -> bytes:
    """A row's place in an arbitrary order drawn with `salt`."""
    return hashlib.blake2b(f"{salt}\0{row_id}".encode(), digest_size=8).digest()


class Sorted:
    def __init__(self, view: SortedView, *, descending: bool) -> None:
        self._view = view
        self._descending = descending

    def __len__(self) -> int:
        return len(self._view)

    def page(self, start: int, limit: int) -> list[Any]:
        return self._view.page(start, limit, descending=self._descending)

    def start_after(self, key: CursorKey) -> int:
        return self._view.start_after(key, descending=self._descending)


class TiesShuffled:
    """`view`'s order, except that rows with equal `tie_key` are ordered by `rank(salt, id)`."""

    def __init__(
        self,
        view: SortedView,
        *,
        descending: bool,
        salt: str,
        tie_key: Callable[[Any], tuple[Any, ...]],
    ) -> None:
        self._rows = view.rows
        self._descending = descending
        self._salt = salt
        self._tie_key = tie_key

    def __len__(self) -> int:
        return len(self._rows)

    def _group(self, index: int) -> tuple[int, int]:
        """Bounds [lo, hi) in the ascending rows of the tie group holding rows[index]."""
        value = self._tie_key(self._rows[index])
        lo = bisect.bisect_left(self._rows, value, key=self._tie_key)
        hi = bisect.bisect_right(self._rows, value, key=self._tie_key)
        return lo, hi

    def _listing_start(self, lo: int, hi: int) -> int:
        return len(self._rows) - hi if self._descending else lo

    def _shuffled(self, rows: Sequence[Any]) -> list[Any]:
        return sorted(rows, key=lambda row: rank(self._salt, row.id))

    def page(self, start: int, limit: int) -> list[Any]:
        size = len(self._rows)
        end = min(start + limit, size)
        out: list[Any] = []
        position = max(start, 0)
        while position < end:
            index = size - 1 - position if self._descending else position
            lo, hi = self._group(index)
            first = self._listing_start(lo, hi)
            group = self._shuffled(self._rows[lo:hi])
            out.extend(group[position - first : end - first])
            position = first + (hi - lo)
        return out

    def start_after(self, key: CursorKey) -> int:
        """After the named user in this request's order of its tie group (created_at views)."""
        created_at, user_id = key
        value = (created_at,)
        lo = bisect.bisect_left(self._rows, value, key=self._tie_key)
        hi = bisect.bisect_right(self._rows, value, key=self._tie_key)
        mine = rank(self._salt, user_id)
        group = self._rows[lo:hi]
        before = sum(1 for row in group if rank(self._salt, row.id) < mine)
        present = any(row.id == user_id for row in group)
        return self._listing_start(lo, hi) + before + present


class Shuffled:
    """Every row in the order of `rank(salt, id)`, whatever was asked for."""

    def __init__(self, rows: Sequence[Any], *, salt: str) -> None:
        self._salt = salt
        self._rows = sorted(rows, key=lambda row: rank(salt, row.id))
        self._ranks = [rank(salt, row.id) for row in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    def page(self, start: int, limit: int) -> list[Any]:
        return self._rows[start : start + limit]

    def start_after(self, key: CursorKey) -> int:
        # bisect_right: past the user itself when present, at its would-be place when deleted.
        return bisect.bisect_right(self._ranks, rank(self._salt, key[1]))
