"""The fake Clerk over real HTTP: shapes, paging, ordering, auth and errors.

Expected values come from the dataset's records (an independent oracle: plain sorting and counting
here), or from the OpenAPI spec file itself, never from the fake's own rendering code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from connector.fake_clerk import FakeClerk, awkward, generate
from connector.fake_clerk.data import Dataset, MembershipRecord, UserRecord, samples
from tests.fake_clerk.fake_clerk_testkit import (
    check_schema,
    clerk_error,
    client_for,
    get_json,
    running,
    spec_path,
    walk_offset,
    walk_users_cursor,
)

OFFSET_LISTS = (
    "/organizations",
    "/organization_memberships",
    f"/organizations/{samples.ORG_ACME}/memberships",
    "/organization_roles",
    "/organization_permissions",
    "/role_sets",
)
ALL_LISTS = ("/users", *OFFSET_LISTS)


@pytest.fixture(scope="module")
def awkward_api() -> Iterator[tuple[FakeClerk, httpx.Client, Dataset]]:
    dataset = awkward()
    with running(dataset) as (fake, client):
        yield fake, client, dataset


@pytest.fixture(scope="module")
def generated_api() -> Iterator[tuple[FakeClerk, httpx.Client, Dataset]]:
    dataset = generate(users=613, organizations=41, memberships=1_877, seed=7)
    with running(dataset) as (fake, client):
        yield fake, client, dataset


@pytest.fixture
def api(awkward_api: tuple[FakeClerk, httpx.Client, Dataset]) -> httpx.Client:
    return awkward_api[1]


def _ascending(rows: Any) -> list[str]:
    return [row.id for row in sorted(rows, key=lambda row: (row.created_at, row.id))]


# -- users -----------------------------------------------------------------------------------


def test_users_is_a_bare_array_newest_first_with_default_limit_10(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = awkward_api
    page = get_json(client, "/users")
    assert isinstance(page, list)
    assert len(dataset.users) > 10
    assert [u["id"] for u in page] == _ascending(dataset.users.values())[::-1][:10]
    assert all(u["object"] == "user" and isinstance(u["created_at"], int) for u in page)


def test_users_order_by_ascending_and_descending(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = awkward_api
    expected = _ascending(dataset.users.values())
    for order_by in ("created_at", "+created_at", " created_at"):  # " ": an unencoded "+"
        page = get_json(client, "/users", limit=500, order_by=order_by)
        assert [u["id"] for u in page] == expected
    page = get_json(client, "/users", limit=500, order_by="-created_at")
    assert [u["id"] for u in page] == expected[::-1]


def test_users_created_in_the_same_millisecond_sort_by_id(api: httpx.Client) -> None:
    page = get_json(api, "/users", limit=500, order_by="+created_at")
    tied = [u["id"] for u in page if u["created_at"] == samples.TIE_AT]
    assert tied == [samples.USER_TIE_A, samples.USER_TIE_B, samples.USER_TIE_C]


def test_users_order_by_username_puts_missing_usernames_last(api: httpx.Client) -> None:
    page = get_json(api, "/users", limit=500, order_by="username")
    names = [u["username"] for u in page]
    present = [n for n in names if n is not None]
    assert present == sorted(present)
    assert names == present + [None] * (len(names) - len(present))
    descending = get_json(api, "/users", limit=500, order_by="-username")
    assert [u["id"] for u in descending] == [u["id"] for u in page][::-1]


def test_users_offset_paging(generated_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, dataset = generated_api
    expected = _ascending(dataset.users.values())
    seen: list[str] = []
    offset = 0
    while True:
        page = get_json(client, "/users", limit=100, offset=offset, order_by="+created_at")
        seen.extend(u["id"] for u in page)
        if len(page) < 100:
            break
        offset += 100
    assert seen == expected


@pytest.mark.parametrize("order_by", ["+created_at", "-created_at"])
@pytest.mark.parametrize("limit", [1, 7, 500])
def test_users_cursor_walks_every_user_once_in_order(
    generated_api: tuple[FakeClerk, httpx.Client, Dataset], order_by: str, limit: int
) -> None:
    _, client, dataset = generated_api
    expected = _ascending(dataset.users.values())
    if order_by.startswith("-"):
        expected.reverse()
    assert [u["id"] for u in walk_users_cursor(client, limit=limit, order_by=order_by)] == expected


def test_generated_users_include_created_at_ties(
    generated_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    # The cursor tests above only prove tie handling if there are ties to handle.
    _, _, dataset = generated_api
    counts = Counter(u.created_at for u in dataset.users.values())
    assert any(n > 1 for n in counts.values())


def test_cursor_needs_created_at_ordering_and_no_offset(api: httpx.Client) -> None:
    cursor = samples.USER_ALICE
    cases: list[dict[str, str | int]] = [
        {"starting_after": cursor, "order_by": "username"},
        {"starting_after": cursor, "offset": 1},
        {"starting_after": "user_never_existed"},
    ]
    for params in cases:
        response = api.get("/users", params=params)
        assert response.status_code == 422, params
        assert clerk_error(response)["meta"]["param_name"] == "starting_after"
    assert api.get("/users", params={"starting_after": cursor, "offset": 0}).status_code == 200


def test_cursor_after_a_deleted_user_resumes_at_its_place() -> None:
    dataset = awkward()
    with running(dataset) as (_, client):
        order = [u["id"] for u in get_json(client, "/users", limit=500, order_by="+created_at")]
        dataset.remove_user(order[4])
        page = get_json(client, "/users", limit=3, order_by="+created_at", starting_after=order[4])
        assert [u["id"] for u in page] == order[5:8]


def test_users_count_and_get_user(awkward_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, dataset = awkward_api
    assert get_json(client, "/users/count") == {
        "object": "total_count",
        "total_count": len(dataset.users),
    }
    user = get_json(client, f"/users/{samples.USER_ZOE}")
    assert (user["id"], user["first_name"], user["last_name"]) == (
        samples.USER_ZOE,
        "Zoë",
        "Ångström",
    )
    missing = client.get("/users/user_does_not_exist")
    assert missing.status_code == 404
    assert clerk_error(missing)["code"] == "resource_not_found"


# -- limits and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_LISTS)
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
def test_limit_out_of_bounds_is_422(api: httpx.Client, path: str, limit: str) -> None:
    response = api.get(path, params={"limit": limit})
    assert response.status_code == 422
    error = clerk_error(response)
    assert error["code"].startswith("form_param_")
    assert error["meta"] == {"param_name": "limit"}


@pytest.mark.parametrize("path", ALL_LISTS)
def test_limit_bounds_are_inclusive(api: httpx.Client, path: str) -> None:
    for limit in (1, 500):
        assert api.get(path, params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("path", ALL_LISTS)
def test_bad_offset_and_order_by_are_422(api: httpx.Client, path: str) -> None:
    assert api.get(path, params={"offset": -1}).status_code == 422
    assert api.get(path, params={"order_by": "-favourite_colour"}).status_code == 422


def test_unknown_route_is_404_and_unserved_methods_are_405(api: httpx.Client) -> None:
    assert api.get("/no_such_endpoint").status_code == 404
    for method, path in (
        ("PUT", f"/organizations/{samples.ORG_ACME}/memberships"),
        ("GET", f"/organizations/{samples.ORG_ACME}/memberships/{samples.USER_ALICE}"),
        ("DELETE", f"/users/{samples.USER_ALICE}"),
        ("POST", "/organization_memberships"),
    ):
        response = api.request(method, path, json={"role": "x"})
        assert response.status_code == 405, (method, path)
        assert clerk_error(response)["code"] == "request_method_not_allowed"


# -- organizations ---------------------------------------------------------------------------


def test_organizations_envelope_and_members_count(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = awkward_api
    plain = get_json(client, "/organizations", limit=500)
    assert plain["total_count"] == len(dataset.organizations)
    assert [o["id"] for o in plain["data"]] == _ascending(dataset.organizations.values())[::-1]
    assert all("members_count" not in org for org in plain["data"])

    counted = get_json(client, "/organizations", limit=500, include_members_count="true")
    members = Counter(m.organization_id for m in dataset.memberships.values())
    assert {o["id"]: o["members_count"] for o in counted["data"]} == {
        org_id: members.get(org_id, 0) for org_id in dataset.organizations
    }
    assert {o["id"]: o["members_count"] for o in counted["data"]}[samples.ORG_EMPTY] == 0


def test_organization_by_id_or_slug(api: httpx.Client) -> None:
    by_id = get_json(api, f"/organizations/{samples.ORG_UNICODE}")
    by_slug = get_json(api, "/organizations/unicode-org")
    assert by_id == by_slug
    assert by_id["name"] == "Ünïcødé Ørg 日本"
    assert "members_count" not in by_id
    counted = get_json(api, f"/organizations/{samples.ORG_UNICODE}", include_members_count="true")
    assert counted["members_count"] == 4
    assert api.get("/organizations/org_missing").status_code == 404


def test_organization_role_set_keys(api: httpx.Client) -> None:
    orgs = {o["id"]: o for o in get_json(api, "/organizations", limit=500)["data"]}
    assert orgs[samples.ORG_ACME]["role_set_key"] is None
    assert orgs[samples.ORG_RESTRICTED]["role_set_key"] == samples.ROLE_SET_RESTRICTED


# -- memberships -----------------------------------------------------------------------------


def test_instance_memberships_offset_walk(
    generated_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = generated_api
    for order_by, flip in (("+created_at", False), ("-created_at", True)):
        rows, totals = walk_offset(client, "/organization_memberships", limit=97, order_by=order_by)
        expected = _ascending(dataset.memberships.values())
        assert [m["id"] for m in rows] == (expected[::-1] if flip else expected)
        assert totals == {len(dataset.memberships)}


def test_generated_memberships_include_created_at_ties(
    generated_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, _, dataset = generated_api
    counts = Counter(m.created_at for m in dataset.memberships.values())
    assert any(n > 1 for n in counts.values())


def test_organization_memberships_per_organization(
    generated_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = generated_api
    by_org: dict[str, list[MembershipRecord]] = {org_id: [] for org_id in dataset.organizations}
    for membership in dataset.memberships.values():
        by_org[membership.organization_id].append(membership)
    biggest = max(by_org, key=lambda org_id: len(by_org[org_id]))
    assert len(by_org[biggest]) > 20  # so that paging below spans several pages
    for org_id in (biggest, *list(by_org)[:5]):
        rows, totals = walk_offset(
            client, f"/organizations/{org_id}/memberships", limit=20, order_by="+created_at"
        )
        assert [m["id"] for m in rows] == _ascending(by_org[org_id])
        assert totals == {len(by_org[org_id])}
        assert {m["organization"]["id"] for m in rows} <= {org_id}


def test_organization_memberships_of_unknown_or_empty_organization(api: httpx.Client) -> None:
    missing = api.get("/organizations/org_missing/memberships")
    assert missing.status_code == 404
    assert clerk_error(missing)["code"] == "resource_not_found"
    empty = get_json(api, f"/organizations/{samples.ORG_EMPTY}/memberships")
    assert empty == {"data": [], "total_count": 0}


def test_membership_embeds_organization_user_data_and_role(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = awkward_api
    roles = {r["key"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
    rows = get_json(client, "/organization_memberships", limit=500)["data"]
    assert len(rows) == len(dataset.memberships)
    for row in rows:
        record = dataset.memberships[row["id"]]
        user: UserRecord = dataset.users[record.user_id]
        assert row["object"] == "organization_membership"
        assert row["role"] == record.role
        assert row["organization"] == get_json(client, f"/organizations/{record.organization_id}")
        public = row["public_user_data"]
        assert public["user_id"] == user.id
        assert (public["first_name"], public["last_name"]) == (user.first_name, user.last_name)
        assert (public["banned"], public["deprovisioned"]) == (user.banned, user.deprovisioned)
        role = roles.get(record.role)
        if role is None:
            assert "role_name" not in row
            assert row["permissions"] == []
        else:
            assert row["role_name"] == role["name"]
            assert row["permissions"] == [p["key"] for p in role["permissions"]]


def test_membership_identifier_is_primary_email_else_phone(api: httpx.Client) -> None:
    rows = get_json(api, f"/organizations/{samples.ORG_ACME}/memberships", limit=500)["data"]
    identifiers = {m["public_user_data"]["user_id"]: m["public_user_data"] for m in rows}
    assert identifiers[samples.USER_PRIMARY_SECOND]["identifier"] == "current.address@example.com"
    assert identifiers[samples.USER_NO_EMAIL]["identifier"] == "+15550000001"
    assert identifiers[samples.USER_BANNED]["banned"] is True
    assert identifiers[samples.USER_DEPROVISIONED]["deprovisioned"] is True


# -- roles, permissions, role sets, settings -------------------------------------------------


def test_roles_embed_their_full_permissions(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = awkward_api
    permissions = {p["key"]: p for p in get_json(client, "/organization_permissions")["data"]}
    roles = get_json(client, "/organization_roles", limit=500)
    assert roles["total_count"] == len(dataset.roles)
    assert {r["key"] for r in roles["data"]} >= {"admin", "basic_member", "org:admin"}
    for role in roles["data"]:
        granted = dataset.roles[role["key"]].permissions
        assert role["permissions"] == [permissions[key] for key in granted]
    admin = next(r for r in roles["data"] if r["key"] == "org:admin")
    system = [p for p in admin["permissions"] if p["key"] == "org:sys_memberships:manage"]
    assert system
    assert system[0]["type"] == "system"


def test_role_sets_list_roles_by_key_without_permissions(api: httpx.Client) -> None:
    roles = {r["key"]: r for r in get_json(api, "/organization_roles", limit=500)["data"]}
    sets = {s["key"]: s for s in get_json(api, "/role_sets")["data"]}
    assert set(sets) == {samples.ROLE_SET_DEFAULT, samples.ROLE_SET_RESTRICTED}
    restricted = sets[samples.ROLE_SET_RESTRICTED]
    assert [r["key"] for r in restricted["roles"]] == ["org:admin", "org:member", "org:observer"]
    for item in restricted["roles"]:
        assert item["id"] == roles[item["key"]]["id"]
        assert "permissions" not in item
    assert restricted["default_role"]["key"] == "org:member"
    assert sets[samples.ROLE_SET_DEFAULT]["type"] == "initial"


def test_organization_settings(api: httpx.Client) -> None:
    settings = get_json(api, "/instance/organization_settings")
    assert settings["object"] == "organization_settings"
    assert settings["initial_role_set_key"] == samples.ROLE_SET_DEFAULT
    assert (settings["creator_role"], settings["domains_default_role"]) == (
        "org:admin",
        "org:member",
    )


# -- conformance with the OpenAPI spec ---------------------------------------------------------


@pytest.mark.skipif(spec_path() is None, reason="the Clerk OpenAPI spec file is not available")
def test_every_response_matches_the_spec_schemas(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, _ = awkward_api
    for user in get_json(client, "/users", limit=500):
        check_schema(user, "User")
        for email in user["email_addresses"]:
            check_schema(email, "EmailAddress")
        for phone in user["phone_numbers"]:
            check_schema(phone, "PhoneNumber")
        for account in user["external_accounts"]:
            check_schema(account, "ExternalAccountWithVerification")
        for account in user["saml_accounts"]:
            check_schema(account, "SAMLAccount")
        for account in user["enterprise_accounts"]:
            check_schema(account, "EnterpriseAccount")
        for passkey in user["passkeys"]:
            check_schema(passkey, "Passkey")
    check_schema(get_json(client, "/users/count"), "TotalCount")
    orgs = get_json(client, "/organizations", include_members_count="true", limit=500)
    check_schema(orgs, "Organizations")
    check_schema(get_json(client, "/organization_memberships"), "OrganizationMemberships")
    for org in orgs["data"]:
        check_schema(org, "Organization")
    for membership in get_json(client, "/organization_memberships", limit=500)["data"]:
        check_schema(membership, "OrganizationMembership")
        check_schema(membership["organization"], "Organization")
        check_schema(membership["public_user_data"], "OrganizationMembershipPublicUserData")
    for role in get_json(client, "/organization_roles", limit=500)["data"]:
        check_schema(role, "Role")
        for permission in role["permissions"]:
            check_schema(permission, "Permission")
    for role_set in get_json(client, "/role_sets")["data"]:
        check_schema(role_set, "RoleSet")
        for item in role_set["roles"]:
            check_schema(item, "RoleSetItem")
    check_schema(get_json(client, "/instance/organization_settings"), "OrganizationSettings")
    error = client.get("/users/user_missing").json()
    check_schema(error, "ClerkErrors")
    check_schema(error["errors"][0], "ClerkError")


# -- auth, headers, connections --------------------------------------------------------------


def test_missing_or_wrong_key_is_401_but_403_where_the_spec_says_so(
    awkward_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    fake, _, _ = awkward_api
    wrong_key = "sk_test_wrong_key_a1b2c3"
    with httpx.Client(base_url=fake.url) as anonymous, client_for(fake, key=wrong_key) as wrong:
        for client in (anonymous, wrong):
            for path in ("/users", "/organization_memberships", "/role_sets", "/users/count"):
                response = client.get(path)
                assert response.status_code == 401, path
                assert clerk_error(response)["code"] == "authentication_invalid"
                assert wrong_key not in response.text
            for path in ("/organizations", f"/organizations/{samples.ORG_ACME}"):
                response = client.get(path)
                assert response.status_code == 403
                assert clerk_error(response)["code"] == "authorization_invalid"


def test_rotating_the_key_rejects_the_old_one() -> None:
    with running(awkward()) as (fake, client):
        fake.secret_key = "sk_test_rotated"
        assert client.get("/users").status_code == 401
        with client_for(fake) as rotated:
            assert rotated.get("/users").status_code == 200


def test_every_response_has_a_trace_id_and_content_length(api: httpx.Client) -> None:
    responses = [api.get("/users"), api.get("/users/user_missing"), api.get("/nowhere")]
    trace_ids = [r.headers.get("X-Clerk-Trace-Id") for r in responses]
    assert all(trace_ids)
    assert len(set(trace_ids)) == len(trace_ids)
    assert all(int(r.headers["Content-Length"]) == len(r.content) for r in responses)


def test_api_version_header_is_recorded() -> None:
    with running(awkward()) as (fake, client):
        client.get("/users")
        client.get("/users", headers={"Clerk-API-Version": "2025-11-10"})
        with httpx.Client(base_url=fake.url) as bare:
            bare.get("/users", headers={"Authorization": f"Bearer {fake.secret_key}"})
        assert fake.stats.api_versions == {"2026-05-12": 1, "2025-11-10": 1, "(none)": 1}


def test_keep_alive_reuses_one_connection() -> None:
    with running(awkward()) as (fake, client):
        for _ in range(20):
            assert client.get("/users", params={"limit": 2}).status_code == 200
        assert fake.stats.connections == 1
        assert fake.stats.total == 20


def test_stats_count_routes_and_statuses_and_reset() -> None:
    with running(awkward()) as (fake, client):
        client.get("/users")
        client.get(f"/users/{samples.USER_ALICE}")
        client.get("/users/user_missing")
        client.get(f"/organizations/{samples.ORG_ACME}/memberships")
        snapshot = fake.stats.snapshot()
        assert snapshot.by_route == {
            "GET /users": 1,
            "GET /users/{id}": 2,
            "GET /organizations/{id}/memberships": 1,
        }
        assert snapshot.by_status == {200: 3, 404: 1}
        assert snapshot.exceptions == ()
        fake.stats.reset()
        assert fake.stats.total == 0
        assert fake.stats.by_route == {}


def test_mutations_show_up_in_the_next_response() -> None:
    dataset = awkward()
    with running(dataset) as (_, client):
        before = get_json(client, "/organization_memberships")["total_count"]
        dataset.remove_user(samples.USER_ALICE)  # Alice is a member of two organizations
        after = get_json(client, "/organization_memberships")["total_count"]
        assert after == before - 2
        assert client.get(f"/users/{samples.USER_ALICE}").status_code == 404
        created = dataset.create_membership(samples.ORG_EMPTY, samples.USER_LONELY, "org:member")
        rows = get_json(client, f"/organizations/{samples.ORG_EMPTY}/memberships")["data"]
        assert [m["id"] for m in rows] == [created.id]
        dataset.change_role(created.id, "org:admin")
        rows = get_json(client, f"/organizations/{samples.ORG_EMPTY}/memberships")["data"]
        assert rows[0]["role"] == "org:admin"


def test_warmed_cache_serves_the_same_bytes() -> None:
    dataset = generate(users=300, organizations=12, memberships=700, seed=3)
    org_id = next(iter(dataset.organizations))
    paths = ["/users", "/organization_memberships", f"/organizations/{org_id}/memberships"]
    with running(dataset, cache_bytes=0) as (_, cold):
        expected = [cold.get(p, params={"limit": 500}).content for p in paths]
    with running(dataset) as (fake, warm):
        assert fake.warm_cache() > 0
        assert [warm.get(p, params={"limit": 500}).content for p in paths] == expected
        dataset.replace_user(replace(dataset.users[next(iter(dataset.users))], first_name="Újra"))
        assert "Újra" in warm.get("/users", params={"limit": 500}).text
