"""The secret key never shows up in an exception's text, repr or traceback, or in any log output."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from connector.clerk import ClerkClient, ClerkError
from tests.clerk.clerk_testkit import CANARY_KEY, FakeClock, json_response, make_client


def _echo_auth_header(status: int) -> Callable[[httpx.Request], httpx.Response]:
    """A hostile server that puts the caller's Authorization header everywhere it can."""

    def handle(request: httpx.Request) -> httpx.Response:
        auth = request.headers["Authorization"]
        body = {
            "errors": [
                {
                    "code": auth,
                    "message": f"bad {auth}",
                    "long_message": f"key {CANARY_KEY} rejected",
                }
            ],
            "clerk_trace_id": auth,
        }
        return httpx.Response(
            status,
            content=json.dumps(body).encode(),
            headers={"Retry-After": "0", "X-Echo": auth, "X-RateLimit-Limit": auth},
        )

    return handle


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return handle


SCENARIOS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "401 echo": _echo_auth_header(401),
    "403 echo": _echo_auth_header(403),
    "404 echo": _echo_auth_header(404),
    "422 echo": _echo_auth_header(422),
    "429 echo": _echo_auth_header(429),
    "500 echo": _echo_auth_header(500),
    "503 echo": _echo_auth_header(503),
    "timeout quoting key": _raise(
        httpx.ReadTimeout(f"timed out, Authorization: Bearer {CANARY_KEY}")
    ),
    "drop quoting key": _raise(httpx.RemoteProtocolError(f"GOAWAY for {CANARY_KEY}")),
    "non-JSON 200 with key": lambda r: httpx.Response(200, content=f"<p>{CANARY_KEY}</p>".encode()),
    "schema mismatch with key": lambda r: json_response([{"id": CANARY_KEY}]),
    "non-JSON 401 with key": lambda r: httpx.Response(401, content=f"denied {CANARY_KEY}".encode()),
}

OPERATIONS: dict[str, Callable[[ClerkClient], object]] = {
    "users_page": lambda c: c.users_page(limit=10, starting_after=None),
    "list_roles": lambda c: c.list_roles(),
    "validate": lambda c: c.validate(),
}


def _everything_visible(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), *map(str, exc.args), "".join(traceback.format_exception(exc))]
    parts += [repr(value) for value in vars(exc).values()]
    return "\n".join(parts)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_key_never_leaks(
    scenario: str,
    operation: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with (
        capture_logs() as structlog_events,
        make_client(SCENARIOS[scenario], clock, max_retries=2) as client,
    ):
        with pytest.raises(ClerkError) as caught:
            OPERATIONS[operation](client)
        visible = [
            _everything_visible(caught.value),
            repr(client),
            repr(client.stats),
            repr(vars(client)),
        ]
    out, err = capsys.readouterr()
    visible += [repr(structlog_events), caplog.text, out, err]
    secret_body = CANARY_KEY.removeprefix("sk_test_")
    for text in visible:
        assert CANARY_KEY not in text
        assert secret_body not in text
    assert structlog_events, "the requests were logged"


def test_the_hostile_echo_is_redacted_not_dropped() -> None:
    with make_client(_echo_auth_header(422)) as client, pytest.raises(ClerkError) as caught:
        client.count_users()
    assert "[REDACTED]" in str(caught.value)
    assert caught.value.status == 422
