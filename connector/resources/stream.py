"""gRPC pages over Clerk's own paging, one Clerk request per gRPC page.

Users page by cursor (`starting_after`), organizations by offset in ascending created_at order.
Either way the token remembers the newest `created_at` served and the ids served at exactly that
instant (the "edge"), so a page that repeats rows (a buggy server, a shifted offset) is
de-duplicated, and a full page with nothing new stops the sync with an error instead of looping.
We ask for ascending order; a server that ignores `order_by` and answers newest first is
detected from the page itself, and the edge then guards the other direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connector import page_tokens
from connector.clerk import ClerkPagingError

T = TypeVar("T")

# A hard stop for a server that keeps inventing new rows: 100,000 pages of 500 rows.
MAX_PAGES = 100_000


@dataclass(frozen=True)
class Edge:
    created_at: int
    ids: frozenset[str]
    direction: int = 1  # +1: oldest first (as requested), -1: the server sends newest first

    def has_served(self, created_at: int, object_id: str) -> bool:
        behind = (created_at - self.created_at) * self.direction < 0
        return behind or (created_at == self.created_at and object_id in self.ids)


@dataclass(frozen=True)
class StreamPosition:
    pages: int
    edge: Edge | None
    cursor: Any  # the Clerk-side position: a user id (cursor) or an offset

    @classmethod
    def first(cls, cursor: Any) -> StreamPosition:
        return cls(pages=0, edge=None, cursor=cursor)


@dataclass
class StreamPage(Generic[T]):
    fresh: list[T]
    next_token: str


def read_position(token: str, kind: str, cursor_type: type, first_cursor: Any) -> StreamPosition:
    position = page_tokens.decode(token, kind)
    if position is None:
        return StreamPosition.first(first_cursor)
    pages = page_tokens.field(position, "n", int, minimum=1)
    edge_at = page_tokens.field(position, "t", int)
    edge_ids = page_tokens.field(position, "ids", list)
    if not all(isinstance(item, str) for item in edge_ids):
        raise page_tokens.InvalidPageToken("page token field 'ids' is invalid")
    direction = page_tokens.field(position, "d", int)
    if direction not in (1, -1):
        raise page_tokens.InvalidPageToken("page token field 'd' is invalid")
    cursor = page_tokens.field(position, "c", cursor_type, minimum=0)
    edge = Edge(edge_at, frozenset(edge_ids), direction)
    return StreamPosition(pages=pages, edge=edge, cursor=cursor)


def advance(
    *,
    route: str,
    kind: str,
    raw: Sequence[T],
    position: StreamPosition,
    requested: int,
    exhausted: bool,
    next_cursor: Any,
    created_at: Callable[[T], int],
    object_id: Callable[[T], str],
) -> StreamPage[T]:
    """Filter `raw` against what was served and mint the token for the next page."""
    if position.pages >= MAX_PAGES:
        raise ClerkPagingError(route, detail=f"gave up after {MAX_PAGES} pages")
    edge = position.edge
    fresh = [
        item
        for item in raw
        if edge is None or not edge.has_served(created_at(item), object_id(item))
    ]
    if len(raw) >= requested and not fresh:
        raise ClerkPagingError(route, detail="a full page held only rows already served")
    if exhausted or not raw:
        return StreamPage(fresh, "")
    direction = edge.direction if edge is not None else _direction([created_at(i) for i in raw])
    # A page with nothing fresh was already refused above unless it was short (and so the last).
    stamps = [created_at(item) for item in fresh]
    farthest = (max if direction > 0 else min)(stamps)
    ids = {object_id(item) for item in fresh if created_at(item) == farthest}
    if edge is not None and edge.created_at == farthest:
        ids |= edge.ids
    token = page_tokens.encode(
        kind,
        {
            "n": position.pages + 1,
            "t": farthest,
            "ids": sorted(ids),
            "d": direction,
            "c": next_cursor,
        },
    )
    return StreamPage(fresh, token)


def _direction(stamps: Sequence[int]) -> int:
    """+1 unless the page is visibly newest first (the server ignored our order_by)."""
    return -1 if len(stamps) > 1 and stamps[0] > stamps[-1] else 1
