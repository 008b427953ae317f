"""A byte-budgeted cache of encoded JSON rows, so big list pages cost a join, not a json.dumps.

A 500-user page is about 1 MB of JSON; encoding it takes the stdlib several milliseconds, far more
than finding the rows. Rows are cached as encoded bytes together with the records they were
rendered from. Records are immutable and every mutation swaps in a new object, so an entry is
valid exactly while each of those records is still the very same object (`is`): no explicit
invalidation is needed. Once the budget is spent new rows are encoded per request, uncached.
Callers serialize access (the server holds the dataset lock while rendering).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_BUDGET_BYTES = 128 * 1024 * 1024

# One shared encoder: json.dumps with non-default options builds a new one on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


class Encoded:
    """A JSON value that is already encoded (a route may return one instead of a plain value)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def json_array(rows: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(rows) + b"]"


def json_envelope(rows: Iterable[bytes], total_count: int) -> bytes:
    """The `{data, total_count}` envelope of an offset list."""
    return b'{"data":' + json_array(rows) + b',"total_count":' + str(total_count).encode() + b"}"


class FragmentCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.full = False  # a row did not fit since the last time space was freed
        self._entries: dict[str, tuple[tuple[object, ...], bytes]] = {}

    def get(self, key: str, sources: tuple[object, ...], render: Callable[[], Any]) -> bytes:
        """The encoded row for `key`, rendered from `sources` (re-rendered when one changed)."""
        entry = self._entries.get(key)
        if entry is not None:
            cached_sources, body = entry
            if len(cached_sources) == len(sources) and all(
                old is new for old, new in zip(cached_sources, sources, strict=True)
            ):
                return body
            del self._entries[key]
            self.used_bytes -= len(body)
            self.full = False
        body = encode(render())
        if self.used_bytes + len(body) <= self.budget_bytes:
            self._entries[key] = (sources, body)
            self.used_bytes += len(body)
        else:
            self.full = True
        return body

    def clear(self) -> None:
        self._entries.clear()
        self.used_bytes = 0
        self.full = False
