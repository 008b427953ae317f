"""Pagination loops that always end, even against a buggy or hostile server.

`iter_offset_pages` yields pages of items never yielded before (de-duplicated by id), stops on the
documented end-of-list signals, raises `ClerkPagingError` when a page does not move the loop
forward, and stops at a hard cap on requests. (Users and organizations are not listed here: the
gRPC layer pages them one Clerk request per gRPC page, see connector/resources/stream.py.)

Offset lists (`limit`/`offset`, ascending `created_at`) have no cursor, so a row deleted during the
listing shifts later rows one place left and the row that crosses the page boundary would be
skipped silently. `iter_offset_pages` therefore overlaps consecutive pages by one row: the next
page must start with a row already read. If it does not (or comes back empty), rows before it
were deleted, and the loop steps back and reads forward again until the pages join up, so no row
that existed for the whole listing is lost. The step back starts small (4 rows) and grows
fourfold while pages keep failing to join, up to a whole page: a few deletions cost a few rows
of re-reading, and a busy instance still makes progress. Rows created during the listing sort
last and are read at the end. This relies on the ascending `created_at` order the client asks
for.

With `window` > 1 the loop also asks for up to `window` pages ahead, at the offsets it will reach
if no row moves, so a long listing keeps several requests in flight within the rate budget.
Those pages are checked exactly as if read one by one; after a step back they are discarded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from connector.clerk.errors import ClerkPagingError
from connector.clerk.models import OffsetPage

MAX_PAGE_SIZE = 500
DEFAULT_MAX_PAGES = 100_000
# Step-backs in a row without reading a new row before the loop gives up (a hostile server).
DEFAULT_MAX_REWINDS = 20


class HasId(Protocol):
    @property
    def id(self) -> str: ...


ItemT = TypeVar("ItemT", bound=HasId)


class OffsetPageFetcher(Protocol[ItemT]):
    """Fetch `limit` rows from position `offset` of a list in ascending `created_at` order."""

    def __call__(self, *, limit: int, offset: int) -> OffsetPage[ItemT]: ...


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")


def _unseen(items: Iterable[ItemT], seen: set[str]) -> list[ItemT]:
    """The items whose id is not in `seen`, each added to it (so duplicates are dropped too)."""
    fresh: list[ItemT] = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            fresh.append(item)
    return fresh


class _Lookahead(Generic[ItemT]):
    """Pages requested ahead of the loop, by offset; without a window, plain blocking reads."""

    def __init__(self, fetch_page: OffsetPageFetcher[ItemT], page_size: int, window: int) -> None:
        self._fetch = fetch_page
        self._page_size = page_size
        self._window = window
        self._pool = ThreadPoolExecutor(window, "offset-lookahead") if window > 1 else None
        self._pending: dict[int, Future[OffsetPage[ItemT]]] = {}

    def get(self, offset: int) -> OffsetPage[ItemT]:
        future = self._pending.pop(offset, None)
        if future is not None:
            return future.result()
        return self._fetch(limit=self._page_size, offset=offset)

    def ahead(self, offset: int, total_count: int) -> None:
        """Ask for the pages at `offset` and after, as far as the window and the total allow."""
        if self._pool is None:
            return
        step = self._page_size - 1
        # The loop reads offset o only if the page before it (at o - step) ended before the
        # total, that is while o < total_count - 1.
        for position in range(offset, total_count - 1, step)[: self._window]:
            if position not in self._pending:
                self._pending[position] = self._pool.submit(
                    self._fetch, limit=self._page_size, offset=position
                )

    def discard(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    def __enter__(self) -> _Lookahead[ItemT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def iter_offset_pages(
    fetch_page: OffsetPageFetcher[ItemT],
    page_size: int = MAX_PAGE_SIZE,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_rewinds: int = DEFAULT_MAX_REWINDS,
    window: int = 1,
    route: str,
) -> Iterator[list[ItemT]]:
    """Walk a `limit`/`offset` list; yield each page's not-yet-seen items (see module docstring).

    `page_size` must be at least 2 so consecutive pages can overlap. Ends on a short page or once
    the rows read reach `total_count`. Raises `ClerkPagingError` on a short page that its own
    `total_count` says is not the last, when a full page reached by a forward step holds only
    rows already seen (the server ignored `offset`), after `max_rewinds` step-backs in a row, or
    after `max_pages` requests.
    """
    _check_page_size(page_size)
    if page_size < 2:
        raise ValueError("page_size must be at least 2 for overlapping offset pages")
    if window < 1:
        raise ValueError("window must be at least 1")
    with _Lookahead(fetch_page, page_size, window) as pages:
        yield from _walk(pages, page_size, max_pages, max_rewinds, route)


def _walk(
    pages: _Lookahead[ItemT], page_size: int, max_pages: int, max_rewinds: int, route: str
) -> Iterator[list[ItemT]]:
    # Invariant: `seen` holds every current row up to the last one read, so a page that starts
    # with a seen row continues the listing without a gap.
    seen: set[str] = set()
    offset = 0
    stepped_back = False
    rewinds = 0  # step-backs since a page last brought a new row
    for _ in range(max_pages):
        page = pages.get(offset)
        rows = page.data
        if offset > 0 and (not rows or rows[0].id not in seen):
            # Rows before `offset` were deleted since the previous page, so rows may have moved
            # from this page into the last one unread. Step back, further each time, until a
            # page starts with a row already read; rows are read again on the way forward.
            rewinds += 1
            if rewinds > max_rewinds:
                raise ClerkPagingError(
                    route, detail=f"the list kept shifting ({max_rewinds} step-backs in a row)"
                )
            offset = max(0, offset - min(page_size - 1, 4**rewinds))
            stepped_back = True
            pages.discard()  # read at offsets that assumed no row had moved
            continue
        fresh = _unseen(rows, seen)
        if fresh:
            rewinds = 0
        # A forward step starts at the last row read, which deletions only move earlier: a full
        # page of rows already seen there means the server did not apply the offset.
        if not fresh and len(rows) >= page_size and not stepped_back:
            raise ClerkPagingError(
                route, detail=f"the page at offset {offset} held only rows already listed"
            )
        if len(rows) < page_size and offset + len(rows) < page.total_count:
            # The same answer says more rows follow: ending here would present part of the
            # list as all of it.
            raise ClerkPagingError(
                route, detail=f"a short page at offset {offset} of {page.total_count} rows"
            )
        if fresh:
            yield fresh
        if len(rows) < page_size or offset + len(rows) >= page.total_count:
            return
        offset += len(rows) - 1  # overlap one row with the next page
        stepped_back = False
        pages.ahead(offset, page.total_count)
    raise ClerkPagingError(route, detail=f"stopped after {max_pages} pages")
