"""Properties of connector/page_tokens.py: what it mints it reads back, and anything else is
InvalidPageToken (never another exception, whatever the input)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector.c1 import page_tokens
from connector.c1.page_tokens import InvalidPageToken
from tests.property.settings import FEW, PROPERTY

KINDS = st.sampled_from(["users", "organizations", "ent:org_1", "grants:org_1", "roles"])
# JSON values that survive a round trip unchanged (NaN never equals itself).
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
POSITIONS = st.dictionaries(st.text(max_size=8), JSON, max_size=6)


def decode_cleanly(token: str, kind: str) -> dict[str, Any] | None:
    """decode, where InvalidPageToken is a clean answer and anything else escapes."""
    try:
        return page_tokens.decode(token, kind)
    except InvalidPageToken:
        return None


@PROPERTY
@given(kind=KINDS, position=POSITIONS)
def test_round_trip(kind: str, position: dict[str, Any]) -> None:
    token = page_tokens.encode(kind, position)
    assert page_tokens.decode(token, kind) == position
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


@PROPERTY
@given(kind=KINDS, other=KINDS, position=POSITIONS)
def test_a_token_is_only_good_for_its_own_list(
    kind: str, other: str, position: dict[str, Any]
) -> None:
    token = page_tokens.encode(kind, position)
    if other != kind:
        assert decode_cleanly(token, other) is None


@PROPERTY
@given(token=st.text(max_size=300), kind=KINDS)
def test_arbitrary_text_is_invalid_or_first_page(token: str, kind: str) -> None:
    result = decode_cleanly(token, kind)
    assert result is None  # no random text carries a valid check


@PROPERTY
@given(raw=st.binary(max_size=300), kind=KINDS)
def test_base64_of_random_bytes_is_invalid(raw: bytes, kind: str) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_cleanly(token, kind) is None
    assert decode_cleanly(f"{token}.{token}", kind) is None


@PROPERTY
@given(body=JSON, kind=KINDS)
def test_base64_of_random_json_is_invalid(body: object, kind: str) -> None:
    raw = json.dumps(body).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_cleanly(token, kind) is None


@PROPERTY
@given(kind=KINDS, position=POSITIONS, data=st.data())
def test_any_edit_is_rejected_or_changes_nothing(
    kind: str, position: dict[str, Any], data: st.DataObject
) -> None:
    token = page_tokens.encode(kind, position)
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    replacement = data.draw(st.characters(codec="utf-8"), label="char")
    edited = token[:index] + replacement + token[index + 1 :]
    # Some base64 characters carry unused low bits: such an edit decodes to the same bytes.
    assert decode_cleanly(edited, kind) in (None, position)
    cut = data.draw(st.integers(0, len(token) - 1), label="cut")
    assert decode_cleanly(token[:cut], kind) is None


@PROPERTY
@given(kind=KINDS, position=POSITIONS, field=st.text(max_size=4), value=JSON)
def test_a_position_edited_inside_the_token_is_rejected(
    kind: str, position: dict[str, Any], field: str, value: object
) -> None:
    """What a platform or middlebox rewriting our JSON would send: the old check, a new body."""
    token = page_tokens.encode(kind, position)
    payload, check = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["p"][field] = value
    raw = json.dumps(body, separators=(",", ":")).encode()
    edited = base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + check
    if body["p"] != position:
        assert decode_cleanly(edited, kind) is None


@FEW
@given(size=st.integers(page_tokens.MAX_TOKEN_BYTES - 5, page_tokens.MAX_TOKEN_BYTES + 5))
def test_huge_tokens_are_rejected(size: int) -> None:
    assert decode_cleanly("A" * size, "users") is None


def test_deeply_nested_json_is_rejected_not_a_recursion_error() -> None:
    # A token minted by this module around a body too deep for the JSON parser.
    raw = b'{"v":2,"k":"users","p":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    token = f"{page_tokens._b64(raw)}.{page_tokens._b64(page_tokens._check(raw))}"
    assert decode_cleanly(token, "users") is None


@PROPERTY
@given(requested=st.integers(-(2**63), 2**64))
def test_page_size_is_always_a_clerk_page(requested: int) -> None:
    assert 1 <= page_tokens.page_size(requested) <= page_tokens.MAX_PAGE_SIZE
