"""Decoding Clerk's response bodies into the models, and saying why a body would not decode.

One compiled msgspec decoder per response type reads the bytes straight into the models. It is
lax in the way Clerk's spec allows and pydantic was: an integer may arrive as a float without a
fraction (`1.0`, `1e3`), which JSON Schema counts as an integer (`strict=False`, which also reads
a numeric string as a number and `"true"`/`"false"` as a flag).

An error names where the body failed and why, never a value from it: the body may hold a
customer's data.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

T = TypeVar("T")

# msgspec's reason, e.g. "Expected `int`, got `str`" or "Object missing required field `id`",
# is kept when it is made only of these characters: a value would be quoted (it is not).
_SAFE_REASON = re.compile(r"[\w `,|<>=-]+")
_INDEX = re.compile(r"\[(\d+)\]")


def json_decoder(model: type[T]) -> msgspec.json.Decoder[T]:
    """The decoder of a response body whose JSON is a `model`."""
    return msgspec.json.Decoder(model, strict=False)


def describe_decode_error(body: bytes, error: Exception) -> str:
    """What was wrong with `body`, for an error message (no value of the body in it).

    A typed decoder stops at the first mismatch, before it has seen all of the JSON; a body
    that is not JSON at all is reported as that, whatever mismatch came first.
    """
    if isinstance(error, msgspec.ValidationError) and _is_json(body):
        reason, _, where = str(error).rpartition(" - at `")
        if not reason:
            reason, where = str(error), "$`"
        if not _SAFE_REASON.fullmatch(reason):
            reason = "invalid value"
        return f"body does not match the schema at {_location(where.rstrip('`'))}: {reason}"
    return "body is not valid JSON"


def _is_json(body: bytes) -> bool:
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _location(path: str) -> str:
    """msgspec's `$.data[3].organization` as `data.3.organization`; the body itself as `(body)`."""
    dotted = _INDEX.sub(r".\1", path.removeprefix("$")).lstrip(".")
    return dotted or "(body)"
