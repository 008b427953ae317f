from __future__ import annotations

from dataclasses import dataclass

import pytest

from connector.clerk import ClerkPagingError
from connector.page_tokens import InvalidPageToken
from connector.resources.base import keyset_page
from connector.resources.stream import MAX_PAGES, StreamPosition, advance, read_position


@dataclass(frozen=True)
class Row:
    id: str
    created_at: int


def step(raw: list[Row], token: str, size: int = 3) -> tuple[list[Row], str]:
    position = read_position(token, "rows", int, 0)
    page = advance(
        route="/rows",
        kind="rows",
        raw=raw,
        position=position,
        requested=size,
        exhausted=len(raw) < size,
        next_cursor=position.cursor + len(raw),
        created_at=lambda row: row.created_at,
        object_id=lambda row: row.id,
    )
    return page.fresh, page.next_token


def test_short_page_ends_the_list() -> None:
    fresh, token = step([Row("a", 1), Row("b", 2)], "")
    assert [r.id for r in fresh] == ["a", "b"]
    assert token == ""


def test_rows_repeated_by_a_shifted_offset_are_dropped() -> None:
    _, token = step([Row("a", 1), Row("b", 2), Row("c", 2)], "")
    assert token
    # The server repeats c (same instant) and b; only d is new.
    fresh, token2 = step([Row("b", 2), Row("c", 2), Row("d", 3)], token)
    assert [r.id for r in fresh] == ["d"]
    assert token2
    assert token2 != token


def test_same_instant_rows_are_not_mistaken_for_repeats() -> None:
    _, token = step([Row("a", 1), Row("b", 5), Row("c", 5)], "")
    fresh, _ = step([Row("d", 5), Row("e", 6), Row("f", 7)], token)
    assert [r.id for r in fresh] == ["d", "e", "f"]


def test_a_full_page_of_served_rows_fails_instead_of_looping() -> None:
    first = [Row("a", 1), Row("b", 2), Row("c", 3)]
    _, token = step(first, "")
    with pytest.raises(ClerkPagingError, match="already served"):
        step(first, token)


def test_page_cap_ends_a_server_that_never_stops() -> None:
    position = StreamPosition(pages=MAX_PAGES, edge=None, cursor=0)
    with pytest.raises(ClerkPagingError, match="gave up"):
        advance(
            route="/rows",
            kind="rows",
            raw=[Row("z", 1)],
            position=position,
            requested=1,
            exhausted=False,
            next_cursor=1,
            created_at=lambda row: row.created_at,
            object_id=lambda row: row.id,
        )


def test_tokens_always_move_forward() -> None:
    token = ""
    seen = set()
    rows = [Row(f"r{i:03}", i // 2) for i in range(30)]
    served: list[str] = []
    for start in range(0, 30, 3):
        fresh, token = step(rows[start : start + 3], token)
        served += [r.id for r in fresh]
        if not token:
            break
        assert token not in seen
        seen.add(token)
    assert served == [r.id for r in rows]


def test_keyset_page_walks_every_item_once() -> None:
    items = [f"id{i:04}" for i in range(1001)]
    token, out, pages = "", [], 0
    while True:
        page = keyset_page(items, lambda item: item, 500, token, "k")
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
    first = keyset_page(items, lambda item: item, 500, "", "k")
    assert first.items == items[:500]
    assert bool(first.next_token) == (count > 500)


def test_keyset_resumes_after_list_changed() -> None:
    items = ["a", "b", "c", "d"]
    page = keyset_page(items, lambda item: item, 2, "", "k")
    shrunk = ["a", "c", "d"]  # b deleted between pages
    rest = keyset_page(shrunk, lambda item: item, 2, page.next_token, "k")
    assert rest.items == ["c", "d"]


def test_keyset_rejects_foreign_token() -> None:
    page = keyset_page(["a", "b"], lambda item: item, 1, "", "k")
    with pytest.raises(InvalidPageToken):
        keyset_page(["a", "b"], lambda item: item, 1, page.next_token, "other")


def test_a_server_that_ignores_order_by_is_followed_newest_first() -> None:
    rows = [Row(f"r{i:02}", 100 - i // 2) for i in range(12)]  # newest first, with ties
    token, served = "", []
    for start in range(0, 12, 3):
        fresh, token = step(rows[start : start + 3], token)
        served += [r.id for r in fresh]
    assert served == [r.id for r in rows]
    # ...and a repeated page is still recognised in that direction.
    _, token = step(rows[:3], "")
    with pytest.raises(ClerkPagingError):
        step(rows[:3], token)
