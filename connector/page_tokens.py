"""Opaque gRPC page tokens and page sizes.

A token is url-safe base64 of a small JSON object naming the list it belongs to (`k`) and the
position to resume from (`p`). Tokens are only ever minted by this module, always encode a
position strictly after the page just served, and anything that does not decode to the
expected kind is rejected as InvalidPageToken (INVALID_ARGUMENT on the wire).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# Clerk serves at most 500 items a request; one gRPC page of a Clerk-backed list is one Clerk
# request, so the default and the cap are both 500.
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 500
# The platform's own limit on a token; we stay far below it, but refuse larger input early.
MAX_TOKEN_BYTES = 1 << 20
_VERSION = 1


class InvalidPageToken(ValueError):
    """The page token was not minted by this connector for this list."""


def page_size(requested: int) -> int:
    """The platform sends 0 for 'connector default'; cap anything larger than a Clerk page."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode(kind: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"v": _VERSION, "k": kind, "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, kind: str) -> dict[str, Any] | None:
    """The position in `token`, or None for the first page (empty token)."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidPageToken("page token is too large")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageToken("page token is not one this connector issued") from None
    if (
        not isinstance(body, dict)
        or body.get("v") != _VERSION
        or not isinstance(body.get("p"), dict)
    ):
        raise InvalidPageToken("page token is not one this connector issued")
    if body.get("k") != kind:
        raise InvalidPageToken(f"page token belongs to another list, not {kind}")
    position: dict[str, Any] = body["p"]
    return position


def field(
    position: dict[str, Any], name: str, expected: type, *, minimum: int | None = None
) -> Any:
    """One typed field of a decoded position; a missing or mistyped field is InvalidPageToken."""
    value = position.get(name)
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise InvalidPageToken(f"page token field {name!r} is invalid")
    if minimum is not None and isinstance(value, int) and value < minimum:
        raise InvalidPageToken(f"page token field {name!r} is out of range")
    return value
