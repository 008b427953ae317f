from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from connector.clerk import ClerkPagingError, OffsetPage, iter_offset_pages
from tests.clerk.clerk_testkit import (
    Handler,
    Recorder,
    json_response,
    make_client,
    membership_json,
    page_json,
    permission_json,
    role_json,
    user_json,
)


@dataclass(frozen=True)
class Row:
    id: str


def rows(*ids: str) -> list[Row]:
    return [Row(i) for i in ids]


def flat(pages: Sequence[Sequence[Row]]) -> list[str]:
    return [row.id for page in pages for row in page]


# -- cursor paging (GET /users) -------------------------------------------------------------------


# -- offset paging ---------------------------------------------------------------------------------


@dataclass
class OffsetServer:
    """An honest offset list in ascending creation order; tests mutate `ids` between calls."""

    ids: list[str]
    offsets: list[int] = field(default_factory=list)
    total_count_override: int | None = None

    def __call__(self, *, limit: int, offset: int) -> OffsetPage[Row]:
        self.offsets.append(offset)
        total = len(self.ids) if self.total_count_override is None else self.total_count_override
        return OffsetPage[Row](data=rows(*self.ids[offset : offset + limit]), total_count=total)


def test_offset_reads_everything_once_with_a_row_of_overlap_on_tiny_pages() -> None:
    server = OffsetServer([f"r{i}" for i in range(12)])
    assert flat(list(iter_offset_pages(server, page_size=5, route="/x"))) == [
        f"r{i}" for i in range(12)
    ]
    assert server.offsets == [0, 4, 8]  # (pages of 500 overlap by two rows)


def test_offset_stops_at_total_count_without_an_extra_request() -> None:
    server = OffsetServer([f"r{i}" for i in range(8)])
    assert len(flat(list(iter_offset_pages(server, page_size=5, route="/x")))) == 8
    assert server.offsets == [0, 4]  # the page at 4 is short but reaches total_count 8


def test_offset_short_page_that_its_total_count_contradicts_is_an_error() -> None:
    # A server that cuts pages short (the fake's short_pages fault) must not end the listing
    # quietly: the rows after the cut would be missing from an answer presented as complete.
    server = OffsetServer([f"r{i}" for i in range(7)], total_count_override=1000)
    with pytest.raises(ClerkPagingError, match="short page at offset 4 of 1000"):
        list(iter_offset_pages(server, page_size=5, route="/x"))
    assert server.offsets == [0, 4]


def test_offset_on_an_empty_list_makes_one_request() -> None:
    server = OffsetServer([])
    assert list(iter_offset_pages(server, page_size=5, route="/x")) == []
    assert server.offsets == [0]


def test_offset_ignored_by_server_raises() -> None:
    def ignores_offset(*, limit: int, offset: int) -> OffsetPage[Row]:
        return OffsetPage[Row](data=rows("a", "b", "c"), total_count=100)

    with pytest.raises(ClerkPagingError, match="only rows already listed"):
        list(iter_offset_pages(ignores_offset, page_size=3, route="/organizations"))


def test_offset_hard_cap() -> None:
    server = OffsetServer([f"r{i}" for i in range(1000)])
    with pytest.raises(ClerkPagingError, match="30 pages"):
        list(iter_offset_pages(server, page_size=4, max_pages=30, route="/x"))
    assert len(server.offsets) == 30


def test_offset_deletion_before_the_cursor_does_not_skip_rows() -> None:
    server = OffsetServer([f"r{i:02d}" for i in range(20)])
    pages = iter_offset_pages(server, page_size=5, route="/x")
    seen = flat([next(pages)])  # r00..r04
    del server.ids[0:3]  # three older rows deleted: r05, r06, r07 now sit before offset 4
    seen += flat(list(pages))
    assert sorted(seen) == [f"r{i:02d}" for i in range(20)]
    assert len(seen) == len(set(seen))


def test_offset_deletion_of_the_overlap_row_itself() -> None:
    server = OffsetServer([f"r{i:02d}" for i in range(20)])
    pages = iter_offset_pages(server, page_size=5, route="/x")
    seen = flat([next(pages)])
    server.ids.remove("r04")  # the row the next page should start with
    seen += flat(list(pages))
    assert sorted(seen) == sorted(f"r{i:02d}" for i in range(20))
    assert len(seen) == len(set(seen))


def test_offset_deletions_that_empty_the_next_page() -> None:
    server = OffsetServer([f"r{i}" for i in range(6)])
    pages = iter_offset_pages(server, page_size=5, route="/x")
    seen = flat([next(pages)])  # r0..r4; next request is offset 4
    del server.ids[0:3]  # list is r3 r4 r5: offset 4 is now past the end
    seen += flat(list(pages))
    assert "r5" in seen
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("seed", range(200))
def test_offset_random_churn_never_skips_a_row_that_existed_throughout(seed: int) -> None:
    rng = random.Random(seed)
    next_id = iter(range(10**6))
    ids = [f"r{next(next_id):06d}" for _ in range(rng.randint(0, 60))]
    initial = set(ids)
    deleted: set[str] = set()
    created: set[str] = set()

    def churning(*, limit: int, offset: int) -> OffsetPage[Row]:
        # Between requests: delete some rows anywhere, append new rows at the end (newest).
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            if ids:
                deleted.add(ids.pop(rng.randrange(len(ids))))
        for _ in range(rng.choice([0, 0, 1, 3])):
            new = f"r{next(next_id):06d}"
            ids.append(new)
            created.add(new)
        return OffsetPage[Row](data=rows(*ids[offset : offset + limit]), total_count=len(ids))

    page_size = rng.randint(2, 8)
    listed = flat(list(iter_offset_pages(churning, page_size=page_size, route="/x")))
    assert len(listed) == len(set(listed)), "a row was yielded twice"
    assert initial - deleted <= set(listed), "a row that existed throughout was skipped"
    assert set(listed) <= initial | created


def test_offset_hostile_ping_pong_is_bounded_by_max_rewinds() -> None:
    offsets: list[int] = []

    def empty_after_first(*, limit: int, offset: int) -> OffsetPage[Row]:
        offsets.append(offset)
        data = rows("a", "b", "c") if offset == 0 else []
        return OffsetPage[Row](data=data, total_count=50)

    with pytest.raises(ClerkPagingError, match="kept shifting"):
        list(iter_offset_pages(empty_after_first, page_size=3, max_rewinds=5, route="/x"))
    assert len(offsets) == 12  # 6 rounds of (offset 0, offset 2)


@pytest.mark.parametrize("page_size", [0, 1, 501])
def test_offset_rejects_bad_page_size(page_size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(iter_offset_pages(OffsetServer([]), page_size=page_size, route="/x"))


# -- the client's full listings over HTTP -------------------------------------------------------


def test_users_page_sends_the_cursor_and_ascending_order() -> None:
    users = [user_json(f"user_{i}", created_at=1000 + i) for i in range(5)]

    def respond(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("starting_after")
        start = 0 if after is None else [u["id"] for u in users].index(after) + 1
        limit = int(request.url.params["limit"])
        page: httpx.Response = json_response(users[start : start + limit])
        return page

    recorder = Recorder(respond)
    with make_client(recorder) as client:
        first = client.users_page(limit=2, starting_after=None)
        second = client.users_page(limit=2, starting_after=first[-1].id)
    assert [u.id for u in first + second] == [f"user_{i}" for i in range(4)]
    assert [r.url.params.get("starting_after") for r in recorder.requests] == [None, "user_1"]
    assert {r.url.params["order_by"] for r in recorder.requests} == {"+created_at"}


def _offset_handler(items: list[dict[str, Any]]) -> Handler:
    def respond(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        assert request.url.params["order_by"] == "+created_at"
        return json_response(page_json(items[offset : offset + limit], total_count=len(items)))

    return respond


def test_organization_memberships_listing_pages_one_organization() -> None:
    memberships = [
        membership_json(f"mem_{i}", org_id="org_a/b", user_id=f"user_{i}") for i in range(5)
    ]
    recorder = Recorder(_offset_handler(memberships))
    with make_client(recorder, page_size=2) as client:
        listed = [m for batch in client.organization_memberships_listing("org_a/b") for m in batch]
    assert [m.user_id for m in listed] == [f"user_{i}" for i in range(5)]
    assert {r.url.raw_path.split(b"?")[0] for r in recorder.requests} == {
        b"/v1/organizations/org_a%2Fb/memberships"
    }
    assert [int(r.url.params["offset"]) for r in recorder.requests] == [0, 1, 2, 3]


def test_instance_memberships_listing() -> None:
    mems = [membership_json(f"mem_{i}") for i in range(3)]
    recorder = Recorder(_offset_handler(mems))
    with make_client(recorder) as client:
        listed = [m.id for batch in client.instance_memberships_listing() for m in batch]
        assert listed == ["mem_0", "mem_1", "mem_2"]
    assert recorder.paths == ["/v1/organization_memberships"]


def test_list_roles_permissions_role_sets() -> None:
    perms = [permission_json("perm_1", "org:sys_memberships:manage")]
    roles = [role_json("role_1", "org:admin", perms), role_json("role_2", "org:member")]
    recorder = Recorder(_offset_handler(roles))
    with make_client(recorder) as client:
        assert [r.key for r in client.list_roles()] == ["org:admin", "org:member"]
    assert recorder.paths == ["/v1/organization_roles"]
    recorder = Recorder(_offset_handler(perms))
    with make_client(recorder) as client:
        assert [p.key for p in client.list_permissions()] == ["org:sys_memberships:manage"]
    assert recorder.paths == ["/v1/organization_permissions"]
    recorder = Recorder(_offset_handler([{"id": "rs_1", "key": "role_set:default", "roles": []}]))
    with make_client(recorder) as client:
        assert [s.key for s in client.list_role_sets()] == ["role_set:default"]
    assert recorder.paths == ["/v1/role_sets"]


def test_paging_error_from_the_client_names_the_route() -> None:
    def ignores_offset(request: httpx.Request) -> httpx.Response:
        return json_response(
            page_json([membership_json(f"mem_{i}") for i in range(2)], total_count=99)
        )

    with (
        make_client(Recorder(ignores_offset), page_size=2) as client,
        pytest.raises(ClerkPagingError) as caught,
    ):
        list(client.instance_memberships_listing())
    assert caught.value.route == "/organization_memberships"
    assert "GET /organization_memberships" in str(caught.value)


def test_offset_heavy_churn_on_a_long_list_still_progresses_cheaply() -> None:
    """Three deletions anywhere before every request: the small first step-back (4 rows) keeps
    the re-reading to a few rows per page instead of a whole page each time."""
    rng = random.Random(7)
    ids = [f"r{i:06d}" for i in range(5000)]
    survivors = set(ids)
    requests = 0

    def churning(*, limit: int, offset: int) -> OffsetPage[Row]:
        nonlocal requests
        requests += 1
        for _ in range(3):
            gone = ids.pop(rng.randrange(len(ids)))
            survivors.discard(gone)
        return OffsetPage[Row](data=rows(*ids[offset : offset + limit]), total_count=len(ids))

    listed = flat(list(iter_offset_pages(churning, page_size=500, route="/x")))
    assert len(listed) == len(set(listed))
    assert survivors <= set(listed)
    assert requests <= 25  # 11 pages without churn; stepping back a whole page took 503


def test_a_page_inside_a_reordered_tie_group_after_a_deletion_steps_back() -> None:
    """The gap the older-row rule closes: the last page ends inside a group of rows sharing one
    instant that runs on into the next page; a row before the group is deleted, so the next
    page starts one position into the group, and the group comes back in another order. A page
    that starts with a group row already read proves nothing: the walk steps back."""

    @dataclass
    class Timed:
        id: str
        created_at: int

    rows = [Timed(f"a{i}", i) for i in range(4)] + [Timed(f"g{i}", 100) for i in range(6)]
    rows += [Timed(f"z{i}", 200 + i) for i in range(4)]
    served: list[list[str]] = []
    offsets: list[int] = []

    def fetch(*, limit: int, offset: int) -> OffsetPage[Timed]:
        offsets.append(offset)
        if len(offsets) == 2:
            del rows[0]  # deleted after the first page was read
            group = rows[3:9]
            rows[3:9] = [group[-1], *group[:-1]]  # the group in another order
        page = rows[offset : offset + limit]
        served.append([row.id for row in page])
        return OffsetPage[Timed](data=page, total_count=len(rows))

    got = [row.id for page in iter_offset_pages(fetch, page_size=6, route="/x") for row in page]
    survivors = {row.id for row in rows}
    assert survivors <= set(got)
    assert len(got) == len(set(got))
    assert offsets[2] < offsets[1]  # the second page did not join: a step back
