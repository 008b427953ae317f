"""The users cursor after a deleted user (`cursor_gone`), the `created_at_after` /
`created_at_before` filters, and the totals a client can check itself against (`total_count`,
`GET /users/count`, `members_count`), over real HTTP.

Expected sets come from the dataset's records, filtered and counted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.fake_clerk import CursorGone, FakeClerk, generate
from connector.fake_clerk.data import Dataset, MembershipRecord, UserRecord
from tests.fake_clerk.fake_clerk_testkit import (
    clerk_error,
    get_json,
    running,
    walk_offset,
    walk_users_cursor,
)


@pytest.fixture
def api() -> Iterator[tuple[FakeClerk, httpx.Client, Dataset]]:
    dataset = generate(users=200, organizations=12, memberships=500, seed=31, bulk_import=25)
    with running(dataset) as (fake, client):
        yield fake, client, dataset


def _ids(rows: Any) -> list[str]:
    rows = rows["data"] if isinstance(rows, dict) else rows
    return [row["id"] for row in rows]


def _ascending(rows: Any) -> list[str]:
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id))]


def _bulk_instant(rows: Any) -> int:
    stamps: list[int] = [r.created_at for r in rows]
    return max(set(stamps), key=stamps.count)


# -- cursor_gone -------------------------------------------------------------------------------


def _cursor_page(client: httpx.Client, cursor: str) -> httpx.Response:
    return client.get(
        "/users", params={"limit": 5, "order_by": "+created_at", "starting_after": cursor}
    )


def test_a_deleted_cursor_user_resumes_by_default(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = api
    order = _ascending(dataset.users.values())
    dataset.remove_user(order[3])
    assert _ids(_cursor_page(client, order[3]).json()) == order[4:9]


def test_cursor_gone_empty_answers_an_empty_page(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    order = _ascending(dataset.users.values())
    fault = fake.faults.cursor_gone(CursorGone.EMPTY)
    assert _ids(_cursor_page(client, order[3]).json()) == order[4:9]  # a live cursor: as usual
    assert fault.hits == 0
    dataset.remove_user(order[3])
    response = _cursor_page(client, order[3])
    assert response.status_code == 200
    assert response.json() == []
    assert fault.hits == 1


def test_cursor_gone_error_answers_422_on_starting_after(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    order = _ascending(dataset.users.values())
    fake.faults.cursor_gone("error", times=1)
    dataset.remove_user(order[3])
    response = _cursor_page(client, order[3])
    assert response.status_code == 422
    error = clerk_error(response)
    assert error["meta"] == {"param_name": "starting_after"}
    assert error["code"] == "form_param_value_invalid"
    # times=1: the next such request resumes again.
    assert _ids(_cursor_page(client, order[3]).json()) == order[4:9]


def test_cursor_gone_resume_is_the_default_made_explicit(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    order = _ascending(dataset.users.values())
    fault = fake.faults.cursor_gone(CursorGone.RESUME)
    dataset.remove_user(order[3])
    assert _ids(_cursor_page(client, order[3]).json()) == order[4:9]
    assert fault.hits == 1


def test_a_cursor_that_never_existed_is_422_whatever_the_mode(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, _ = api
    fake.faults.cursor_gone(CursorGone.EMPTY)
    response = _cursor_page(client, "user_never_was")
    assert response.status_code == 422


# -- created_at filters ------------------------------------------------------------------------


def _users_between(dataset: Dataset, after: int | None, before: int | None) -> list[UserRecord]:
    return [
        u
        for u in dataset.users.values()
        if (after is None or u.created_at > after) and (before is None or u.created_at < before)
    ]


def test_user_filters_are_strict_bounds(api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, dataset = api
    instant = _bulk_instant(dataset.users.values())
    for after, before in ((instant, None), (None, instant), (instant - 1, instant + 1)):
        params = {
            k: v for k, v in (("created_at_after", after), ("created_at_before", before)) if v
        }
        expected = _ascending(_users_between(dataset, after, before))
        page = get_json(client, "/users", limit=500, order_by="+created_at", **params)
        assert _ids(page) == expected, params
        assert get_json(client, "/users/count", **params)["total_count"] == len(expected)
    # The bulk millisecond itself: excluded by both strict bounds, all 25 rows inside +-1 ms.
    inside = get_json(
        client, "/users", limit=500, created_at_after=instant - 1, created_at_before=instant + 1
    )
    assert len(inside) == 25
    assert all(u["created_at"] == instant for u in inside)


def test_user_filters_combine_with_order_offset_and_cursor(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = api
    stamps = sorted(u.created_at for u in dataset.users.values())
    after, before = stamps[30], stamps[170]
    expected = _ascending(_users_between(dataset, after, before))
    window = {"created_at_after": after, "created_at_before": before}
    newest = get_json(client, "/users", limit=500, order_by="-created_at", **window)
    assert _ids(newest) == expected[::-1]
    rows, _ = walk_offset(client, "/users", limit=17, order_by="+created_at", **window)
    assert _ids(rows) == expected
    walked: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 13, "order_by": "+created_at", **window}
        if cursor:
            params["starting_after"] = cursor
        page = _ids(get_json(client, "/users", **params))
        walked += page
        if len(page) < 13:
            break
        cursor = page[-1]
    assert walked == expected
    # A cursor outside the window still marks a place: the rows after it inside the window.
    first = _ascending(dataset.users.values())[0]
    page = get_json(
        client, "/users", limit=5, order_by="+created_at", starting_after=first, **window
    )
    assert _ids(page) == expected[:5]


def test_filter_values_must_be_integers(api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, dataset = api
    org_id = next(iter(dataset.organizations))
    for path in ("/users", "/users/count", f"/organizations/{org_id}/memberships"):
        response = client.get(path, params={"created_at_after": "yesterday"})
        assert response.status_code == 422, path
        assert clerk_error(response)["meta"] == {"param_name": "created_at_after"}


def _biggest_org(dataset: Dataset) -> str:
    return max(dataset.organizations, key=dataset.members_count)


def _members(dataset: Dataset, org_id: str) -> list[MembershipRecord]:
    return [m for m in dataset.memberships.values() if m.organization_id == org_id]


def test_membership_filters_use_the_membership_created_at(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = api
    org_id = _biggest_org(dataset)
    members = _members(dataset, org_id)
    stamps = sorted(m.created_at for m in members)
    after, before = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    expected = _ascending(m for m in members if after < m.created_at < before)
    path = f"/organizations/{org_id}/memberships"
    rows, totals = walk_offset(
        client, path, limit=7, order_by="+created_at", created_at_after=after,
        created_at_before=before,
    )  # fmt: skip
    assert _ids(rows) == expected
    assert totals == {len(expected)}  # total_count counts the filtered rows
    # The instance-wide list has no such filters (the spec defines none): they are ignored.
    every = get_json(client, "/organization_memberships", limit=1, created_at_after=after)
    assert every["total_count"] == len(dataset.memberships)


def test_members_filtered_by_user_compare_the_user_created_at(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, client, dataset = api
    org_id = _biggest_org(dataset)
    members = _members(dataset, org_id)
    user_time = {m.id: dataset.users[m.user_id].created_at for m in members}
    pivot = sorted(user_time.values())[len(members) // 2]
    by_membership = {m.id for m in members if m.created_at > pivot}
    by_user = {m.id for m in members if user_time[m.id] > pivot}
    assert by_user != by_membership  # so the test can tell the two readings apart
    fake.faults.members_filtered_by_user()
    page = get_json(
        client, f"/organizations/{org_id}/memberships", limit=500, created_at_after=pivot
    )
    assert set(_ids(page)) == by_user
    assert page["total_count"] == len(by_user)


# -- totals at the time of the request ----------------------------------------------------------


def test_totals_are_counted_at_each_request(api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, dataset = api
    org_id = _biggest_org(dataset)
    before = get_json(client, "/organization_memberships", limit=1)["total_count"]
    count_before = get_json(client, "/users/count")["total_count"]
    orgs = get_json(client, "/organizations", limit=500, include_members_count="true")
    members = {o["id"]: o["members_count"] for o in orgs["data"]}
    assert members[org_id] == len(_members(dataset, org_id))
    victim = _members(dataset, org_id)[0].user_id
    gone = [m for m in dataset.memberships.values() if m.user_id == victim]
    dataset.remove_user(victim)
    assert get_json(client, "/users/count")["total_count"] == count_before - 1
    assert len(get_json(client, "/users", limit=500)) == count_before - 1
    after = get_json(client, "/organization_memberships", limit=1)["total_count"]
    assert after == before - len(gone)
    counted = get_json(client, f"/organizations/{org_id}", include_members_count="true")
    assert counted["members_count"] == members[org_id] - 1
    per_org = get_json(client, f"/organizations/{org_id}/memberships", limit=1)
    assert per_org["total_count"] == members[org_id] - 1


def test_users_count_equals_what_the_list_serves(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = api
    listed = walk_users_cursor(client, limit=50, order_by="-created_at")
    assert get_json(client, "/users/count")["total_count"] == len(listed) == len(dataset.users)


def test_an_organizations_members_filter_by_user_and_role(
    api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _fake, client, dataset = api
    counts: dict[str, int] = {}
    for membership in dataset.memberships.values():
        counts[membership.organization_id] = counts.get(membership.organization_id, 0) + 1
    org_id = max(counts, key=lambda org: counts[org])
    rows = [m for m in dataset.memberships.values() if m.organization_id == org_id]
    path = f"/organizations/{org_id}/memberships"
    some = sorted({m.user_id for m in rows})[:2]
    picked = get_json(client, path, user_id=some, limit=500)
    assert sorted(m["public_user_data"]["user_id"] for m in picked["data"]) == some
    assert picked["total_count"] == 2
    # `-id` excludes; ids that are no member are ignored.
    others = get_json(client, path, user_id=[f"-{some[0]}", "user_nobody"], limit=500)
    assert others["total_count"] == 0  # "user_nobody" is an include filter matching no one
    excluded = get_json(client, path, user_id=[f"-{some[0]}"], limit=500)
    assert excluded["total_count"] == len(rows) - 1
    role = rows[0].role
    by_role = get_json(client, path, role=[role], limit=500)
    assert by_role["total_count"] == sum(1 for m in rows if m.role == role)
    assert {m["role"] for m in by_role["data"]} == {role}
    too_many = client.get(path, params={"role": [f"r{i}" for i in range(101)]})
    assert too_many.status_code == 422
    assert clerk_error(too_many)["meta"]["param_name"] == "role"
