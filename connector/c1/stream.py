"""gRPC pages over a listing (a `RowSource`) kept by the connector between calls.

A listing's state (the ids already served, where it stands in Clerk's list, the totals it saw)
is far too large for a page token: 100,000 user ids. So the connector keeps the listing itself,
in the sync's scope (keyed by `active_sync_id`), or, for a call without a sync id, in a scope
of its own that lives until the listing ends or idles out. The token names the listing and the
number of the page it asks for:

- the next page: `size` rows from the listing (fewer only at its end), read from Clerk pages
  of the client's own size, so the number of Clerk requests does not depend on `size`;
- the page just answered again (a platform retry after a lost answer): the same answer;
- anything else (a page skipped, a listing of another list): INVALID_ARGUMENT;
- a listing the connector no longer holds (restarted, expired): `ListingExpired` (ABORTED),
  because resuming a listing without its served ids could serve a row twice or miss one.

The last page carries an empty token only once the listing ended complete (the Clerk listing:
connector/clerk/paging.py); a listing that cannot prove itself complete fails the call.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from connector.c1 import page_tokens
from connector.c1.sync_cache import SyncCache, SyncScope

T = TypeVar("T")


class RowSource(Protocol[T]):
    """A listing read batch by batch (the Clerk client's `Listing` is one)."""

    @property
    def done(self) -> bool:
        """True once the listing ended complete."""
        ...

    def next_rows(self) -> list[T] | None:
        """Rows not returned before; None once complete (raises when it cannot be)."""
        ...


# Pages one listing may serve: as many as Clerk requests a listing may make.
MAX_PAGES = 100_000


class ListingExpired(LookupError):
    """A page token continues a listing this connector no longer holds."""


@dataclass
class _Answer(Generic[T]):
    page: int
    rows: list[T]
    next_token: str


@dataclass
class StreamState(Generic[T]):
    """One listing served over gRPC pages: the listing, rows read but not yet served, and the
    last answer (for a retried call)."""

    listing_id: str
    listing: RowSource[T]
    pending: list[T] = field(default_factory=list)
    last: _Answer[T] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def stream_page(
    *,
    kind: str,
    token: str,
    size: int,
    scope: SyncScope,
    cache: SyncCache | None,
    start: Callable[[], RowSource[T]],
) -> tuple[list[T], str]:
    """The next page (at most `size` rows) of the listing `token` continues, and its token.

    `scope` is the sync's; without a sync id (a throwaway scope) the listing gets a scope of
    its own in `cache`, released once the listing ends.
    """
    position = page_tokens.decode(token, kind)
    if position is None:
        listing_id = secrets.token_hex(8)
        own_scope = _listing_scope(scope, cache, listing_id)
        state: StreamState[T] = StreamState(listing_id, start())
        own_scope.memo(("listing", kind, listing_id), lambda: state)
        page = 0
    else:
        listing_id = page_tokens.field(position, "l", str)
        page = page_tokens.field(position, "n", int, minimum=1, maximum=MAX_PAGES)
        held = _held_scope(scope, cache, listing_id)
        found = None if held is None else held.lookup(("listing", kind, listing_id))
        if found is None:
            raise ListingExpired(
                f"the {kind} listing this page token continues is no longer held by the "
                "connector (it restarted, or the listing idled out); start the sync again"
            )
        state = found
    with state.lock:
        last = state.last
        if last is not None and last.page == page:
            return last.rows, last.next_token  # the platform asked again for the same page
        expected = 0 if last is None else last.page + 1
        if page != expected:
            raise page_tokens.InvalidPageToken(
                f"page token is out of sequence for this {kind} listing (page {page}, "
                f"next is {expected})"
            )
        rows, next_token = _serve(state, kind, page, size)
        state.last = _Answer(page, rows, next_token)
    if not next_token and cache is not None and not scope.persistent:
        cache.release(_own_scope_id(listing_id))
    return rows, next_token


def _serve(state: StreamState[T], kind: str, page: int, size: int) -> tuple[list[T], str]:
    # Full pages: read on while fewer rows than asked for are pending (Clerk pages are the
    # client's size, whatever the platform asks, so the request count does not depend on it).
    while len(state.pending) < size and not state.listing.done:
        fresh = state.listing.next_rows()
        if fresh is not None:
            state.pending.extend(fresh)
    if not state.pending:
        return [], ""
    rows, state.pending = state.pending[:size], state.pending[size:]
    if page + 1 >= MAX_PAGES:
        raise page_tokens.InvalidPageToken(f"the {kind} listing passed {MAX_PAGES} pages")
    return rows, page_tokens.encode(kind, {"l": state.listing_id, "n": page + 1})


def _own_scope_id(listing_id: str) -> str:
    return f"listing:{listing_id}"


def _listing_scope(scope: SyncScope, cache: SyncCache | None, listing_id: str) -> SyncScope:
    """Where a new listing is kept: the sync's scope, or one of its own without a sync id."""
    if scope.persistent or cache is None:
        return scope
    return cache.scope(_own_scope_id(listing_id))


def _held_scope(scope: SyncScope, cache: SyncCache | None, listing_id: str) -> SyncScope | None:
    if scope.persistent or cache is None:
        return scope
    return cache.find(_own_scope_id(listing_id))
