"""gRPC pages over Clerk's own paging, one Clerk request per gRPC page (while nothing moves).

Users page by cursor (`starting_after`), organizations by offset in ascending created_at order.
Either way the token remembers the newest `created_at` served and the ids served at exactly that
instant (the "edge"), so a page that repeats rows (a buggy server, a shifted offset) is
de-duplicated, and a full page with nothing new stops the sync with an error instead of looping.
We ask for ascending order; a server that ignores `order_by` and answers newest first is
detected from the page itself, and the edge then guards the other direction.

Offset lists have no cursor: a row deleted during the listing moves every later row one place
left, and the row crossing the page boundary would be skipped without a trace. `offset_page`
therefore reads each page after the first from one row before where the last page ended: that
row must be one already served. When it is not (or the page is empty), rows before it were
deleted, so it steps back and reads forward again until a page starts on served ground, as
`connector/clerk/paging.py` does for the client's own listings. Rows created during the listing
sort last (Clerk stamps created_at on creation) and are read at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from connector import page_tokens
from connector.clerk import ClerkPagingError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# A hard stop for a server that keeps inventing new rows: 100,000 pages of 500 rows.
MAX_PAGES = 100_000
# Offsets a token may carry: as far as MAX_PAGES full pages reach.
MAX_OFFSET = MAX_PAGES * page_tokens.MAX_PAGE_SIZE
# Clerk requests one offset page may spend stepping back and forth before it gives up.
MAX_REWINDS = 100


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
    pages = page_tokens.field(position, "n", int, minimum=1, maximum=MAX_PAGES)
    edge_at = page_tokens.field(position, "t", int)
    edge_ids = page_tokens.field(position, "ids", list)
    if not all(isinstance(item, str) for item in edge_ids):
        raise page_tokens.InvalidPageToken("page token field 'ids' is invalid")
    direction = page_tokens.field(position, "d", int)
    if direction not in (1, -1):
        raise page_tokens.InvalidPageToken("page token field 'd' is invalid")
    cursor = page_tokens.field(position, "c", cursor_type, minimum=0, maximum=MAX_OFFSET)
    if not cursor and cursor_type is str:  # every token names the row to resume after
        raise page_tokens.InvalidPageToken("page token field 'c' is invalid")
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
    fresh: list[T] = []
    here: set[str] = set()  # a row repeated within one page (a buggy server) is served once
    for item in raw:
        item_id = object_id(item)
        if item_id in here or (edge is not None and edge.has_served(created_at(item), item_id)):
            continue
        here.add(item_id)
        fresh.append(item)
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


class OffsetFetch(Protocol[T_co]):
    """One Clerk request: `limit` rows from `offset` (ascending created_at) and total_count."""

    def __call__(self, *, limit: int, offset: int) -> OffsetRows[T_co]: ...


class OffsetRows(Protocol[T_co]):
    @property
    def data(self) -> Sequence[T_co]: ...

    @property
    def total_count(self) -> int: ...


def offset_page(
    *,
    route: str,
    kind: str,
    token: str,
    size: int,
    fetch: OffsetFetch[T],
    created_at: Callable[[T], int],
    object_id: Callable[[T], str],
) -> StreamPage[T]:
    """The next gRPC page (at most `size` rows) of an offset list, joined to the last one."""
    position = read_position(token, kind, int, 0)
    edge = position.edge
    if edge is None:
        first = fetch(limit=size, offset=0)
        return _offset_result(route, kind, position, first, 0, size, size, created_at, object_id)
    offset = max(0, position.cursor - 1)
    previous: list[str] | None = None
    for rewinds in range(MAX_REWINDS + 1):
        # One row of overlap on top of the page asked for (Clerk's cap still applies).
        limit = min(size + 1, page_tokens.MAX_PAGE_SIZE)
        page = fetch(limit=limit, offset=offset)
        rows = page.data
        joined = offset == 0 or (
            bool(rows) and edge.has_served(created_at(rows[0]), object_id(rows[0]))
        )
        if not joined:
            # Rows before `offset` were deleted since the last page: step back (to the list's
            # current end at most) and read forward from a row already served. As in
            # clerk/paging.py, 4 rows first and fourfold more each time, up to a whole page.
            step = min(limit - 1, 4 ** (rewinds + 1))
            offset = max(0, min(offset - step, page.total_count - 1))
            previous = None
            continue
        _check_not_short(route, rows, offset, limit, page.total_count)
        if any(not edge.has_served(created_at(row), object_id(row)) for row in rows):
            return _offset_result(
                route, kind, position, page, offset, limit, size, created_at, object_id
            )
        if offset + len(rows) >= page.total_count:
            return StreamPage([], "")  # every row after the last one served was deleted
        # Only served rows, and more after them: a step back went too far, or rows created in
        # the edge's millisecond sorted before served ones and pushed them on. Walk forward,
        # overlapping one row, unless the server answers the same rows whatever the offset.
        ids = [object_id(row) for row in rows]
        if ids == previous:
            raise ClerkPagingError(
                route, detail=f"the page at offset {offset} held only rows already served"
            )
        previous = ids
        offset += max(1, len(rows) - 1)
    raise ClerkPagingError(route, detail=f"the list kept shifting ({MAX_REWINDS} rewinds)")


def _check_not_short(route: str, rows: Sequence[Any], offset: int, limit: int, total: int) -> None:
    if len(rows) < limit and offset + len(rows) < total:
        # A short page that Clerk's own total says is not the end: stopping here would
        # present a partial list as complete.
        raise ClerkPagingError(route, detail=f"a short page at offset {offset} of {total} rows")


def _offset_result(
    route: str,
    kind: str,
    position: StreamPosition,
    page: OffsetRows[T],
    offset: int,
    limit: int,
    size: int,
    created_at: Callable[[T], int],
    object_id: Callable[[T], str],
) -> StreamPage[T]:
    rows = list(page.data)
    _check_not_short(route, rows, offset, limit, page.total_count)
    exhausted = len(rows) < limit or offset + len(rows) >= page.total_count
    # A page that does not start with its overlap row (at offset 0) can hold one unread row
    # more than the platform asked for: serve `size` of them and resume after the last one.
    edge, unread = position.edge, 0
    for index, row in enumerate(rows):
        if edge is None or not edge.has_served(created_at(row), object_id(row)):
            unread += 1
            if unread == size and index < len(rows) - 1:
                rows, exhausted = rows[: index + 1], False
                break
    return advance(
        route=route,
        kind=kind,
        raw=rows,
        position=position,
        requested=limit,
        exhausted=exhausted,
        next_cursor=offset + len(rows),
        created_at=created_at,
        object_id=object_id,
    )
