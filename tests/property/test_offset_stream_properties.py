"""Properties of an offset listing served over gRPC pages (connector/clerk/paging.py through
connector/resources/stream.py) against an in-memory list that changes between requests the way
a database does: rows deleted anywhere (later rows shift left), rows created "now" (at the end,
or in the newest row's millisecond).

Whatever the changes, the listing ends complete, every row that existed for the whole walk is
served exactly once, nothing else is ever served, no page is larger than asked, and a hostile
server ends in an error, never in an endless walk or a short list presented as complete.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from connector.c1.stream import stream_page
from connector.c1.sync_cache import SyncScope
from connector.clerk import ClerkPagingError, Listing, ListingIncomplete, OffsetPage
from connector.clerk.paging import DEFAULT_MAX_REWINDS, offset_walk
from tests.property.settings import PROPERTY

MAX_CALLS = 1_000


@dataclass(frozen=True, order=True)
class Row:
    created_at: int
    id: str


def rows_page(data: list[Row], total_count: int) -> OffsetPage[Row]:
    return OffsetPage[Row](data=data, total_count=total_count)


@dataclass
class ChangingList:
    """Sorted rows; `changes` runs before each request, as the fake's churn hook does."""

    rows: list[Row]
    draw: st.DataObject
    budget: int  # mutations left, so the walk must end
    ever: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    requests: int = 0
    serial: int = 0

    def fetch(self, *, limit: int, offset: int) -> OffsetPage[Row]:
        self.requests += 1
        self.change()
        return rows_page(self.rows[offset : offset + limit], len(self.rows))

    def change(self) -> None:
        count = min(self.budget, self.draw.draw(st.integers(0, 3), label="changes"))
        self.budget -= count
        for _ in range(count):
            delete: bool = bool(self.rows) and self.draw.draw(st.booleans(), label="delete")
            if delete:
                index = self.draw.draw(st.integers(0, len(self.rows) - 1), label="index")
                self.deleted.add(self.rows.pop(index).id)
                continue
            newest = max((row.created_at for row in self.rows), default=0)
            same_instant = self.draw.draw(st.booleans(), label="same instant")
            self.serial += 1
            # Ids carry no order: a same-instant row may sort before the newest one.
            row = Row(
                newest if same_instant else newest + 1, f"{self.serial % 7}-new-{self.serial}"
            )
            self.rows.append(row)
            self.rows.sort()
            self.ever.add(row.id)


def initial_rows(stamps: list[int]) -> list[Row]:
    at = 0
    rows = []
    for index, gap in enumerate(stamps):
        at += gap  # gaps of 0 are rows created in the same millisecond
        rows.append(Row(at, f"{index % 5}-old-{index}"))
    return sorted(rows)


def serve_all(fetch: object, size: int, max_calls: int) -> tuple[list[str], Listing[Row]]:
    """Every gRPC page of one listing; the listing is created by the first call."""
    scope = SyncScope()
    made: list[Listing[Row]] = []

    def start() -> Listing[Row]:
        made.append(Listing("/rows", offset_walk(fetch, max(size, 2), route="/rows")))  # type: ignore[arg-type]
        return made[0]

    served: list[str] = []
    token = ""
    tokens: set[str] = set()
    for _ in range(max_calls):
        rows, token = stream_page(
            kind="rows", token=token, size=size, scope=scope, cache=None, start=start
        )
        assert len(rows) <= size
        served += [row.id for row in rows]
        if not token:
            return served, made[0]
        assert token not in tokens, "a page token repeated: the platform would loop"
        tokens.add(token)
    raise AssertionError("the walk did not end")


@PROPERTY
@given(
    stamps=st.lists(st.integers(0, 3), max_size=40),
    size=st.integers(1, 7),
    budget=st.integers(0, 40),
    data=st.data(),
)
def test_survivors_are_served_exactly_once_whatever_changes(
    stamps: list[int], size: int, budget: int, data: st.DataObject
) -> None:
    rows = initial_rows(stamps)
    source = ChangingList(list(rows), data, budget, ever={row.id for row in rows})
    served, listing = serve_all(source.fetch, size, MAX_CALLS)
    counts = Counter(served)
    survivors = {row.id for row in rows} - source.deleted
    assert not [row_id for row_id, n in counts.items() if n > 1], "served twice"
    assert survivors <= counts.keys(), "a row that existed throughout was skipped"
    assert counts.keys() <= source.ever, "served a row that never existed"
    assert listing.evidence is not None
    assert listing.evidence.complete
    assert source.requests <= (DEFAULT_MAX_REWINDS + 1) * (len(rows) + budget + 2) * 2


@PROPERTY
@given(
    pages=st.lists(
        st.tuples(
            st.lists(st.builds(Row, st.integers(0, 20), st.sampled_from("abcdefgh")), max_size=8),
            st.integers(0, 30),
        ),
        min_size=1,
        max_size=30,
    ),
    size=st.integers(1, 7),
)
def test_a_lying_server_ends_in_an_error_not_a_loop(
    pages: list[tuple[list[Row], int]], size: int
) -> None:
    """Any rows and totals at all (unsorted, repeated, shrinking): the listing either ends with
    at least as many distinct rows as the last total says, or raises; it never loops."""
    answers = iter(pages * 50)
    requests = 0

    def fetch(*, limit: int, offset: int) -> OffsetPage[Row]:
        nonlocal requests
        requests += 1
        rows, total = next(answers, ([], 0))
        return rows_page(rows[:limit], total)

    try:
        served, listing = serve_all(fetch, size, len(pages) * 50 + 2)
    except (ClerkPagingError, ListingIncomplete):
        return
    assert listing.evidence is not None
    assert len(set(served)) >= listing.evidence.expected - listing.evidence.churn
