"""ClerkClient over httpx.MockTransport: requests sent, retries, rate limits, error mapping."""

from __future__ import annotations

import json
import socket
import threading

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connector.clerk import (
    ClerkAuthenticationError,
    ClerkClient,
    ClerkError,
    ClerkNotFoundError,
    ClerkPermissionError,
    ClerkRateLimitedError,
    ClerkRequestError,
    ClerkResponseError,
    ClerkUnavailableError,
)
from connector.clerk import transport as transport_module
from tests.clerk.clerk_testkit import (
    API_URL,
    CANARY_KEY,
    FakeClock,
    Recorder,
    clerk_errors,
    json_response,
    make_client,
    organization_json,
    page_json,
    sequence,
    user_json,
)

USERS_OK = json_response([user_json("user_1")])


def test_sends_auth_version_and_user_agent_headers() -> None:
    recorder = Recorder(sequence(USERS_OK))
    with make_client(recorder) as client:
        users = client.users_page(limit=1, starting_after=None)
    assert [u.id for u in users] == ["user_1"]
    request = recorder.requests[0]
    assert str(request.url).startswith(f"{API_URL}/users?")
    assert request.headers["Authorization"] == "Bearer sk_test_CANARY_d0NotLeak_7f3a9c"
    assert request.headers["Clerk-API-Version"] == "2026-05-12"
    assert request.headers["User-Agent"].startswith("clerk-connector/")
    assert "__clerk_api_version" not in request.url.params


def test_users_page_query() -> None:
    recorder = Recorder(sequence(USERS_OK, USERS_OK))
    with make_client(recorder) as client:
        client.users_page(limit=500, starting_after=None)
        client.users_page(limit=200, starting_after="user_9")
    first, second = (r.url.params for r in recorder.requests)
    assert dict(first) == {"limit": "500", "order_by": "+created_at"}
    assert dict(second) == {"limit": "200", "order_by": "+created_at", "starting_after": "user_9"}


def test_organizations_page_query_asks_for_members_count_oldest_first() -> None:
    recorder = Recorder(sequence(json_response(page_json([], total_count=0))))
    with make_client(recorder) as client:
        page = client.organizations_page(limit=50, offset=100)
    assert page.total_count == 0
    assert dict(recorder.requests[0].url.params) == {
        "limit": "50",
        "offset": "100",
        "order_by": "+created_at",
        "include_members_count": "true",
    }


def test_get_organization_and_get_user() -> None:
    recorder = Recorder(
        sequence(
            json_response(organization_json("org_1", members_count=0)),
            json_response(user_json("user_1")),
        )
    )
    with make_client(recorder) as client:
        organization = client.get_organization("org_1")
        user = client.get_user("user_1")
    assert organization.members_count == 0
    assert user.id == "user_1"
    assert recorder.paths == ["/v1/organizations/org_1", "/v1/users/user_1"]
    assert dict(recorder.requests[0].url.params) == {"include_members_count": "true"}


def test_organization_settings() -> None:
    body = {"object": "organization_settings", "enabled": True, "initial_role_set_key": "rs:a"}
    recorder = Recorder(sequence(json_response(body)))
    with make_client(recorder) as client:
        assert client.organization_settings().initial_role_set_key == "rs:a"
    assert recorder.paths == ["/v1/instance/organization_settings"]


@pytest.mark.parametrize("limit", [0, 501])
def test_rejects_limit_out_of_range_without_a_request(limit: int) -> None:
    recorder = Recorder(sequence())
    with make_client(recorder) as client, pytest.raises(ValueError, match="limit"):
        client.users_page(limit=limit, starting_after=None)
    assert recorder.requests == []


def test_ids_are_percent_encoded_as_one_path_segment() -> None:
    recorder = Recorder(sequence(json_response(user_json("a/b?c"))))
    with make_client(recorder) as client:
        client.get_user("a/b?c")
        with pytest.raises(ValueError, match="invalid id"):
            client.get_organization("..")
    assert recorder.requests[0].url.raw_path == b"/v1/users/a%2Fb%3Fc"
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, ClerkRequestError, "form_param_invalid"),
        (401, ClerkAuthenticationError, "authentication_invalid"),
        (402, ClerkRequestError, "payment_required"),
        (403, ClerkPermissionError, "authorization_invalid"),
        (404, ClerkNotFoundError, "resource_not_found"),
        (409, ClerkRequestError, "conflict"),
        (422, ClerkRequestError, "form_param_format_invalid"),
    ],
)
def test_client_errors_map_to_types_and_are_not_retried(
    status: int, error_type: type[ClerkError], code: str
) -> None:
    recorder = Recorder(
        sequence(json_response(clerk_errors(code, "Nope", "trace-abc"), status=status))
    )
    with make_client(recorder) as client, pytest.raises(ClerkError) as caught:
        client.get_user("user_1")
    error = caught.value
    assert type(error) is error_type
    assert error.status == status
    assert error.route == "/users/{user_id}"
    assert error.trace_id == "trace-abc"
    assert error.code == code
    text = str(error)
    assert f"HTTP {status}" in text
    assert "GET /users/{user_id}" in text
    assert code in text
    assert "trace-abc" in text
    assert "Nope (long)" in text
    assert len(recorder.requests) == 1
    assert client.stats.retries == 0


def test_error_with_empty_errors_array() -> None:
    body = {"errors": [], "clerk_trace_id": "t-1"}
    with (
        make_client(sequence(json_response(body, status=422))) as client,
        pytest.raises(ClerkRequestError) as caught,
    ):
        client.count_users()
    assert caught.value.code is None
    assert caught.value.trace_id == "t-1"
    assert caught.value.status == 422


def test_error_with_non_json_body_does_not_echo_the_body() -> None:
    html = httpx.Response(
        401,
        content=b"<html>gateway says no SECRET_MARKUP</html>",
        headers={"Content-Type": "text/html"},
    )
    with make_client(sequence(html)) as client, pytest.raises(ClerkAuthenticationError) as caught:
        client.count_users()
    assert caught.value.status == 401
    assert caught.value.trace_id is None
    assert "SECRET_MARKUP" not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_with_capped_jittered_backoff_then_raises_unavailable(status: int) -> None:
    clock = FakeClock()
    body = clerk_errors("maintenance_mode", "down", "trace-5")
    recorder = Recorder(lambda request: json_response(body, status=status))
    with (
        make_client(recorder, clock, max_retries=5) as client,
        pytest.raises(ClerkUnavailableError) as caught,
    ):
        client.count_users()
    assert len(recorder.requests) == 6
    # jitter() == 0.5 gives three quarters of min(8, 0.5 * 2**n).
    assert clock.sleeps == pytest.approx([0.375, 0.75, 1.5, 3.0, 6.0])
    assert caught.value.status == status
    assert caught.value.trace_id == "trace-5"
    assert client.stats.retries == 5
    assert client.stats.requests_sent == 6


def test_backoff_is_capped() -> None:
    clock = FakeClock()
    recorder = Recorder(lambda request: httpx.Response(500))
    with (
        make_client(recorder, clock, max_retries=8) as client,
        pytest.raises(ClerkUnavailableError),
    ):
        client.count_users()
    assert max(clock.sleeps) == pytest.approx(6.0)  # 8 s cap, times 0.75 jitter
    assert clock.sleeps[-3:] == pytest.approx([6.0, 6.0, 6.0])


def test_retries_then_success() -> None:
    clock = FakeClock()
    count = json_response({"object": "total_count", "total_count": 12})
    recorder = Recorder(
        sequence(httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(502), count)
    )
    with make_client(recorder, clock) as client:
        assert client.count_users() == 12
    assert len(recorder.requests) == 4
    assert client.stats.retries == 3
    assert client.stats.requests_sent == 4
    assert len(clock.sleeps) == 3


def test_503_retry_after_is_honoured() -> None:
    clock = FakeClock()
    count = json_response({"object": "total_count", "total_count": 1})
    with make_client(
        sequence(httpx.Response(503, headers={"Retry-After": "4"}), count), clock
    ) as client:
        client.count_users()
    assert clock.sleeps == [4.0]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("connection reset"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_timeouts_and_dropped_connections_raise_unavailable_after_retries(
    failure: Exception,
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    recorder = Recorder(fail)
    with (
        make_client(recorder, max_retries=2) as client,
        pytest.raises(ClerkUnavailableError) as caught,
    ):
        client.list_roles()
    assert len(recorder.requests) == 3
    error = caught.value
    assert error.status is None
    assert error.route == "/organization_roles"
    assert type(failure).__name__ in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_429_honours_retry_after_through_the_shared_budget() -> None:
    clock = FakeClock()
    recorder = Recorder(
        sequence(
            httpx.Response(429, headers={"Retry-After": "2.5"}),
            httpx.Response(429, headers={"Retry-After": "7"}),
            USERS_OK,
        )
    )
    with make_client(recorder, clock) as client:
        users = client.users_page(limit=10, starting_after=None)
    assert [u.id for u in users] == ["user_1"]
    assert clock.sleeps == pytest.approx([2.5, 7.0])
    assert clock.now == pytest.approx(1009.5)
    assert client.stats.rate_limited_responses == 2
    assert client.stats.rate_limit_wait_seconds == pytest.approx(9.5)
    assert client.stats.retries == 2


@pytest.mark.parametrize(
    ("header", "expected_wait"),
    [
        (None, 1.0),
        ("soon", 1.0),
        ("-5", 1.0),
        ("nan", 1.0),
        ("0", 0.0),
        ("3600", 60.0),
        ("inf", 60.0),
    ],
)
def test_429_retry_after_default_and_cap(header: str | None, expected_wait: float) -> None:
    clock = FakeClock()
    headers = {} if header is None else {"Retry-After": header}
    with make_client(sequence(httpx.Response(429, headers=headers), USERS_OK), clock) as client:
        client.users_page(limit=10, starting_after=None)
    assert sum(clock.sleeps) == pytest.approx(expected_wait, abs=0.002)


def test_429_that_outlasts_retries_raises_rate_limited_and_pauses_the_budget() -> None:
    clock = FakeClock()
    response = httpx.Response(
        429,
        content=json.dumps(clerk_errors("too_many_requests", "Too many", "trace-429")).encode(),
        headers={"Retry-After": "5", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"},
    )
    recorder = Recorder(lambda request: response)
    with (
        make_client(recorder, clock, max_retries=3) as client,
        pytest.raises(ClerkRateLimitedError) as caught,
    ):
        client.list_permissions()
    assert len(recorder.requests) == 4
    error = caught.value
    assert error.status == 429
    assert error.retry_after == 5.0
    assert (error.limit, error.remaining) == (100, 0)
    assert error.trace_id == "trace-429"
    assert "retry_after=5s" in str(error)
    assert client.stats.rate_limited_responses == 4
    # The last 429 paused the shared budget: any other caller now waits the full Retry-After.
    assert client.budget.acquire() == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"<html>ok</html>", "not valid JSON"),
        (b'[{"id": "user_1", "created_at": 1', "not valid JSON"),  # truncated
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),  # nesting bomb
        (b'{"data": []}', "does not match the schema"),  # an object where the spec has an array
        (b'[{"id": "user_1"}]', "does not match the schema"),  # required created_at missing
    ],
)
def test_unusable_2xx_bodies_raise_response_error(content: bytes, detail: str) -> None:
    recorder = Recorder(sequence(httpx.Response(200, content=content)))
    with make_client(recorder) as client, pytest.raises(ClerkResponseError) as caught:
        client.users_page(limit=10, starting_after=None)
    assert detail in str(caught.value)
    assert caught.value.__cause__ is None
    assert len(recorder.requests) == 1  # not retried


def test_corrupt_compressed_body_raises_response_error() -> None:
    corrupt = httpx.Response(
        200, stream=httpx.ByteStream(b"not gzip at all"), headers={"Content-Encoding": "gzip"}
    )
    with (
        make_client(sequence(corrupt)) as client,
        pytest.raises(ClerkResponseError, match="Encoding"),
    ):
        client.count_users()


def test_schema_mismatch_message_does_not_echo_values() -> None:
    body = [{**user_json("user_1"), "created_at": "PRIVATE_VALUE"}]
    with (
        make_client(sequence(json_response(body))) as client,
        pytest.raises(ClerkResponseError) as caught,
    ):
        client.users_page(limit=10, starting_after=None)
    assert "PRIVATE_VALUE" not in str(caught.value)
    assert "0.created_at" in str(caught.value)


def test_redirect_is_not_followed() -> None:
    redirect = httpx.Response(302, headers={"Location": "https://evil.example/steal"})
    recorder = Recorder(sequence(redirect))
    with make_client(recorder) as client, pytest.raises(ClerkResponseError) as caught:
        client.count_users()
    assert caught.value.status == 302
    assert "unexpected status" in str(caught.value)
    assert "evil.example" not in str(caught.value)
    assert len(recorder.requests) == 1


def test_oversized_body_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "MAX_RESPONSE_BYTES", 1000)
    big = json_response([user_json(f"user_{i}") for i in range(5)])
    with (
        make_client(sequence(big)) as client,
        pytest.raises(ClerkResponseError, match="larger than"),
    ):
        client.users_page(limit=10, starting_after=None)


def test_one_info_log_event_per_request() -> None:
    clock = FakeClock()
    responses = sequence(json_response(clerk_errors("x", "y", "trace-log"), status=500), USERS_OK)
    with capture_logs() as logs, make_client(responses, clock) as client:
        client.users_page(limit=10, starting_after=None)
    events = [e for e in logs if e["event"] == "clerk.request"]
    assert len(events) == 2
    assert [e["attempt"] for e in events] == [1, 2]
    assert [e["status"] for e in events] == [500, 200]
    assert events[0]["clerk_trace_id"] == "trace-log"
    assert all(e["route"] == "/users" and e["log_level"] == "info" for e in events)
    assert all(isinstance(e["duration_ms"], float) for e in events)


def test_validate_reports_instance_kind_and_user_count() -> None:
    count = json_response({"object": "total_count", "total_count": 3})
    recorder = Recorder(sequence(USERS_OK, count))
    with make_client(recorder) as client:
        summary = client.validate()
    assert summary.instance_kind == "development"
    assert summary.user_count == 3
    assert recorder.paths == ["/v1/users", "/v1/users/count"]
    assert recorder.requests[0].url.params["limit"] == "1"

    production = Recorder(sequence(USERS_OK, count))
    with make_client(production, key="sk_live_abc") as client:
        assert client.validate().instance_kind == "production"
        assert client.budget.requests == 500


def test_validate_with_a_bad_key_raises_authentication_error() -> None:
    body = clerk_errors("authentication_invalid", "Invalid key")
    with (
        make_client(sequence(json_response(body, status=401))) as client,
        pytest.raises(ClerkAuthenticationError),
    ):
        client.validate()


@pytest.mark.parametrize("key", ["", "sk_test_has space", "sk_test_newline\nX-Injected: 1"])
def test_rejects_keys_that_cannot_be_a_header_without_echoing_them(key: str) -> None:
    with pytest.raises(ValueError, match="secret key") as caught:
        ClerkClient(API_URL, SecretStr(key), transport=httpx.MockTransport(sequence()))
    if key:
        assert key not in str(caught.value)


def test_rejects_non_http_api_url() -> None:
    with pytest.raises(ValueError, match="api_url"):
        ClerkClient("ftp://x", SecretStr("sk_test_x"))


def test_body_cut_short_by_a_real_connection_drop_is_retried_then_unavailable() -> None:
    """Over a real socket: the server promises 100 bytes, sends 2 and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                served.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{")
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    clock = FakeClock()
    client = ClerkClient(
        f"http://127.0.0.1:{port}/v1",
        SecretStr(CANARY_KEY),
        max_retries=1,
        timeout=5.0,
        sleep=clock.sleep,
        clock=clock,
    )
    with client, pytest.raises(ClerkUnavailableError, match="connection failed") as caught:
        client.count_users()
    thread.join(timeout=5)
    assert len(served) == 2
    assert served[0].startswith(b"GET /v1/users/count ")
    assert CANARY_KEY not in str(caught.value)
