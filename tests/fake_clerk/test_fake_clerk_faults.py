"""The fake Clerk's rate limit and switchable faults, seen from a real HTTP client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest

from connector.fake_clerk import FakeClerk, MalformedBody, RateLimit, awkward, generate
from connector.fake_clerk.data import samples
from tests.fake_clerk.fake_clerk_testkit import (
    REPO,
    check_schema,
    clerk_error,
    client_for,
    get_json,
    running,
    spec_path,
)


@pytest.fixture
def fake() -> Iterator[tuple[FakeClerk, httpx.Client]]:
    with running(generate(users=120, organizations=6, memberships=300, seed=11)) as started:
        yield started


def _ids(page: object) -> list[str]:
    rows = page["data"] if isinstance(page, dict) else page
    assert isinstance(rows, list)
    return [row["id"] for row in rows]


# -- rate limit ------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_until_the_window_frees() -> None:
    with running(awkward(), rate_limit=RateLimit(requests=3, per_seconds=1.5)) as (fake, client):
        assert [client.get("/users").status_code for _ in range(3)] == [200, 200, 200]
        blocked = [client.get(path) for path in ("/users", "/organizations", "/role_sets")]
        for response in blocked:
            assert response.status_code == 429
            assert clerk_error(response)["code"] == "too_many_requests"
            retry_after = int(response.headers["Retry-After"])
            assert 1 <= retry_after <= 2
        assert fake.stats.rate_limited == 3
        time.sleep(int(blocked[-1].headers["Retry-After"]))
        assert client.get("/users").status_code == 200


def test_rate_limit_is_off_by_default_and_switchable() -> None:
    with running(awkward()) as (fake, client):
        assert all(client.get("/users/count").status_code == 200 for _ in range(150))
        fake.rate_limit = RateLimit(requests=1, per_seconds=60)
        assert client.get("/users/count").status_code == 200
        assert client.get("/users/count").status_code == 429
        fake.rate_limit = None
        assert client.get("/users/count").status_code == 200


# -- transport faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "internal_clerk_error"), (502, "internal_clerk_error"), (503, "maintenance_mode")],
)
def test_server_error_for_n_requests(
    fake: tuple[FakeClerk, httpx.Client], status: int, code: str
) -> None:
    server, client = fake
    fault = server.faults.server_error(status, times=2)
    for _ in range(2):
        response = client.get("/users")
        assert response.status_code == status
        assert clerk_error(response)["code"] == code
    assert client.get("/users").status_code == 200
    assert fault.hits == 2
    assert fault.exhausted
    assert server.faults.active == []


def test_fault_limited_to_a_path_prefix_or_route(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.server_error(500, path="/v1/organizations")
    assert client.get("/users").status_code == 200
    assert client.get("/organization_memberships").status_code == 200  # not a segment match
    org_id = get_json(client, "/organization_memberships")["data"][0]["organization"]["id"]
    assert client.get("/organizations").status_code == 500
    assert client.get(f"/organizations/{org_id}/memberships").status_code == 500
    server.faults.clear()
    server.faults.server_error(503, route="GET /users/{id}")
    assert client.get("/users").status_code == 200
    assert client.get("/users/count").status_code == 200
    assert client.get("/users/user_x").status_code == 503


def test_slow_response(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.slow(0.4, times=2, path="/users")
    started = time.perf_counter()
    assert client.get("/users").status_code == 200
    assert time.perf_counter() - started >= 0.4
    with client_for(server, timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get("/users")
    assert client.get("/users").status_code == 200  # the fault is used up; the server is fine


def test_dropped_connection(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.drop_connection(times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/users")
    assert client.get("/users").status_code == 200
    assert server.stats.dropped == 1


def test_connection_dropped_halfway_through_the_body(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.drop_connection(mid_body=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/users", params={"limit": 100})
    assert client.get("/users").status_code == 200


@pytest.mark.parametrize("kind", list(MalformedBody))
def test_malformed_bodies_are_status_200(
    fake: tuple[FakeClerk, httpx.Client], kind: MalformedBody
) -> None:
    server, client = fake
    server.faults.malformed_body(kind, times=1)
    response = client.get("/organization_memberships")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    if kind is MalformedBody.WRONG_SHAPE:
        assert "data" not in response.json()
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    if kind is MalformedBody.HTML:
        assert response.headers["Content-Type"].startswith("text/html")
    assert "data" in client.get("/organization_memberships").json()


def test_revoked_key(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.revoke_key(times=2)
    assert clerk_error(client.get("/users"))["code"] == "authentication_invalid"
    assert client.get("/organizations").status_code == 403
    assert client.get("/users").status_code == 200


# -- hostile paging --------------------------------------------------------------------------


def test_ignore_paging_always_returns_the_first_page(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    first = _ids(get_json(client, "/users", limit=10, order_by="+created_at"))
    first_orgs = _ids(get_json(client, "/organization_memberships", limit=10))
    server.faults.ignore_paging()
    cursor_page = get_json(
        client, "/users", limit=10, order_by="+created_at", starting_after=first[-1]
    )
    assert _ids(cursor_page) == first
    assert _ids(get_json(client, "/users", limit=10, offset=30, order_by="+created_at")) == first
    assert _ids(get_json(client, "/organization_memberships", limit=10, offset=50)) == first_orgs


def test_stale_pages_repeat_rows_already_served(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    honest = [
        _ids(get_json(client, "/organization_memberships", limit=10, offset=offset))
        for offset in (0, 10, 20)
    ]
    users = _ids(get_json(client, "/users", limit=20, order_by="+created_at"))
    server.faults.stale_pages()
    assert _ids(get_json(client, "/organization_memberships", limit=10, offset=20)) == honest[1]
    page = get_json(client, "/users", limit=10, order_by="+created_at", starting_after=users[9])
    assert _ids(page) == users[:10]


def test_short_pages_keep_total_count(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    full = get_json(client, "/organization_memberships", limit=50)
    server.faults.short_pages(3, times=2)
    short = get_json(client, "/organization_memberships", limit=50)
    assert _ids(short) == _ids(full)[:3]
    assert short["total_count"] == full["total_count"]
    assert len(get_json(client, "/users", limit=50)) == 3
    assert len(get_json(client, "/users", limit=50)) == 50


def test_paging_faults_leave_single_objects_alone(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    fault = server.faults.short_pages(0, times=1)
    assert get_json(client, "/users/count")["total_count"] == 120
    assert fault.hits == 0
    assert get_json(client, "/users", limit=5) == []
    assert fault.hits == 1


def test_fault_switch_validation() -> None:
    faults = FakeClerk(awkward()).faults
    with pytest.raises(ValueError, match="5xx"):
        faults.server_error(404)
    with pytest.raises(ValueError, match="times"):
        faults.slow(1.0, times=0)
    with pytest.raises(ValueError, match="402 or 403"):
        faults.plan_lacks_feature(404)
    with pytest.raises(ValueError, match="negative"):
        faults.deep_offsets(-1)
    with pytest.raises(ValueError, match="negative"):
        faults.deep_offsets(10, seconds=-1)
    with pytest.raises(ValueError, match="sideways"):
        faults.unordered("sideways")
    with pytest.raises(ValueError, match="maybe"):
        faults.cursor_gone("maybe")


# -- deep offsets ------------------------------------------------------------------------------


def test_deep_offsets_answer_504_from_the_threshold_on(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    fault = server.faults.deep_offsets(100)
    path = "/organization_memberships"
    assert len(get_json(client, path, limit=100, offset=0)["data"]) == 100
    assert len(get_json(client, path, limit=100, offset=99)["data"]) > 0
    for offset in (100, 101, 250):
        response = client.get(path, params={"limit": 100, "offset": offset})
        assert response.status_code == 504
        assert clerk_error(response)["code"] == "internal_clerk_error"
    assert fault.hits == 3  # only the deep requests count
    # Other lists, per-organization reads included, stay fine at any offset.
    org_id = get_json(client, path)["data"][0]["organization"]["id"]
    for other in ("/organizations", f"/organizations/{org_id}/memberships", "/users"):
        assert client.get(other, params={"offset": 250}).status_code == 200
    # A malformed offset is still the handler's 422, not a time-out.
    assert client.get(path, params={"offset": "deep"}).status_code == 422


def test_deep_offsets_for_n_requests_and_on_another_path(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    server.faults.deep_offsets(50, times=2, path="/users")
    assert [client.get("/users", params={"offset": 60}).status_code for _ in range(3)] == [
        504,
        504,
        200,
    ]
    assert client.get("/organization_memberships", params={"offset": 60}).status_code == 200


def test_deep_offsets_can_hang_past_a_client_timeout(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.deep_offsets(10, seconds=2.0, times=1)
    with client_for(server, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get("/organization_memberships", params={"offset": 10})
    server.faults.deep_offsets(10, seconds=0.3, times=1)
    started = time.perf_counter()
    response = client.get("/organization_memberships", params={"offset": 10})
    assert response.status_code == 504  # a patient client sees the gateway's answer
    assert time.perf_counter() - started >= 0.3
    assert client.get("/organization_memberships", params={"offset": 10}).status_code == 200


# -- a plan without a feature ------------------------------------------------------------------


def test_role_sets_answer_402_when_the_plan_lacks_them(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    fault = server.faults.plan_lacks_feature(402)
    response = client.get("/role_sets")
    assert response.status_code == 402
    error = clerk_error(response)
    assert error["code"] == "unsupported_subscription_plan_features_code"
    if spec_path() is not None:
        check_schema(response.json(), "ClerkErrors")
    assert client.get("/organization_roles").status_code == 200
    assert client.get("/organizations").status_code == 200
    with client_for(server, key="sk_test_wrong") as wrong:
        assert wrong.get("/role_sets").status_code == 401  # the key is checked first
    assert fault.hits == 1


def test_role_sets_answer_403_when_the_plan_lacks_them(
    fake: tuple[FakeClerk, httpx.Client],
) -> None:
    server, client = fake
    server.faults.plan_lacks_feature(403, times=1)
    response = client.get("/role_sets")
    assert response.status_code == 403
    assert clerk_error(response)["code"] == "authorization_invalid"
    assert client.get("/role_sets").status_code == 200


def test_plan_lacks_feature_on_another_endpoint(fake: tuple[FakeClerk, httpx.Client]) -> None:
    server, client = fake
    server.faults.plan_lacks_feature(402, path="/instance/organization_settings")
    assert client.get("/instance/organization_settings").status_code == 402
    assert client.get("/role_sets").status_code == 200


# -- lifecycle -------------------------------------------------------------------------------


def test_stop_closes_keep_alive_connections() -> None:
    fake = FakeClerk(awkward()).start()
    client = client_for(fake)
    assert client.get("/users").status_code == 200
    fake.stop()
    with pytest.raises(httpx.TransportError):
        client.get("/users")
    client.close()
    assert not fake.running
    with pytest.raises(RuntimeError):
        _ = fake.url


def test_serve_runs_until_ctrl_c_and_never_prints_the_key() -> None:
    secret = "sk_test_must_never_be_printed_42"
    script = textwrap.dedent(
        f"""
        from connector.fake_clerk import serve, awkward
        serve(awkward(), host="127.0.0.1", port=0, secret_key={secret!r},
              on_ready=lambda fake: print(fake.url, flush=True))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        good = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{url}/users/{samples.USER_ALICE}", headers=good).status_code == 200
        bad = {"Authorization": f"Bearer {secret}x"}
        assert httpx.get(f"{url}/users", headers=bad).status_code == 401
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert secret not in out + err
    assert "Traceback" not in err
