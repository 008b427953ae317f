"""Opaque gRPC page tokens and page sizes.

A token is `<payload>.<check>`: the payload is url-safe base64 of a small JSON object naming the
list it belongs to (`k`) and the position to resume from (`p`); the check is a 64-bit keyed
BLAKE2b digest of the payload. Tokens are only ever minted by this module and always encode a
position strictly after the page just served.

The check is not a secret (its key is below) and not a defence against someone minting tokens
with this code: it makes a token that was garbled, truncated, cut from another token or edited
by hand fail cleanly as InvalidPageToken (INVALID_ARGUMENT on the wire) before its position is
trusted. Without it an edited position reads as an upstream paging fault (a far-future edge
says "every row was already served") and would be reported as INTERNAL. A token of another list
is InvalidPageToken too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

# Clerk serves at most 500 items a request; one gRPC page of a Clerk-backed list is one Clerk
# request, so the default and the cap are both 500.
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 500
# The platform's own limit on a token; we stay far below it, but refuse larger input early.
MAX_TOKEN_BYTES = 1 << 20
_VERSION = 2
_CHECK_KEY = b"clerk-connector page token v2"
_CHECK_BYTES = 8
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_NOT_OURS = "page token is not one this connector issued"


class InvalidPageToken(ValueError):
    """The page token was not minted by this connector for this list."""


def page_size(requested: int) -> int:
    """The platform sends 0 for 'connector default'; cap anything larger than a Clerk page."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode(kind: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"v": _VERSION, "k": kind, "p": position}, separators=(",", ":")).encode()
    return f"{_b64(raw)}.{_b64(_check(raw))}"


def decode(token: str, kind: str) -> dict[str, Any] | None:
    """The position in `token`, or None for the first page (empty token)."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidPageToken("page token is too large")
    payload, _, check = token.rpartition(".")
    raw = _unb64(payload)
    if not hmac.compare_digest(_unb64(check), _check(raw)):
        raise InvalidPageToken(_NOT_OURS)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # only reachable for a token minted from odd input
        raise InvalidPageToken(_NOT_OURS) from None
    if (
        not isinstance(body, dict)
        or body.get("v") != _VERSION
        or not isinstance(body.get("p"), dict)
    ):
        raise InvalidPageToken(_NOT_OURS)
    if body.get("k") != kind:
        raise InvalidPageToken(f"page token belongs to another list, not {kind}")
    position: dict[str, Any] = body["p"]
    return position


def field(
    position: dict[str, Any],
    name: str,
    expected: type,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> Any:
    """One typed field of a decoded position; a missing or mistyped field is InvalidPageToken."""
    value = position.get(name)
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise InvalidPageToken(f"page token field {name!r} is invalid")
    if isinstance(value, int) and (
        (minimum is not None and value < minimum) or (maximum is not None and value > maximum)
    ):
        raise InvalidPageToken(f"page token field {name!r} is out of range")
    return value


def _check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=_CHECK_BYTES, key=_CHECK_KEY).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise InvalidPageToken(_NOT_OURS)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPageToken(_NOT_OURS) from None
