"""The fake Clerk's organization-membership writes over real HTTP: create, change role, remove,
their errors, the per-object write limit, the minimum-permissions guard, lost replies and the
write counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from connector.fake_clerk import (
    FakeClerk,
    FaultKind,
    FaultMix,
    RateLimit,
    WriteLimit,
    WriteScope,
    awkward,
)
from connector.fake_clerk.data import samples
from tests.fake_clerk.fake_clerk_testkit import (
    check_schema,
    clerk_error,
    client_for,
    get_json,
    running,
    spec_path,
)

CREATE = "POST /organizations/{id}/memberships"
UPDATE = "PATCH /organizations/{id}/memberships/{id}"
DELETE = "DELETE /organizations/{id}/memberships/{id}"
MANAGE = "org:sys_memberships:manage"


@pytest.fixture
def fake() -> Iterator[tuple[FakeClerk, httpx.Client]]:
    with running(awkward()) as started:
        yield started


def _members(path: str) -> str:
    return f"/organizations/{path}/memberships"


def _create(client: httpx.Client, org: str, user: str, role: str, **extra: Any) -> httpx.Response:
    return client.post(_members(org), json={"user_id": user, "role": role, **extra})


def _update(client: httpx.Client, org: str, user: str, role: str) -> httpx.Response:
    return client.patch(f"{_members(org)}/{user}", json={"role": role})


def _delete(client: httpx.Client, org: str, user: str) -> httpx.Response:
    return client.delete(f"{_members(org)}/{user}")


def _listed(client: httpx.Client, org: str) -> dict[str, dict[str, Any]]:
    """The organization's memberships as the per-organization list reads them, by user id."""
    rows = get_json(client, _members(org), limit=500)["data"]
    return {row["public_user_data"]["user_id"]: row for row in rows}


def _members_count(client: httpx.Client, org: str) -> int:
    count = get_json(client, f"/organizations/{org}", include_members_count="true")
    return int(count["members_count"])


def _instance_ids(client: httpx.Client) -> set[str]:
    page = get_json(client, "/organization_memberships", limit=500)
    assert page["total_count"] == len(page["data"])
    return {row["id"] for row in page["data"]}


def _expect(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = clerk_error(response)
    assert error["code"] == code
    if spec_path() is not None:
        check_schema(response.json(), "ClerkErrors")
    return error


# -- create ----------------------------------------------------------------------------------------


def test_create_returns_the_membership_and_every_list_shows_it(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    before = _instance_ids(client)
    newest = max(m.created_at for m in server.dataset.memberships.values())
    response = _create(client, samples.ORG_EMPTY, samples.USER_ALICE, "org:member")
    assert response.status_code == 200
    created = response.json()
    if spec_path() is not None:
        check_schema(created, "OrganizationMembership")
        check_schema(created["public_user_data"], "OrganizationMembershipPublicUserData")
    assert created["object"] == "organization_membership"
    assert created["id"].startswith("orgmem_")
    assert (created["role"], created["role_name"]) == ("org:member", "Member")
    assert created["permissions"] == ["org:sys_memberships:read"]
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"] > newest
    assert created["organization"]["id"] == samples.ORG_EMPTY
    assert "members_count" not in created["organization"]
    # Shaped exactly like the reads: the same row in the per-organization list, and the same
    # public user data as Alice's existing membership in Acme.
    assert _listed(client, samples.ORG_EMPTY) == {samples.USER_ALICE: created}
    acme_row = _listed(client, samples.ORG_ACME)[samples.USER_ALICE]
    assert created["public_user_data"] == acme_row["public_user_data"]
    assert _instance_ids(client) == before | {created["id"]}
    assert _members_count(client, samples.ORG_EMPTY) == 1
    assert server.stats.writes == {CREATE: 1}
    assert server.stats.applied_writes == {CREATE: 1}
    assert server.stats.exceptions == ()


def test_create_stores_metadata(fake: tuple[FakeClerk, httpx.Client]) -> None:
    _, client = fake
    response = _create(
        client,
        samples.ORG_EMPTY,
        samples.USER_LONELY,
        "org:admin",
        public_metadata={"team": "blue"},
        private_metadata=None,
    )
    assert response.status_code == 200
    row = _listed(client, samples.ORG_EMPTY)[samples.USER_LONELY]
    assert (row["public_metadata"], row["private_metadata"]) == ({"team": "blue"}, {})
    assert MANAGE in row["permissions"]


@pytest.mark.parametrize(
    ("org", "body", "status", "code", "param"),
    [
        (samples.ORG_ACME, {"user_id": samples.USER_ALICE, "role": "org:member"}, 400,
         "already_a_member_in_organization", None),
        ("org_missing", {"user_id": samples.USER_LONELY, "role": "org:member"}, 404,
         "resource_not_found", None),
        ("acme", {"user_id": samples.USER_LONELY, "role": "org:member"}, 404,
         "resource_not_found", None),  # a slug names no organization here
        (samples.ORG_ACME, {"user_id": "user_missing", "role": "org:member"}, 404,
         "resource_not_found", None),
        (samples.ORG_ACME, {"user_id": samples.USER_LONELY, "role": "org:nope"}, 422,
         "form_param_value_invalid", "role"),
        (samples.ORG_RESTRICTED, {"user_id": samples.USER_LONELY, "role": "org:billing_viewer"},
         422, "form_param_value_invalid", "role"),  # a role outside the organization's set
        (samples.ORG_ACME, {"user_id": samples.USER_LONELY, "role": "org:observer"}, 422,
         "form_param_value_invalid", "role"),  # the initial set lacks it
        (samples.ORG_ACME, {"user_id": samples.USER_LONELY}, 422, "form_param_missing", "role"),
        (samples.ORG_ACME, {"role": "org:member"}, 422, "form_param_missing", "user_id"),
        (samples.ORG_ACME, {"user_id": samples.USER_LONELY, "role": 7}, 422,
         "form_param_value_invalid", "role"),
        (samples.ORG_ACME, {"user_id": samples.USER_LONELY, "role": "org:member",
                            "public_metadata": "x"}, 422, "form_param_value_invalid",
         "public_metadata"),
    ],
)  # fmt: skip
def test_create_errors_change_nothing(
    fake: tuple[FakeClerk, httpx.Client],
    org: str,
    body: dict[str, Any],
    status: int,
    code: str,
    param: str | None,
) -> None:
    server, client = fake
    before = _instance_ids(client)
    error = _expect(client.post(_members(org), json=body), status, code)
    if param is not None:
        assert error["meta"] == {"param_name": param}
    assert _instance_ids(client) == before
    assert server.stats.writes == {CREATE: 1}
    assert server.stats.applied_writes == {}


def test_create_with_a_body_that_is_not_json_is_422(fake: tuple[FakeClerk, httpx.Client]) -> None:
    _, client = fake
    response = client.post(
        _members(samples.ORG_EMPTY), content=b"user_id=x", headers={"Content-Type": "text/plain"}
    )
    _expect(response, 422, "form_param_value_invalid")


def test_create_stops_at_max_allowed_memberships(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org = samples.ORG_RESTRICTED
    assert server.dataset.organizations[org].max_allowed_memberships == 5
    assert _members_count(client, org) == 4
    assert _create(client, org, samples.USER_LONELY, "org:member").status_code == 200
    error = _expect(
        _create(client, org, samples.USER_LI, "org:member"),
        403,
        "organization_membership_quota_exceeded",
    )
    assert "5" in error["long_message"]
    assert _members_count(client, org) == 5
    # Room again once someone leaves.
    assert _delete(client, org, samples.USER_LONELY).status_code == 200
    assert _create(client, org, samples.USER_LI, "org:member").status_code == 200


def test_a_bad_key_is_refused_before_any_write(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, _ = fake
    with client_for(server, key="sk_test_wrong") as wrong:
        # POST documents 403 and no 401 for a bad key; PATCH and DELETE answer 401.
        response = _create(wrong, samples.ORG_EMPTY, samples.USER_ALICE, "org:member")
        _expect(response, 403, "authorization_invalid")
        response = _update(wrong, samples.ORG_ACME, samples.USER_ALICE, "org:member")
        _expect(response, 401, "authentication_invalid")
        response = _delete(wrong, samples.ORG_ACME, samples.USER_ALICE)
        _expect(response, 401, "authentication_invalid")
    assert server.stats.applied_writes == {}
    assert server.dataset.membership(samples.ORG_ACME, samples.USER_ALICE) is not None


# -- update ----------------------------------------------------------------------------------------


def test_update_changes_the_role_and_what_it_grants(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org, user = samples.ORG_ACME, samples.USER_NO_EMAIL
    before = _listed(client, org)[user]
    response = _update(client, org, user, "org:admin")
    assert response.status_code == 200
    updated = response.json()
    if spec_path() is not None:
        check_schema(updated, "OrganizationMembership")
    assert (updated["id"], updated["created_at"]) == (before["id"], before["created_at"])
    assert (updated["role"], updated["role_name"]) == ("org:admin", "Admin")
    assert MANAGE in updated["permissions"]
    assert updated["updated_at"] > before["updated_at"]
    assert _listed(client, org)[user] == updated
    assert _members_count(client, org) == 14
    # The same role again is a write too, and newer.
    again = _update(client, org, user, "org:admin").json()
    assert again["updated_at"] > updated["updated_at"]
    assert server.stats.writes == server.stats.applied_writes == {UPDATE: 2}


@pytest.mark.parametrize(
    ("org", "user", "role", "status", "code"),
    [
        (samples.ORG_EMPTY, samples.USER_ALICE, "org:member", 404, "resource_not_found"),
        ("org_missing", samples.USER_ALICE, "org:member", 404, "resource_not_found"),
        (samples.ORG_ACME, "user_missing", "org:member", 404, "resource_not_found"),
        (samples.ORG_RESTRICTED, samples.USER_OAUTH, "org:billing_viewer", 422,
         "form_param_value_invalid"),
        (samples.ORG_ACME, samples.USER_ALICE, "org:ghost", 422, "form_param_value_invalid"),
        (samples.ORG_ACME, samples.USER_ALICE, "", 422, "form_param_missing"),
    ],
)  # fmt: skip
def test_update_errors_change_nothing(
    fake: tuple[FakeClerk, httpx.Client], org: str, user: str, role: str, status: int, code: str
) -> None:
    server, client = fake
    records = dict(server.dataset.memberships)
    _expect(_update(client, org, user, role), status, code)
    assert dict(server.dataset.memberships) == records
    assert server.stats.applied_writes == {}


def test_update_reads_the_role_from_the_catalog(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org, user = samples.ORG_ACME, samples.USER_BANNED
    server.dataset.rename_role("org:member", name="Associate")
    assert _update(client, org, user, "org:member").json()["role_name"] == "Associate"


# -- delete ----------------------------------------------------------------------------------------


def test_delete_returns_the_removed_membership(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org, user = samples.ORG_ACME, samples.USER_NO_EMAIL
    row = _listed(client, org)[user]
    ids = _instance_ids(client)
    response = _delete(client, org, user)
    assert response.status_code == 200
    assert response.json() == row
    assert user not in _listed(client, org)
    assert _instance_ids(client) == ids - {row["id"]}
    assert _members_count(client, org) == 13
    _expect(_delete(client, org, user), 404, "resource_not_found")
    _expect(_delete(client, "org_missing", user), 404, "resource_not_found")
    _expect(_delete(client, samples.ORG_EMPTY, user), 404, "resource_not_found")
    assert server.stats.writes == {DELETE: 4}
    assert server.stats.applied_writes == {DELETE: 1}


def test_delete_then_create_gives_a_new_membership(fake: tuple[FakeClerk, httpx.Client]) -> None:
    _, client = fake
    org, user = samples.ORG_UNICODE, samples.USER_LI
    old = _delete(client, org, user).json()
    new = _create(client, org, user, "org:admin").json()
    assert new["id"] != old["id"]
    assert new["created_at"] > old["created_at"]
    assert _listed(client, org)[user]["role"] == "org:admin"


# -- the last member holding a permission ----------------------------------------------------------


def test_last_manager_can_be_removed_unless_the_guard_is_on(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    org = samples.ORG_RESTRICTED  # Alice (org:admin) is its only member who manages members
    assert _update(client, org, samples.USER_ALICE, "org:member").status_code == 200
    assert _update(client, org, samples.USER_ALICE, "org:admin").status_code == 200
    guard = server.faults.minimum_permissions_needed()
    _expect(
        _update(client, org, samples.USER_ALICE, "org:member"),
        400,
        "organization_minimum_permissions_needed",
    )
    _expect(
        _delete(client, org, samples.USER_ALICE), 400, "organization_minimum_permissions_needed"
    )
    assert _listed(client, org)[samples.USER_ALICE]["role"] == "org:admin"
    # Writes that keep a holder pass, and count no hit.
    assert _update(client, org, samples.USER_ALICE, "org:admin").status_code == 200
    assert _update(client, org, samples.USER_OAUTH, "org:observer").status_code == 200
    assert _update(client, org, samples.USER_OAUTH, "org:admin").status_code == 200
    assert _update(client, org, samples.USER_ALICE, "org:member").status_code == 200
    assert guard.hits == 2
    server.faults.clear()
    assert _delete(client, org, samples.USER_OAUTH).status_code == 200


def test_guard_names_its_permission_and_can_be_limited(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    org = samples.ORG_UNICODE  # Zoë is its only org:admin
    server.faults.minimum_permissions_needed("org:sys_profile:delete", times=1, route=DELETE)
    assert _update(client, org, samples.USER_ZOE, "org:member").status_code == 200  # not DELETE
    assert _update(client, org, samples.USER_ZOE, "org:admin").status_code == 200
    _expect(_delete(client, org, samples.USER_ZOE), 400, "organization_minimum_permissions_needed")
    assert _delete(client, org, samples.USER_ZOE).status_code == 200  # used up


# -- per-object write limit ------------------------------------------------------------------------


def test_write_limit_follows_the_rate_limit_by_default() -> None:
    assert FakeClerk(awkward()).write_limit is None
    fake = FakeClerk(awkward(), rate_limit=RateLimit(1000, 10.0))
    assert fake.write_limit == WriteLimit(writes=10, per_seconds=10.0)
    fake.rate_limit = None
    assert fake.write_limit is None
    fake.write_limit = WriteLimit(2, 1.0)
    fake.rate_limit = RateLimit(5, 1.0)
    assert fake.write_limit == WriteLimit(2, 1.0)  # set on its own: stays
    fake.write_limit = "auto"
    assert fake.write_limit == WriteLimit()
    assert FakeClerk(awkward(), rate_limit=RateLimit(), write_limit=None).write_limit is None


def test_eleventh_write_on_one_membership_within_10_s_is_429() -> None:
    with running(awkward(), rate_limit=RateLimit(1000, 10.0)) as (fake, client):
        org, user = samples.ORG_ACME, samples.USER_BANNED
        roles = ["org:admin", "org:member"] * 5
        assert [_update(client, org, user, role).status_code for role in roles] == [200] * 10
        response = _update(client, org, user, "org:admin")
        _expect(response, 429, "too_many_requests")
        assert 1 <= int(response.headers["Retry-After"]) <= 10
        assert fake.dataset.membership(org, user).role == "org:member"  # type: ignore[union-attr]
        _expect(_delete(client, org, user), 429, "too_many_requests")  # the same object
        # Another membership, even of the same user or organization, and reads go on.
        assert _update(client, org, samples.USER_LOCKED, "org:admin").status_code == 200
        assert _update(client, samples.ORG_RESTRICTED, samples.USER_OAUTH, "org:admin").is_success
        assert client.get(_members(org)).status_code == 200
        assert fake.stats.writes[UPDATE] == 13
        assert fake.stats.applied_writes[UPDATE] == 12
        assert fake.stats.rate_limited == 2


def test_write_limit_counts_creates_and_frees_with_its_window() -> None:
    with running(awkward(), write_limit=WriteLimit(2, 1.0)) as (fake, client):
        org, user = samples.ORG_EMPTY, samples.USER_LONELY
        assert _create(client, org, user, "org:member").status_code == 200
        assert _delete(client, org, user).status_code == 200
        blocked = _create(client, org, user, "org:member")
        _expect(blocked, 429, "too_many_requests")
        assert fake.dataset.membership(org, user) is None
        time.sleep(int(blocked.headers["Retry-After"]))
        assert _create(client, org, user, "org:member").status_code == 200


def test_write_limit_per_organization() -> None:
    limit = WriteLimit(2, 60.0, scope=WriteScope.ORGANIZATION)
    with running(awkward(), write_limit=limit) as (_, client):
        org = samples.ORG_ACME
        assert _update(client, org, samples.USER_BANNED, "org:admin").status_code == 200
        assert _update(client, org, samples.USER_LOCKED, "org:admin").status_code == 200
        _expect(_update(client, org, samples.USER_NO_NAME, "org:admin"), 429, "too_many_requests")
        assert _update(client, samples.ORG_UNICODE, samples.USER_LI, "org:admin").is_success


def test_no_write_limit_without_a_rate_limit(fake: tuple[FakeClerk, httpx.Client]) -> None:
    _, client = fake
    roles = ["org:admin", "org:member"] * 10
    statuses = [_update(client, samples.ORG_ACME, samples.USER_BANNED, r) for r in roles]
    assert {response.status_code for response in statuses} == {200}


# -- a write applied, its answer lost --------------------------------------------------------------


def test_dropped_reply_after_a_create_applies_it(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org, user = samples.ORG_EMPTY, samples.USER_LONELY
    fault = server.faults.lost_reply("drop", times=1, route=CREATE)
    with pytest.raises(httpx.RemoteProtocolError):  # an httpx.TransportError
        _create(client, org, user, "org:member")
    assert fault.hits == 1
    assert user in _listed(client, org)  # read back: the write happened
    _expect(_create(client, org, user, "org:member"), 400, "already_a_member_in_organization")
    assert server.stats.writes == {CREATE: 2}
    assert server.stats.applied_writes == {CREATE: 1}
    assert server.stats.dropped == 1


def test_dropped_reply_after_update_and_delete(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    org, user = samples.ORG_ACME, samples.USER_LOCKED
    server.faults.lost_reply(times=2)  # the next two applied writes, any route
    with pytest.raises(httpx.TransportError):
        _update(client, org, user, "org:admin")
    assert _listed(client, org)[user]["role"] == "org:admin"
    with pytest.raises(httpx.TransportError):
        _delete(client, org, user)
    assert user not in _listed(client, org)
    _expect(_delete(client, org, user), 404, "resource_not_found")
    assert server.stats.applied_writes == {UPDATE: 1, DELETE: 1}


def test_stalled_reply_times_the_client_out_after_the_write(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    org, user = samples.ORG_EMPTY, samples.USER_LONELY
    server.faults.lost_reply("stall", seconds=3.0, times=1)
    with client_for(server, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        _create(impatient, org, user, "org:member")
    assert user in _listed(client, org)
    assert server.stats.applied_writes == {CREATE: 1}
    # A client that waits longer than the stall gets the answer.
    server.faults.lost_reply("stall", seconds=0.2, times=1)
    response = _update(client, org, user, "org:admin")
    assert response.status_code == 200
    assert response.json()["role"] == "org:admin"


def test_lost_reply_spares_reads_and_refused_writes(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    fault = server.faults.lost_reply(times=1)
    assert client.get(_members(samples.ORG_ACME)).status_code == 200
    _expect(
        _create(client, samples.ORG_ACME, samples.USER_ALICE, "org:member"),
        400,
        "already_a_member_in_organization",
    )
    assert fault.hits == 0
    with pytest.raises(httpx.TransportError):
        _create(client, samples.ORG_EMPTY, samples.USER_ALICE, "org:member")
    assert fault.exhausted


def test_a_dropped_connection_before_a_write_does_not_apply_it(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    server.faults.drop_connection(times=1, route=CREATE)
    with pytest.raises(httpx.TransportError):
        _create(client, samples.ORG_EMPTY, samples.USER_LONELY, "org:member")
    assert samples.USER_LONELY not in _listed(client, samples.ORG_EMPTY)
    assert server.stats.writes == {CREATE: 1}
    assert server.stats.applied_writes == {}


# -- counters and switches -------------------------------------------------------------------------


def test_write_counters_are_in_the_snapshot_and_reset(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    _create(client, samples.ORG_EMPTY, samples.USER_LONELY, "org:member")
    _update(client, samples.ORG_EMPTY, samples.USER_LONELY, "org:admin")
    client.put(_members(samples.ORG_EMPTY))  # 405, and no write the fake counts
    snapshot = server.stats.snapshot()
    assert snapshot.writes == {CREATE: 1, UPDATE: 1}
    assert snapshot.applied_writes == {CREATE: 1, UPDATE: 1}
    assert snapshot.by_route[CREATE] == 1
    server.stats.reset()
    assert server.stats.writes == server.stats.applied_writes == {}


def test_write_switch_validation() -> None:
    faults = FakeClerk(awkward()).faults
    with pytest.raises(ValueError, match="negative"):
        faults.lost_reply(seconds=-1)
    with pytest.raises(ValueError, match="LostReply"):
        faults.lost_reply("sometimes")
    with pytest.raises(ValueError, match="write limit"):
        WriteLimit(0)
    with pytest.raises(ValueError, match="WriteScope"):
        WriteLimit(scope="planet")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="write faults"):
        FaultMix(faults, rate=0.5, mix={FaultKind.LOST_REPLY: 1.0})


def test_identical_creates_at_once_make_one_membership(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, _ = fake
    org, user = samples.ORG_EMPTY, samples.USER_LONELY

    def attempt(_: int) -> int:
        with client_for(server) as own:
            return _create(own, org, user, "org:member").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(attempt, range(6)))
    assert statuses == [200] + [400] * 5
    assert server.dataset.members_count(org) == 1
    assert server.stats.applied_writes == {CREATE: 1}
