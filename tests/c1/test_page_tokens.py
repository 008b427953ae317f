from __future__ import annotations

import base64
import json

import pytest

from connector.c1 import page_tokens
from connector.c1.page_tokens import InvalidPageToken


def test_round_trip_keeps_position_and_kind() -> None:
    token = page_tokens.encode("users", {"c": "user_9", "n": 3})
    assert page_tokens.decode(token, "users") == {"c": "user_9", "n": 3}


def test_empty_token_means_first_page() -> None:
    assert page_tokens.decode("", "users") is None


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !!",
        "%%%",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 99, "k": "users", "p": {}}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "k": "users", "p": 7}).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_garbage_is_rejected(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        page_tokens.decode(token, "users")


def test_token_of_another_list_is_rejected() -> None:
    token = page_tokens.encode("organizations", {"c": 500})
    with pytest.raises(InvalidPageToken, match="another list"):
        page_tokens.decode(token, "users")


def test_oversized_token_is_rejected_before_decoding() -> None:
    with pytest.raises(InvalidPageToken, match="too large"):
        page_tokens.decode("A" * (page_tokens.MAX_TOKEN_BYTES + 1), "users")


@pytest.mark.parametrize(("requested", "expected"), [(0, 500), (1, 1), (250, 250), (10_000, 500)])
def test_page_size_defaults_and_caps(requested: int, expected: int) -> None:
    assert page_tokens.page_size(requested) == expected


def test_field_checks_types_and_ranges() -> None:
    assert page_tokens.field({"n": 2}, "n", int, minimum=1) == 2
    with pytest.raises(InvalidPageToken):
        page_tokens.field({"n": "2"}, "n", int)
    with pytest.raises(InvalidPageToken):
        page_tokens.field({"n": True}, "n", int)
    with pytest.raises(InvalidPageToken):
        page_tokens.field({"n": -1}, "n", int, minimum=0)
    with pytest.raises(InvalidPageToken):
        page_tokens.field({}, "n", int)
