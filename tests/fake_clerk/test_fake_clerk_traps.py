"""The trap instance (`traps()`), `generate(trap_rate=...)`, stale role data on memberships and
`Dataset.rename_role` with a `Trigger`, over real HTTP.

Expected values are the module's constants and the dataset's records; schema facts come from the
OpenAPI spec file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.fake_clerk import FakeClerk, Trigger, generate, traps
from connector.fake_clerk.data import Dataset
from connector.fake_clerk.data import trap_samples as t
from tests.fake_clerk.fake_clerk_testkit import (
    check_schema,
    get_json,
    running,
    spec_path,
    walk_users_cursor,
)


@pytest.fixture(scope="module")
def trap_api() -> Iterator[tuple[FakeClerk, httpx.Client, Dataset]]:
    dataset = traps()
    with running(dataset) as (fake, client):
        yield fake, client, dataset


def _users(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {u["id"]: u for u in get_json(client, "/users", limit=500)}


def _memberships(client: httpx.Client) -> dict[str, dict[str, Any]]:
    page = get_json(client, "/organization_memberships", limit=500)
    return {m["id"]: m for m in page["data"]}


@pytest.mark.skipif(spec_path() is None, reason="the Clerk OpenAPI spec file is not available")
def test_every_trap_is_schema_valid(trap_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, _ = trap_api
    for user in _users(client).values():
        check_schema(user, "User")
        for email in user["email_addresses"]:
            check_schema(email, "EmailAddress")
    orgs = get_json(client, "/organizations", limit=500, include_members_count="true")
    check_schema(orgs, "Organizations")
    for org in orgs["data"]:
        check_schema(org, "Organization")
    for membership in _memberships(client).values():
        check_schema(membership, "OrganizationMembership")
        if "public_user_data" in membership:
            check_schema(membership["public_user_data"], "OrganizationMembershipPublicUserData")
    for role in get_json(client, "/organization_roles", limit=500)["data"]:
        check_schema(role, "Role")
    for permission in get_json(client, "/organization_permissions", limit=500)["data"]:
        check_schema(permission, "Permission")


def test_unverified_secondary_emails(trap_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, _ = trap_api
    users = _users(client)
    emails = {e["id"]: e for e in users[t.USER_UNVERIFIED]["email_addresses"]}
    status = {i: (e["verification"] or {}).get("status") for i, e in emails.items()}
    assert status == {
        t.EMAIL_PRIMARY: "verified",
        t.EMAIL_VERIFIED: "verified",
        t.EMAIL_UNVERIFIED: "unverified",
        t.EMAIL_FAILED: "failed",
        t.EMAIL_EXPIRED: "expired",
        t.EMAIL_OAUTH_UNVERIFIED: "unverified",
        t.EMAIL_NEVER_VERIFIED: None,
    }
    assert emails[t.EMAIL_NEVER_VERIFIED]["verification"] is None
    assert emails[t.EMAIL_OAUTH_UNVERIFIED]["verification"]["object"] == "verification_from_oauth"
    assert users[t.USER_UNVERIFIED]["primary_email_address_id"] == t.EMAIL_PRIMARY
    only = users[t.USER_ONLY_UNVERIFIED]
    assert only["primary_email_address_id"] is None
    assert [e["verification"]["status"] for e in only["email_addresses"]] == ["unverified"]


def test_invalid_email_strings_are_served_verbatim(
    trap_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, _ = trap_api
    user = _users(client)[t.USER_INVALID_EMAIL]
    addresses = [e["email_address"] for e in user["email_addresses"]]
    assert addresses == [t.INVALID_PRIMARY, t.INVALID_SECONDARY]
    assert "@" not in t.INVALID_PRIMARY
    assert t.INVALID_SECONDARY.count("@") == 2
    assert user["email_addresses"][0]["verification"]["status"] == "verified"


def _long(value: str) -> None:
    raw = value.encode()
    assert len(raw) >= t.LONG_NAME_BYTES
    with pytest.raises(UnicodeDecodeError):
        raw[:1024].decode()  # a byte cut at the platform's limit splits a character


def test_long_multi_byte_names(trap_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, _ = trap_api
    user = _users(client)[t.USER_LONG_NAME]
    _long(user["first_name"])
    _long(user["last_name"])
    org = get_json(client, f"/organizations/{t.ORG_LONG_NAME}")
    _long(org["name"])
    roles = {r["id"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
    _long(roles[t.ROLE_LONG_NAME]["name"])
    assert len(roles[t.ROLE_LONG_NAME]["description"].encode()) >= t.LONG_TEXT_BYTES
    permissions = {
        p["key"]: p for p in get_json(client, "/organization_permissions", limit=500)["data"]
    }
    _long(permissions[t.PERMISSION_LONG_NAME]["name"])
    assert len(permissions[t.PERMISSION_LONG_NAME]["description"].encode()) >= t.LONG_TEXT_BYTES
    # Embedded copies are as long: the membership's organization and the member's public data.
    member = next(
        m for m in _memberships(client).values() if m["organization"]["id"] == t.ORG_LONG_NAME
    )
    _long(member["organization"]["name"])


def test_timestamps_outside_protobuf_range(
    trap_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, _ = trap_api
    users = _users(client)

    def stamps(user_id: str) -> tuple[int, int, int]:
        user = users[user_id]
        return (user["created_at"], user["last_sign_in_at"], user["last_active_at"])

    assert stamps(t.USER_EARLY) == (t.BEFORE_YEAR_1,) * 3
    assert stamps(t.USER_LATE) == (t.AFTER_YEAR_9999, t.INT64_MAX, t.AFTER_YEAR_9999)
    assert stamps(t.USER_INT64) == (t.INT64_MAX, t.INT64_MIN, t.INT64_MIN)
    assert t.BEFORE_YEAR_1 == -62_135_596_800_001
    assert t.AFTER_YEAR_9999 == 253_402_300_800_000
    orgs = {o["id"]: o for o in get_json(client, "/organizations", limit=500)["data"]}
    assert orgs[t.ORG_EARLY]["created_at"] == t.BEFORE_YEAR_1
    assert orgs[t.ORG_LATE]["created_at"] == t.INT64_MAX
    roles = {r["id"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
    assert roles[t.ROLE_LATE]["created_at"] == t.AFTER_YEAR_9999
    assert roles[t.ROLE_LATE]["permissions"][0]["created_at"] == t.BEFORE_YEAR_1
    assert _memberships(client)[t.MEMBERSHIP_LATE]["created_at"] == t.AFTER_YEAR_9999
    # They sort where their values say: a cursor walk still reaches everyone.
    ascending = [u["id"] for u in walk_users_cursor(client, limit=4, order_by="+created_at")]
    assert ascending[0] == t.USER_EARLY
    assert ascending[-2:] == [t.USER_LATE, t.USER_INT64]
    assert len(ascending) == len(users)


def test_a_membership_without_public_user_data(
    trap_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, _ = trap_api
    path = f"/organizations/{t.ORG_HIDDEN_MEMBER}/memberships"
    page = get_json(client, path, limit=500)
    rows = {m["id"]: m for m in page["data"]}
    assert "public_user_data" not in rows[t.MEMBERSHIP_NO_USER_DATA]
    assert t.USER_HIDDEN not in str(rows[t.MEMBERSHIP_NO_USER_DATA])
    assert all("public_user_data" in m for i, m in rows.items() if i != t.MEMBERSHIP_NO_USER_DATA)
    # It still counts: total_count and members_count include it.
    counted = get_json(client, f"/organizations/{t.ORG_HIDDEN_MEMBER}", include_members_count=1)
    assert page["total_count"] == counted["members_count"] == len(rows) == 2
    assert "public_user_data" not in _memberships(client)[t.MEMBERSHIP_NO_USER_DATA]


def test_memberships_carry_role_name_and_permissions_from_the_catalog_except_stale_ones(
    trap_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, _ = trap_api
    roles = {r["key"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
    stale = {t.MEMBERSHIP_STALE_NAME, t.MEMBERSHIP_RENAMED_KEY}
    for membership_id, row in _memberships(client).items():
        if membership_id in stale:
            continue
        role = roles[row["role"]]
        assert row["role_name"] == role["name"]
        assert row["permissions"] == [p["key"] for p in role["permissions"]]
    rows = _memberships(client)
    renamed_name = rows[t.MEMBERSHIP_STALE_NAME]
    assert renamed_name["role"] == "org:member"
    assert (renamed_name["role_name"], tuple(renamed_name["permissions"])) == (
        t.STALE_NAME,
        t.STALE_PERMISSIONS,
    )
    assert renamed_name["role_name"] != roles["org:member"]["name"]
    renamed_key = rows[t.MEMBERSHIP_RENAMED_KEY]
    assert renamed_key["role"] == t.RENAMED_FROM
    assert t.RENAMED_FROM not in roles
    assert renamed_key["role_name"] == "Project lead"
    assert renamed_key["permissions"] == ["org:projects:manage", "org:sys_memberships:read"]
    # The role it became carries those permissions under its new key.
    assert [p["key"] for p in roles["org:team_lead"]["permissions"]] == renamed_key["permissions"]


def test_members_count_with_include_members_count(
    trap_api: tuple[FakeClerk, httpx.Client, Dataset],
) -> None:
    _, client, dataset = trap_api
    orgs = get_json(client, "/organizations", limit=500, include_members_count="true")["data"]
    expected = Counter(m.organization_id for m in dataset.memberships.values())
    assert {o["id"]: o["members_count"] for o in orgs} == {
        org_id: expected.get(org_id, 0) for org_id in dataset.organizations
    }


def test_bulk_import_ties(trap_api: tuple[FakeClerk, httpx.Client, Dataset]) -> None:
    _, client, _ = trap_api
    users = _users(client)
    assert {users[i]["created_at"] for i in t.BULK_USERS} == {t.BULK_AT}
    orgs = {o["id"]: o for o in get_json(client, "/organizations", limit=500)["data"]}
    assert {orgs[i]["created_at"] for i in t.BULK_ORGS} == {t.BULK_AT}
    home = get_json(client, f"/organizations/{t.ORG_BULK_HOME}/memberships", limit=500)
    assert {m["created_at"] for m in home["data"]} == {t.BULK_JOINED}
    assert home["total_count"] == len(t.BULK_USERS)


# -- a role renamed while a sync runs ------------------------------------------------------------


def test_rename_role_moves_memberships_role_sets_and_settings_to_the_new_key() -> None:
    dataset = traps()
    with running(dataset) as (fake, client):
        before = {r["key"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
        fake.hooks = [
            Trigger(
                lambda: dataset.rename_role(
                    "org:member", new_key="org:associate", name="Associate"
                ),
                route="GET /organization_memberships",
            )
        ]
        rows = _memberships(client)
        after = {r["key"]: r for r in get_json(client, "/organization_roles", limit=500)["data"]}
        role_sets = get_json(client, "/role_sets")["data"]
    assert "org:member" in before
    assert "org:member" not in after
    assert after["org:associate"]["id"] == before["org:member"]["id"]  # ids are stable
    held = [
        m
        for m in rows.values()
        if m["id"] != t.MEMBERSHIP_STALE_NAME and m["role"] == "org:associate"
    ]
    assert held
    assert all(m["role_name"] == "Associate" for m in held)
    assert not [
        m for m in rows.values() if m["role"] == "org:member" and m["id"] != t.MEMBERSHIP_STALE_NAME
    ]
    keys = [item["key"] for item in role_sets[0]["roles"]]
    assert "org:associate" in keys
    assert "org:member" not in keys
    assert role_sets[0]["default_role"]["key"] == "org:associate"
    assert dataset.settings.domains_default_role == "org:associate"
    # The catalog read before the rename does not know the key the memberships now hold.
    assert "org:associate" not in before
    with pytest.raises(ValueError, match="duplicate role key"):
        dataset.rename_role("org:admin", new_key="org:associate")


def test_trigger_fires_once_on_the_chosen_request() -> None:
    fired: list[str] = []
    trigger = Trigger(lambda: fired.append("now"), route="GET /users", after=2)
    for route in ("GET /users", "GET /organizations", "GET /users", "GET /users", "GET /users"):
        trigger(route)
        if fired:
            break
    assert fired == ["now"]
    assert trigger.fired
    trigger("GET /users")
    assert fired == ["now"]
    with pytest.raises(ValueError, match="after"):
        Trigger(lambda: None, after=-1)


# -- generate(trap_rate=...) ---------------------------------------------------------------------


def test_generate_with_traps_is_deterministic_and_leaves_ids_alone() -> None:
    sizes = {"users": 400, "organizations": 40, "memberships": 900, "seed": 12}
    plain = generate(**sizes)
    trapped = generate(**sizes, trap_rate=0.1)
    again = generate(**sizes, trap_rate=0.1)
    assert tuple(trapped.users.values()) == tuple(again.users.values())
    assert tuple(trapped.memberships.values()) == tuple(again.memberships.values())
    assert set(trapped.users) == set(plain.users)
    assert set(trapped.memberships) == set(plain.memberships)
    changed = [i for i in plain.users if plain.users[i] != trapped.users[i]]
    assert 10 < len(changed) < 80
    hidden = [m for m in trapped.memberships.values() if not m.public_user_data]
    stale = [m for m in trapped.memberships.values() if m.stale_role_name is not None]
    assert hidden
    assert stale
    far = [u for u in trapped.users.values() if u.created_at < -62_135_596_800_000]
    late = [u for u in trapped.users.values() if u.created_at > 253_402_300_799_999]
    assert far
    assert late
    assert any(len(r.name.encode()) >= t.LONG_NAME_BYTES for r in trapped.roles.values())
    with pytest.raises(ValueError, match="trap_rate"):
        generate(users=1, organizations=1, memberships=0, trap_rate=1.5)


def test_a_generated_instance_with_traps_serves_them() -> None:
    dataset = generate(users=200, organizations=20, memberships=400, seed=2, trap_rate=0.2)
    hidden = {m.id for m in dataset.memberships.values() if not m.public_user_data}
    with running(dataset) as (_, client):
        rows = get_json(client, "/organization_memberships", limit=500)["data"]
        assert {m["id"] for m in rows if "public_user_data" not in m} == hidden
        assert len(get_json(client, "/users", limit=500)) == len(dataset.users)
        assert get_json(client, "/users/count")["total_count"] == len(dataset.users)
