"""Listings that end complete or fail loudly: one walk for every Clerk list.

A `Listing` serves each row of a Clerk list once and ends with evidence that it saw them all:
the distinct ids it served against the total Clerk reports at the end of the listing
(`total_count` of offset lists, `GET /users/count` for users). Clerk promises little about the
order it pages in (ties are not broken, `created_at` can be edited, a cursor can vanish), so the
walk never trusts order for de-duplication: it keeps the set of ids served. When the evidence
falls short by more than the churn the listing observed (the sum of the changes between the
totals Clerk reported while it ran), the listing reads the list once more from the start and
serves only rows it had not served (a repair pass). If the evidence still falls short, it
raises `ListingIncomplete`: never a short list presented as the whole.

The walk is the same whoever drives it: the client's own loops iterate a listing inside one
call (`for rows in listing`), the gRPC streams keep it between calls and take one batch per
page (`listing.next_rows()`).

How one pass reads the list is a `Walk`:

- `offset_walk` (every `{data, total_count}` list): pages in ascending `created_at`, each page
  after the first overlapping the last one by two rows, or by all the rows that share its last
  `created_at` (ties come back in any order on every request, but keep their place among the
  other rows). A page that does not join the last one means rows before it were deleted
  (every later row moved left), so it steps back, 4 rows first and fourfold more each time,
  until the pages join; rows created during the pass sort last and are read at the end. With
  `window` > 1 it keeps up to `window` pages in flight, at the offsets it will reach if no row
  moves; after a step back they are discarded. `window` may be a callable asked before each
  read-ahead (the client's `InFlightWindow`, sized from the budget and measured latency).
- `users_walk` (`GET /users`): oldest first, each page asking for the users created at or after
  the last one read (`created_at_after`), so no cursor naming a deleted user can strand it;
  `starting_after` only inside an instant that fills a page.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Protocol, TypeVar

import structlog

from connector.clerk.errors import ClerkPagingError, ClerkRequestError, ListingIncomplete
from connector.clerk.models import OffsetPage

log = structlog.get_logger(__name__)

MAX_PAGE_SIZE = 500
DEFAULT_MAX_PAGES = 100_000
# Step-backs in a row without reading a new row before the walk gives up (a hostile server).
DEFAULT_MAX_REWINDS = 20
# The first pass plus one repair pass.
DEFAULT_MAX_PASSES = 2


class HasId(Protocol):
    @property
    def id(self) -> str: ...


class HasCreatedAt(HasId, Protocol):
    @property
    def created_at(self) -> int: ...


ItemT = TypeVar("ItemT", bound=HasId)
UserT = TypeVar("UserT", bound=HasCreatedAt)

# Pages to keep in flight: a number, or a callable asked each time the walk reads ahead.
Window = int | Callable[[], int]
# Threads of a read-ahead whose window varies (made only as pages are asked for, so no more
# than the largest window it was given).
_VARIABLE_WINDOW_THREADS = 64


class Totals:
    """The totals Clerk reported while a listing ran, in order, and how much they moved."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.churn = 0  # sum of |change| between consecutive totals
        self.requests = 0  # Clerk requests the listing made (pages and counts)

    def observe(self, total: int) -> None:
        if self.last is not None:
            self.churn += abs(total - self.last)
        self.last = total


@dataclass(frozen=True)
class Evidence:
    """What a finished pass shows about a listing's completeness."""

    route: str
    read: int  # distinct ids served, all passes
    expected: int  # the total Clerk reported at the end
    churn: int  # how much the totals moved while the listing ran
    passes: int
    repaired: int  # rows first served by a repair pass
    requests: int

    @property
    def complete(self) -> bool:
        # Rows deleted after they were served make `read` exceed `expected`; that is churn,
        # not loss. A shortfall is loss unless the totals moved at least as much meanwhile.
        return self.read >= self.expected - self.churn

    def fields(self) -> dict[str, int | str]:
        return {
            "route": self.route,
            "read": self.read,
            "expected": self.expected,
            "churn": self.churn,
            "passes": self.passes,
            "repaired": self.repaired,
            "requests": self.requests,
        }


# One pass over a list: yields the rows of each Clerk request and reports totals as it goes.
# Its second argument holds the ids this pass has read so far, kept by the listing (the walk
# only looks): every id it yielded, once the listing has taken the batch.
Walk = Callable[[Totals, AbstractSet[str]], Generator[Sequence[ItemT], None, None]]
EvidenceObserver = Callable[[Evidence], None]


def ignore_evidence(_: Evidence) -> None:
    pass


class Listing(Generic[ItemT]):
    """Every row of one Clerk list, each served once, complete or `ListingIncomplete`.

    Not thread-safe: whoever keeps a listing between calls serializes them.
    """

    def __init__(
        self,
        route: str,
        walk: Walk[ItemT],
        *,
        max_passes: int = DEFAULT_MAX_PASSES,
        on_evidence: EvidenceObserver = ignore_evidence,
    ) -> None:
        self.route = route
        self.served: set[str] = set()
        self.totals = Totals()
        self.passes = 0
        self.repaired = 0
        self.evidence: Evidence | None = None  # set once the listing ended complete
        self._walk = walk
        self._max_passes = max_passes
        self._on_evidence = on_evidence
        self._pass: Generator[Sequence[ItemT], None, None] | None = None
        # Ids the current pass read: `served` itself in the first pass (saves a set as large
        # as the list), a set of its own in a repair pass.
        self._pass_read: set[str] = self.served

    @property
    def done(self) -> bool:
        return self.evidence is not None

    def next_rows(self) -> list[ItemT] | None:
        """Rows not served before (from one Clerk request or more); None once complete."""
        while self.evidence is None:
            if self._pass is None:
                self.passes += 1
                self._pass_read = self.served if self.passes == 1 else set()
                self._pass = self._walk(self.totals, self._pass_read)
            try:
                rows = next(self._pass)
            except StopIteration:
                self._pass = None
                self._end_pass()
                continue
            fresh = self._unseen(rows)
            if self._pass_read is not self.served:
                self._pass_read.update(row.id for row in rows)
            if fresh:
                if self.passes > 1:
                    self.repaired += len(fresh)
                return fresh
        return None

    def __iter__(self) -> Iterator[list[ItemT]]:
        while (rows := self.next_rows()) is not None:
            yield rows

    def close(self) -> None:
        """Stop a pass under way (its pages in flight are cancelled)."""
        if self._pass is not None:
            self._pass.close()
        self._pass = None

    def _unseen(self, rows: Iterable[ItemT]) -> list[ItemT]:
        fresh: list[ItemT] = []
        for row in rows:
            if row.id not in self.served:
                self.served.add(row.id)
                fresh.append(row)
        return fresh

    def _end_pass(self) -> None:
        evidence = Evidence(
            route=self.route,
            read=len(self.served),
            expected=self.totals.last if self.totals.last is not None else len(self.served),
            churn=self.totals.churn,
            passes=self.passes,
            repaired=self.repaired,
            requests=self.totals.requests,
        )
        if evidence.complete:
            self.evidence = evidence
            log.info("listing_complete", **evidence.fields())
            self._on_evidence(evidence)
            return
        if self.passes >= self._max_passes:
            log.error("listing_incomplete", **evidence.fields())
            self._on_evidence(evidence)
            raise ListingIncomplete(
                self.route,
                detail=(
                    f"read {evidence.read} distinct rows, Clerk reports {evidence.expected} "
                    f"(totals moved by {evidence.churn} during the listing) after "
                    f"{evidence.passes} passes; retry the sync"
                ),
            )
        log.warning("listing_repair", **evidence.fields())


# -- offset lists -----------------------------------------------------------------------------


class OffsetPageFetcher(Protocol[ItemT]):
    """Fetch `limit` rows from position `offset` of a list in ascending `created_at` order."""

    def __call__(self, *, limit: int, offset: int) -> OffsetPage[ItemT]: ...


def check_page_size(page_size: int) -> None:
    if not 2 <= page_size <= MAX_PAGE_SIZE:
        # At least 2, so consecutive pages can overlap by a row.
        raise ValueError(f"page_size must be between 2 and {MAX_PAGE_SIZE}")


class _Lookahead(Generic[ItemT]):
    """Pages requested ahead of the walk, by offset; without a window, plain blocking reads."""

    def __init__(
        self, fetch_page: OffsetPageFetcher[ItemT], page_size: int, window: Window, totals: Totals
    ) -> None:
        self._fetch = fetch_page
        self._page_size = page_size
        self._window = window
        self._totals = totals
        threads = _VARIABLE_WINDOW_THREADS if callable(window) else window
        self._pool = ThreadPoolExecutor(threads, "offset-lookahead") if threads > 1 else None
        self._pending: dict[int, Future[OffsetPage[ItemT]]] = {}

    def get(self, offset: int) -> OffsetPage[ItemT]:
        future = self._pending.pop(offset, None)
        if future is None:
            self._totals.requests += 1
            return self._fetch(limit=self._page_size, offset=offset)
        return future.result()

    def pending_between(self, low: int, high: int) -> int | None:
        """The largest offset in [low, high] already asked for, if any."""
        fitting = [position for position in self._pending if low <= position <= high]
        return max(fitting) if fitting else None

    def ahead(self, offset: int, total_count: int) -> None:
        """Ask for the pages at `offset` and after, as far as the window and the total allow."""
        if self._pool is None:
            return
        if self._pending and offset not in self._pending:
            self.discard()  # planned for a step the walk did not take (ties moved the overlap)
        # The usual overlap: a page's last row (an instant of its own) and the older rows.
        overlap = 1 + _overlap(self._page_size)
        step = max(1, self._page_size - overlap)
        window = self._window() if callable(self._window) else self._window
        # The walk reads offset o only if the page before it (at o - step) ended before the
        # total, that is while o + overlap < total_count.
        for position in range(offset, total_count - overlap, step)[: max(1, window)]:
            if position not in self._pending:
                self._totals.requests += 1
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


def offset_walk(
    fetch_page: OffsetPageFetcher[ItemT],
    page_size: int = MAX_PAGE_SIZE,
    *,
    route: str,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_rewinds: int = DEFAULT_MAX_REWINDS,
    window: Window = 1,
) -> Walk[ItemT]:
    """One pass of a `limit`/`offset` list (see the module docstring).

    Raises `ClerkPagingError` on a short page that its own `total_count` says is not the last,
    when a full page reached by a forward step holds only rows already read (the server ignored
    `offset`), after `max_rewinds` step-backs in a row, or after `max_pages` requests.
    """
    check_page_size(page_size)
    if not callable(window) and window < 1:
        raise ValueError("window must be at least 1")

    def walk(totals: Totals, read: AbstractSet[str]) -> Generator[Sequence[ItemT], None, None]:
        with _Lookahead(fetch_page, page_size, window, totals) as pages:
            yield from _offset_pass(pages, page_size, max_pages, max_rewinds, route, totals, read)

    return walk


def _created_at(row: object) -> int | None:
    value = getattr(row, "created_at", None)
    return value if isinstance(value, int) else None


def _overlap(page_size: int) -> int:
    """Rows older than a page's final instant that the next page reads again: two, so that one
    row deleted before them still leaves an older row to lead the next page (no step back);
    one on tiny pages (tests), where two would halve the progress. Also the overlap when no
    older row can lead (no `created_at`, or a page of one instant)."""
    return 2 if page_size >= 10 else 1


def _trailing_ties(rows: Sequence[ItemT]) -> int:
    """How many rows at the end of `rows` share the last row's `created_at` (at least 1)."""
    last = _created_at(rows[-1])
    if last is None:
        return 1
    count = 1
    while count < len(rows) and _created_at(rows[-count - 1]) == last:
        count += 1
    return count


def _joins(rows: Sequence[ItemT], read: AbstractSet[str], boundary_at: int | None) -> bool:
    """Whether a page continues the pass without a gap after the rows read so far.

    It must start with a row already read, and (when `boundary_at`, the last `created_at` of
    the page before, is known) with one strictly older than `boundary_at`. Rows sharing an
    instant come back in any order on every request, and the group at a page's end may run on
    into the next page: a page starting inside that group can skip one of its rows unread
    even when it starts with a row already read. A page starting strictly before the group
    holds every row after its first (the ones older than `boundary_at` were read by the pages
    before, by the same argument), so nothing between two joined pages is skipped.
    """
    if not rows or rows[0].id not in read:
        return False
    if boundary_at is None:
        return True
    first_at = _created_at(rows[0])
    return first_at is not None and first_at < boundary_at


def _offset_pass(
    pages: _Lookahead[ItemT],
    page_size: int,
    max_pages: int,
    max_rewinds: int,
    route: str,
    totals: Totals,
    read: AbstractSet[str],
) -> Iterator[Sequence[ItemT]]:
    # `read`: every row this pass read (kept by the listing). The next page starts two rows
    # before the group of rows sharing the last page's final `created_at` (`boundary_at`), so
    # it covers the group's positions again (ties come back in any order on every request, but
    # keep their place among the other rows) and starts with a row older than it, even after
    # one deletion before it. A next page that does not start so (see `_joins`) means rows
    # before it were deleted (every later row moved left): step back until the pages join.
    boundary_at: int | None = None
    offset = 0
    rewinds = 0  # step-backs since a page last brought a new row
    idle = 0  # joined pages in a row that brought no new row
    for _ in range(max_pages):
        page = pages.get(offset)
        totals.observe(page.total_count)
        rows = page.data
        ids = {row.id for row in rows}
        if offset > 0 and not _joins(rows, read, boundary_at):
            # Rows before `offset` were deleted since the previous page (or moved), so rows may
            # have gone from this page into the last one unread. Step back, further each time,
            # until a page holds the last rows read again; rows are read again on the way.
            rewinds += 1
            if rewinds > max_rewinds:
                raise ClerkPagingError(
                    route, detail=f"the list kept shifting ({max_rewinds} step-backs in a row)"
                )
            offset = max(0, min(offset - min(page_size - 1, 4**rewinds), page.total_count - 1))
            pages.discard()  # read at offsets that assumed no row had moved
            continue
        if any(row_id not in read for row_id in ids):
            rewinds = idle = 0
        else:
            # Nothing new on a page that joins: a step back that went far, or rows created in
            # an instant already read that sorted before read rows. Many in a row: the server
            # does not apply `offset`.
            idle += 1
            if idle > max_rewinds:
                raise ClerkPagingError(
                    route,
                    detail=f"the page at offset {offset} held only rows already listed "
                    f"({idle} pages in a row)",
                )
        if len(rows) < page_size and offset + len(rows) < page.total_count:
            # The same answer says more rows follow: ending here would present part of the
            # list as all of it.
            raise ClerkPagingError(
                route, detail=f"a short page at offset {offset} of {page.total_count} rows"
            )
        yield rows
        if len(rows) < page_size or offset + len(rows) >= page.total_count:
            return
        ties = _trailing_ties(rows)
        boundary_at = _created_at(rows[-1])
        if ties + _overlap(page_size) >= len(rows) or boundary_at is None:
            # (Nearly) a page of one instant: no older row can lead the next page. Overlap as
            # little as possible; the evidence at the end checks the rest (and a list that
            # stays short fails loudly).
            offset, boundary_at = offset + len(rows) - _overlap(page_size), None
        else:
            # Any offset up to the last row older than the final instant keeps the pass
            # joined: take a page already read ahead there, else start two older rows back.
            latest = offset + len(rows) - ties - 1
            offset = pages.pending_between(offset + 1, latest) or latest + 1 - _overlap(page_size)
        pages.ahead(offset, page.total_count)
    raise ClerkPagingError(route, detail=f"stopped after {max_pages} pages")


def iter_offset_pages(
    fetch_page: OffsetPageFetcher[ItemT],
    page_size: int = MAX_PAGE_SIZE,
    *,
    route: str,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_rewinds: int = DEFAULT_MAX_REWINDS,
    window: Window = 1,
    on_evidence: EvidenceObserver = ignore_evidence,
) -> Iterator[list[ItemT]]:
    """Every row of an offset list, a batch per request, each once (a `Listing`)."""
    walk = offset_walk(
        fetch_page,
        page_size,
        route=route,
        max_pages=max_pages,
        max_rewinds=max_rewinds,
        window=window,
    )
    listing = Listing(route, walk, on_evidence=on_evidence)
    try:
        yield from listing
    finally:
        listing.close()


# -- users by created_at ----------------------------------------------------------------------


class UserPageFetcher(Protocol[UserT]):
    """`limit` users oldest first: created after `created_at_after` (Unix ms), or after the
    user `starting_after`, or from the start."""

    def __call__(
        self, *, limit: int, starting_after: str | None, created_at_after: int | None
    ) -> list[UserT]: ...


def users_walk(
    fetch_page: UserPageFetcher[UserT],
    count: Callable[[], int],
    page_size: int = MAX_PAGE_SIZE,
    *,
    route: str,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Walk[UserT]:
    """One pass of the users list, oldest first, keyed on `created_at`, with the count before
    and after (the list has no total of its own).

    Each page after the first asks for the users created at or after the last one read
    (`created_at_after` = its `created_at` - 1): the users sharing that instant are read again,
    in whatever order Clerk returns them this time, so a tie is never split by a cursor, and a
    user deleted meanwhile cannot strand the walk (the `starting_after` cursor names a user,
    and what Clerk does when that user is gone is documented nowhere). Only a page that is
    all one instant continues by `starting_after` within it.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    def counted(totals: Totals) -> None:
        totals.requests += 1
        totals.observe(count())

    def walk(totals: Totals, read: AbstractSet[str]) -> Generator[Sequence[UserT], None, None]:
        counted(totals)
        last: UserT | None = None
        by_cursor = False  # inside an instant that fills whole pages
        for _ in range(max_pages):
            totals.requests += 1
            if last is None:
                rows = fetch_page(limit=page_size, starting_after=None, created_at_after=None)
            elif by_cursor:
                try:
                    rows = fetch_page(
                        limit=page_size, starting_after=last.id, created_at_after=None
                    )
                except ClerkRequestError as exc:
                    if exc.status != 422:
                        raise
                    # The cursor user is gone: go on after the instant (the evidence at the
                    # end of the pass tells whether that missed anyone).
                    log.warning("users_cursor_refused", cursor=last.id)
                    rows = fetch_page(
                        limit=page_size, starting_after=None, created_at_after=last.created_at
                    )
            else:
                rows = fetch_page(
                    limit=page_size, starting_after=None, created_at_after=last.created_at - 1
                )
            progressed = any(row.id not in read for row in rows)
            yield rows
            if len(rows) < page_size:
                counted(totals)
                return
            if not progressed:
                if by_cursor or last is None:
                    raise ClerkPagingError(
                        route, detail="a full page held only users already served"
                    )
                by_cursor = True  # an instant holding a page or more: walk it by cursor
            else:
                by_cursor = _trailing_ties(rows) >= len(rows)
            last = rows[-1]
        raise ClerkPagingError(route, detail=f"stopped after {max_pages} pages")

    return walk
