"""Membership writes: sent once, never retried; an unknown outcome is its own error; the
per-object write budget; the read-back's query. A mock transport (the e2e tests use the fake)."""

from __future__ import annotations

import httpx
import pytest

from connector.clerk import ClerkRateLimitedError, ClerkRequestError
from connector.clerk.errors import ClerkWriteOutcomeUnknown
from connector.clerk.writes import ObjectWriteBudget
from tests.clerk.clerk_testkit import (
    CANARY_KEY,
    FakeClock,
    Recorder,
    clerk_errors,
    json_response,
    make_client,
    membership_json,
    sequence,
)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server closed the connection"),
        json_response(clerk_errors("internal", "boom"), status=500),
        json_response(clerk_errors("unavailable", "maintenance"), status=503),
    ],
    ids=["timeout", "dropped", "500", "503"],
)
def test_a_write_whose_outcome_is_unknown_is_sent_once(failure: object) -> None:
    recorder = Recorder(sequence(failure))  # type: ignore[arg-type]
    with make_client(recorder) as client, pytest.raises(ClerkWriteOutcomeUnknown) as caught:
        client.memberships.create("org_1", "user_1", "org:member")
    assert len(recorder.requests) == 1
    assert recorder.requests[0].method == "POST"
    assert "POST /organizations/{organization_id}/memberships" in str(caught.value)
    assert CANARY_KEY not in str(caught.value)


def test_a_rate_limited_write_is_not_retried_and_pauses_the_budget() -> None:
    clock = FakeClock()
    recorder = Recorder(
        sequence(
            json_response(clerk_errors("too_many_requests", "slow down"), 429, {"Retry-After": "7"})
        )
    )
    with make_client(recorder, clock) as client:
        with pytest.raises(ClerkRateLimitedError) as caught:
            client.memberships.change_role("org_1", "user_1", "org:admin")
        assert caught.value.retry_after == 7
        assert len(recorder.requests) == 1
        waited = client.budget.acquire()
    assert waited == pytest.approx(7)


def test_a_refused_write_carries_clerks_code() -> None:
    recorder = Recorder(
        sequence(json_response(clerk_errors("already_a_member_in_organization", "member"), 400))
    )
    with make_client(recorder) as client, pytest.raises(ClerkRequestError) as caught:
        client.memberships.create("org_1", "user_1", "org:member")
    assert caught.value.code == "already_a_member_in_organization"
    assert caught.value.method == "POST"


def test_writes_send_the_spec_bodies_and_parse_the_membership() -> None:
    recorder = Recorder(
        sequence(
            json_response(membership_json("orgmem_1", role="org:admin")),
            json_response(membership_json("orgmem_1", role="org:member")),
            json_response(membership_json("orgmem_1")),
        )
    )
    with make_client(recorder) as client:
        assert client.memberships.create("org_1", "user_1", "org:admin").role == "org:admin"
        assert client.memberships.change_role("org_1", "user_1", "org:member").role == "org:member"
        assert client.memberships.delete("org_1", "user_1").id == "orgmem_1"
    first, second, third = recorder.requests
    assert (first.method, first.url.path) == ("POST", "/v1/organizations/org_1/memberships")
    assert first.content == b'{"user_id":"user_1","role":"org:admin"}'
    assert (second.method, second.url.path) == (
        "PATCH",
        "/v1/organizations/org_1/memberships/user_1",
    )
    assert second.content == b'{"role":"org:member"}'
    assert (third.method, third.url.path) == (
        "DELETE",
        "/v1/organizations/org_1/memberships/user_1",
    )


def test_the_read_back_filters_by_user_and_checks_the_answer() -> None:
    page = {"data": [membership_json("orgmem_2", user_id="user_2")], "total_count": 1}
    recorder = Recorder(sequence(json_response(page), json_response(page)))
    with make_client(recorder) as client:
        # A server that ignored the filter answers another user's row: not this user's membership.
        assert client.memberships.membership("org_1", "user_1") is None
        found = client.memberships.membership("org_1", "user_2")
    assert found is not None
    assert found.id == "orgmem_2"
    assert recorder.requests[0].url.params.get_list("user_id") == ["user_1"]


def test_the_per_object_budget_holds_one_object_not_the_others() -> None:
    clock = FakeClock()
    budget = ObjectWriteBudget(10, 10.0, clock=clock, sleep=clock.sleep)
    assert [budget.acquire("org_1") for _ in range(10)] == [0.0] * 10
    assert budget.acquire("org_2") == 0.0
    assert budget.acquire("org_1") == pytest.approx(10.0)
