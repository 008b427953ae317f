from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from connector.c1.builders import PageRequest
from connector.c1.keyset import keyset_page
from connector.c1.page_tokens import InvalidPageToken
from connector.c1.stream import ListingExpired, stream_page
from connector.c1.sync_cache import SyncCache, SyncScope
from connector.clerk import Listing, ListingIncomplete, OffsetPage
from connector.clerk.paging import offset_walk


@dataclass(frozen=True)
class Row:
    id: str
    created_at: int


def offset_source(rows: list[Row]) -> tuple[list[int], object]:
    """An in-memory offset list; the returned list counts its requests."""
    calls: list[int] = []

    def fetch(*, limit: int, offset: int) -> OffsetPage[Row]:
        calls.append(offset)
        return OffsetPage[Row](data=rows[offset : offset + limit], total_count=len(rows))

    return calls, fetch


def starter(fetch: object, page_size: int = 4) -> Callable[[], Listing[Row]]:
    return lambda: Listing("/rows", offset_walk(fetch, page_size, route="/rows"))  # type: ignore[arg-type]


def serve_all(scope: SyncScope, start: Callable[[], Listing[Row]], size: int = 4) -> list[str]:
    token, served = "", []
    while True:
        rows, token = stream_page(
            kind="rows", token=token, size=size, scope=scope, cache=None, start=start
        )
        served += [row.id for row in rows]
        if not token:
            return served


ROWS = [Row(f"r{i:02}", i // 3) for i in range(10)]  # ties: three rows per instant


def test_stream_serves_every_row_once_and_ends_with_an_empty_token() -> None:
    calls, fetch = offset_source(ROWS)
    assert serve_all(SyncScope(), starter(fetch)) == [row.id for row in ROWS]
    # Each page starts with a row older than the last page's final instant (0 -> 2); a page of
    # (nearly) one instant, where no older row can lead, overlaps by one row (2 -> 5 -> 8).
    assert calls == [0, 2, 5, 8]


def test_a_retried_page_gets_the_same_answer_without_a_clerk_request() -> None:
    calls, fetch = offset_source(ROWS)
    scope, start = SyncScope(), starter(fetch)
    _first, token = stream_page(kind="rows", token="", size=4, scope=scope, cache=None, start=start)
    second, token2 = stream_page(
        kind="rows", token=token, size=4, scope=scope, cache=None, start=start
    )
    made = len(calls)
    again, token3 = stream_page(
        kind="rows", token=token, size=4, scope=scope, cache=None, start=start
    )
    assert (again, token3) == (second, token2)
    assert len(calls) == made


def test_a_skipped_page_is_an_invalid_token() -> None:
    _, fetch = offset_source(ROWS)
    scope, start = SyncScope(), starter(fetch)
    _, token = stream_page(kind="rows", token="", size=4, scope=scope, cache=None, start=start)
    _, token2 = stream_page(kind="rows", token=token, size=4, scope=scope, cache=None, start=start)
    _, token3 = stream_page(kind="rows", token=token2, size=4, scope=scope, cache=None, start=start)
    with pytest.raises(InvalidPageToken, match="out of sequence"):
        stream_page(kind="rows", token=token, size=4, scope=scope, cache=None, start=start)
    assert token3


def test_a_token_of_a_listing_no_longer_held_is_listing_expired() -> None:
    _, fetch = offset_source(ROWS)
    _, token = stream_page(
        kind="rows", token="", size=4, scope=SyncScope(), cache=None, start=starter(fetch)
    )
    with pytest.raises(ListingExpired, match="start the sync again"):
        stream_page(
            kind="rows", token=token, size=4, scope=SyncScope(), cache=None, start=starter(fetch)
        )


def test_without_a_sync_id_the_listing_lives_in_its_own_scope_until_it_ends() -> None:
    _, fetch = offset_source(ROWS)
    cache = SyncCache(idle_seconds=60)
    try:
        token, served = "", []
        while True:
            # A throwaway scope per call, as a call without active_sync_id gets.
            rows, token = stream_page(
                kind="rows",
                token=token,
                size=4,
                scope=cache.scope(""),
                cache=cache,
                start=starter(fetch),
            )
            served += [row.id for row in rows]
            if not token:
                break
            assert cache.active_syncs() == 1
        assert served == [row.id for row in ROWS]
        assert cache.active_syncs() == 0  # released once the listing ended
    finally:
        cache.close()


def test_a_page_never_holds_more_rows_than_asked() -> None:
    _, fetch = offset_source(ROWS)
    scope, start = SyncScope(), starter(fetch, page_size=5)
    token, pages = "", []
    while True:
        rows, token = stream_page(
            kind="rows", token=token, size=2, scope=scope, cache=None, start=start
        )
        pages.append(len(rows))
        if not token:
            break
    assert max(pages) <= 2
    assert sum(pages) == len(ROWS)


def test_a_list_shorter_than_its_total_is_repaired_or_fails_loudly() -> None:
    # Ties come back in another order on each request: in the first pass r03 is served twice
    # and r04 never (its place taken). The repair pass serves it.
    calls: list[int] = []

    def fetch(*, limit: int, offset: int) -> OffsetPage[Row]:
        calls.append(offset)
        visible = [ROWS[3] if row.id == "r04" and len(calls) <= 3 else row for row in ROWS]
        return OffsetPage[Row](data=visible[offset : offset + limit], total_count=len(ROWS))

    listing = Listing("/rows", offset_walk(fetch, 4, route="/rows"))
    served = [row.id for rows in listing for row in rows]
    assert sorted(served) == [row.id for row in ROWS]
    assert listing.evidence is not None
    assert (listing.evidence.passes, listing.evidence.repaired) == (2, 1)


def test_a_list_that_stays_short_fails_with_the_numbers() -> None:
    def fetch(*, limit: int, offset: int) -> OffsetPage[Row]:
        visible = [ROWS[3] if row.id == "r04" else row for row in ROWS]
        return OffsetPage[Row](data=visible[offset : offset + limit], total_count=len(ROWS))

    listing = Listing("/rows", offset_walk(fetch, 4, route="/rows"))
    with pytest.raises(ListingIncomplete, match="read 9 distinct rows, Clerk reports 10"):
        list(listing)


def test_keyset_page_walks_every_item_once() -> None:
    items = [f"id{i:04}" for i in range(1001)]
    token, out, pages = "", [], 0
    while True:
        page = keyset_page(items, lambda item: item, PageRequest(500, token, "k"))
        out += page.items
        pages += 1
        token = page.next_token
        if not token:
            break
    assert out == items
    assert pages == 3


@pytest.mark.parametrize("count", [0, 499, 500, 501])
def test_keyset_page_boundaries(count: int) -> None:
    items = [f"id{i:04}" for i in range(count)]
    first = keyset_page(items, lambda item: item, PageRequest(500, "", "k"))
    assert first.items == items[:500]
    assert bool(first.next_token) == (count > 500)


def test_keyset_resumes_after_list_changed() -> None:
    items = ["a", "b", "c", "d"]
    page = keyset_page(items, lambda item: item, PageRequest(2, "", "k"))
    shrunk = ["a", "c", "d"]  # b deleted between pages
    rest = keyset_page(shrunk, lambda item: item, PageRequest(2, page.next_token, "k"))
    assert rest.items == ["c", "d"]


def test_keyset_rejects_foreign_token() -> None:
    page = keyset_page(["a", "b"], lambda item: item, PageRequest(1, "", "k"))
    with pytest.raises(InvalidPageToken):
        keyset_page(["a", "b"], lambda item: item, PageRequest(1, page.next_token, "other"))
