"""Orders real Clerk is allowed to serve: ties in a new order per request (`shuffle_ties`) and
`order_by` ignored (`unordered`), on offset lists and on the users cursor, seeded.

Oracles are the dataset's records: which rows tie, and what a sorted listing would be.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.fake_clerk import Churn, CreatedAtEdits, CursorGone, FakeClerk, Unordered, generate
from connector.fake_clerk.data import Dataset
from tests.fake_clerk.fake_clerk_testkit import get_json, running, walk_offset, walk_users_cursor

BULK = 40  # rows of each collection created in one millisecond


def bulk_dataset() -> Dataset:
    return generate(users=150, organizations=60, memberships=400, seed=21, bulk_import=BULK)


@pytest.fixture
def api() -> Iterator[tuple[FakeClerk, httpx.Client, Dataset]]:
    dataset = bulk_dataset()
    with running(dataset) as (fake, client):
        yield fake, client, dataset


def _rows(page: Any) -> list[dict[str, Any]]:
    rows = page["data"] if isinstance(page, dict) else page
    assert isinstance(rows, list)
    return rows


def _ids(page: Any) -> list[str]:
    return [row["id"] for row in _rows(page)]


def _sorted_ids(rows: Any) -> list[str]:
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id))]


def _bulk_ids(rows: Any) -> set[str]:
    """The ids of the largest created_at tie group."""
    groups: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        groups[row.created_at].add(row.id)
    biggest = max(groups.values(), key=len)
    assert len(biggest) >= 20
    return biggest


def _tied_ids(rows: Any) -> set[str]:
    """The ids of rows that share their created_at with another row."""
    counts = Counter(row.created_at for row in rows)
    return {row.id for row in rows if counts[row.created_at] > 1}


def _same_but_for_ties(ids: list[str], expected: list[str], created: dict[str, int]) -> None:
    assert Counter(ids) == Counter(expected)
    assert [created[i] for i in ids] == [created[i] for i in expected]


LISTS = {
    "/users": lambda d: d.users.values(),
    "/organizations": lambda d: d.organizations.values(),
    "/organization_memberships": lambda d: d.memberships.values(),
}


# -- shuffle_ties ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(LISTS))
@pytest.mark.parametrize("order_by", ["+created_at", "-created_at"])
def test_ties_come_back_in_a_new_order_on_every_request(
    api: tuple[FakeClerk, httpx.Client, Dataset], path: str, order_by: str
) -> None:
    fake, client, dataset = api
    records = list(LISTS[path](dataset))
    expected = _sorted_ids(records)
    if order_by.startswith("-"):
        expected.reverse()
    created = {r.id: r.created_at for r in records}
    fake.faults.shuffle_ties(seed=1)
    reads = [_ids(get_json(client, path, limit=500, order_by=order_by)) for _ in range(4)]
    for ids in reads:
        # The same rows, each once, and the ordered field still respected: only rows of one
        # millisecond trade places.
        _same_but_for_ties(ids, expected, created)
    bulk = _bulk_ids(records)
    tie_orders = [tuple(i for i in ids if i in bulk) for ids in reads]
    assert len(set(tie_orders)) == len(tie_orders)  # a different tie order on every request
    assert all(order != tuple(i for i in expected if i in bulk) for order in tie_orders)


def test_ties_shuffle_on_other_order_fields_too(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    path = "/organization_memberships"
    plain = _ids(get_json(client, path, limit=500, order_by="+first_name"))
    fake.faults.shuffle_ties(seed=2)
    shuffled = _ids(get_json(client, path, limit=500, order_by="+first_name"))
    first_name = {m.id: dataset.users[m.user_id].first_name for m in dataset.memberships.values()}
    assert shuffled != plain
    assert Counter(shuffled) == Counter(plain)
    assert [first_name[i] for i in shuffled] == [first_name[i] for i in plain]


def test_the_same_seed_gives_the_same_orders() -> None:
    def reads(seed: int) -> list[list[str]]:
        with running(bulk_dataset()) as (fake, client):
            fake.faults.shuffle_ties(seed=seed)
            return [
                _ids(get_json(client, path, limit=50, offset=offset, order_by="+created_at"))
                for path in LISTS
                for offset in (0, 50, 100)
            ]

    first = reads(7)
    assert reads(7) == first
    assert reads(8) != first


def test_an_offset_walk_over_shuffled_ties_repeats_and_misses_rows(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    fake.faults.shuffle_ties(seed=3)
    rows, totals = walk_offset(client, "/users", limit=7, order_by="+created_at")
    ids = [row["id"] for row in rows]
    assert not totals  # a bare array
    assert len(ids) == len(dataset.users)  # every page full: nothing looks wrong ...
    assert len(set(ids)) < len(ids)  # ... yet rows repeat
    missed = set(dataset.users) - set(ids)
    assert missed
    assert missed <= _tied_ids(dataset.users.values())  # and only tied rows go missing


def test_the_users_cursor_follows_the_named_user_in_the_current_order(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    bulk = _bulk_ids(dataset.users.values())
    ascending = _sorted_ids(dataset.users.values())
    first_bulk = min(ascending.index(i) for i in bulk)
    later = ascending[first_bulk + len(bulk) :]
    created = {u.id: u.created_at for u in dataset.users.values()}
    cursor = sorted(bulk)[len(bulk) // 2]
    fake.faults.shuffle_ties(seed=4)
    tied_after: list[frozenset[str]] = []
    for _ in range(6):
        page = _ids(
            get_json(client, "/users", limit=500, starting_after=cursor, order_by="+created_at")
        )
        head = page[: len(page) - len(later)]
        assert set(head) < bulk - {cursor}  # only some of the cursor's ties ...
        _same_but_for_ties(page[len(head) :], later, created)  # ... then every later row
        tied_after.append(frozenset(head))
    # Which ties follow the cursor changes from request to request.
    assert len(set(tied_after)) > 1
    assert len({len(head) for head in tied_after}) > 1


def test_a_cursor_walk_over_shuffled_ties_loses_users(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    fake.faults.shuffle_ties(seed=5)
    ids = [u["id"] for u in walk_users_cursor(client, limit=9, order_by="+created_at")]
    assert set(dataset.users) - set(ids)  # deterministic for this seed


def test_a_deleted_cursor_user_among_ties_resumes_within_its_group(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    bulk = _bulk_ids(dataset.users.values())
    ascending = _sorted_ids(dataset.users.values())
    later = ascending[min(ascending.index(i) for i in bulk) + len(bulk) :]
    created = {u.id: u.created_at for u in dataset.users.values()}
    gone = sorted(bulk)[3]
    dataset.remove_user(gone)
    fake.faults.shuffle_ties(seed=6)
    heads = set()
    for _ in range(5):
        page = _ids(
            get_json(client, "/users", limit=500, starting_after=gone, order_by="+created_at")
        )
        head = page[: len(page) - len(later)]
        assert set(head) <= bulk - {gone}
        _same_but_for_ties(page[len(head) :], later, created)
        heads.add(frozenset(head))
    assert len(heads) > 1


def test_shuffle_ties_is_scoped_and_counted(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    sorted_orgs = _sorted_ids(dataset.organizations.values())
    sorted_users = _sorted_ids(dataset.users.values())
    fault = fake.faults.shuffle_ties(seed=9, path="/users", times=2)
    assert (
        _ids(get_json(client, "/organizations", limit=500, order_by="+created_at")) == sorted_orgs
    )
    for _ in range(2):
        assert _ids(get_json(client, "/users", limit=500, order_by="+created_at")) != sorted_users
    assert _ids(get_json(client, "/users", limit=500, order_by="+created_at")) == sorted_users
    assert fault.hits == 2


# -- unordered -------------------------------------------------------------------------------


def test_unordered_shuffled_ignores_order_by_with_a_new_order_per_request(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    expected = _sorted_ids(dataset.organizations.values())
    fake.faults.unordered(Unordered.SHUFFLED, seed=1)
    reads = [
        _ids(get_json(client, "/organizations", limit=500, order_by="+created_at"))
        for _ in range(3)
    ]
    for ids in reads:
        assert sorted(ids) == sorted(expected)
        assert ids not in (expected, expected[::-1])
    assert len({tuple(ids) for ids in reads}) == 3
    rows, totals = walk_offset(client, "/organizations", limit=10, order_by="+created_at")
    assert totals == {len(expected)}
    assert len({r["id"] for r in rows}) < len(expected)  # pages from different orders


def test_unordered_stable_is_one_arbitrary_order_that_pages_completely(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    fake.faults.unordered("stable", seed=2)
    first = _ids(get_json(client, "/organization_memberships", limit=500, order_by="-created_at"))
    again = _ids(get_json(client, "/organization_memberships", limit=500, order_by="+created_at"))
    assert first == again
    assert first != _sorted_ids(dataset.memberships.values())
    rows, _ = walk_offset(client, "/organization_memberships", limit=33, order_by="+created_at")
    assert [r["id"] for r in rows] == first
    # The users cursor in a stable arbitrary order: complete, but not by created_at.
    users = [u["id"] for u in walk_users_cursor(client, limit=11, order_by="+created_at")]
    assert sorted(users) == sorted(dataset.users)
    assert users != _sorted_ids(dataset.users.values())


def test_unordered_newest_first_serves_the_default_order_whatever_is_asked(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    newest_first = _sorted_ids(dataset.organizations.values())[::-1]
    fake.faults.unordered(Unordered.NEWEST_FIRST)
    for order_by in ("+created_at", "name", "-members_count"):
        page = get_json(client, "/organizations", limit=500, order_by=order_by)
        assert _ids(page) == newest_first
    users = [u["id"] for u in walk_users_cursor(client, limit=13, order_by="+created_at")]
    assert users == _sorted_ids(dataset.users.values())[::-1]


def test_unordered_is_deterministic_per_seed() -> None:
    def reads(seed: int) -> list[list[str]]:
        with running(bulk_dataset()) as (fake, client):
            fake.faults.unordered(seed=seed)
            return [
                _ids(get_json(client, "/users", limit=20, order_by="+created_at")) for _ in range(3)
            ]

    assert reads(3) == reads(3)
    assert reads(3) != reads(4)


def test_unordered_with_a_cursor_continues_after_the_named_user(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    fake.faults.unordered("stable", seed=5)
    order = _ids(get_json(client, "/users", limit=500, order_by="+created_at"))
    after = _ids(
        get_json(client, "/users", limit=5, starting_after=order[10], order_by="+created_at")
    )
    assert after == order[11:16]
    dataset.remove_user(order[20])  # a deleted cursor user keeps its place in the order
    after = _ids(
        get_json(client, "/users", limit=5, starting_after=order[20], order_by="+created_at")
    )
    assert after == order[21:26]


# -- modes together, under churn ---------------------------------------------------------------


def test_modes_compose_with_churn_and_edits() -> None:
    dataset = bulk_dataset()
    with running(dataset) as (fake, client):
        churn = Churn(dataset, rate=1.0, seed=11)
        edits = CreatedAtEdits(dataset, rate=0.5, seed=11)
        fake.hooks = [churn, edits]
        fake.faults.shuffle_ties(seed=11)
        fake.faults.cursor_gone(CursorGone.ERROR, times=1)
        users: list[str] = []
        cursor: str | None = None
        for _ in range(100):
            params: dict[str, Any] = {"limit": 10, "order_by": "+created_at"}
            if cursor:
                params["starting_after"] = cursor
            response = client.get("/users", params=params)
            if response.status_code == 422:  # the cursor user was deleted: start over
                cursor = None
                continue
            page = _ids(response.json())
            users += page
            if len(page) < 10:
                break
            cursor = page[-1]
        orgs, _ = walk_offset(client, "/organizations", limit=9, order_by="+created_at")
        churned, edited = churn.stop(), edits.stop()
        assert fake.stats.exceptions == ()
    assert set(users) <= set(churned.ever.users)
    assert {o["id"] for o in orgs} <= set(churned.ever.organizations)
    assert set(edited.survivors.users) == set(churned.survivors.users)
