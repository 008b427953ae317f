"""Query-string parsing with the spec's bounds; a bad value raises a 422 `ApiError`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import parse_qs

from connector.fake_clerk.api.errors import invalid_param

MIN_LIMIT = 1
MAX_LIMIT = 500
DEFAULT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class Order:
    field: str
    descending: bool


class Query:
    """The query parameters of one request."""

    def __init__(self, raw: str) -> None:
        self._values = parse_qs(raw, keep_blank_values=True)

    def first(self, name: str) -> str | None:
        """The first value of `name` (Clerk keeps only the first of repeated parameters)."""
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        """Every value of an array parameter (`user_id=a&user_id=b`), empty values dropped."""
        return [value for value in self._values.get(name, []) if value]

    def _integer(self, name: str, default: int) -> int:
        raw = self.first(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise invalid_param(
                name, f"{raw!r} is not an integer", code="form_param_format_invalid"
            ) from None

    def optional_integer(self, name: str) -> int | None:
        """An integer parameter that may be absent (an empty value counts as absent)."""
        if not self.first(name):
            return None
        return self._integer(name, 0)

    def limit(self) -> int:
        value = self._integer("limit", DEFAULT_LIMIT)
        if not MIN_LIMIT <= value <= MAX_LIMIT:
            raise invalid_param("limit", f"must be between {MIN_LIMIT} and {MAX_LIMIT}")
        return value

    def offset(self) -> int:
        value = self._integer("offset", 0)
        if value < 0:
            raise invalid_param("offset", "must be greater than or equal to 0")
        return value

    def flag(self, name: str) -> bool:
        raw = self.first(name)
        if raw is None or raw == "":
            return False
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise invalid_param(name, f"{raw!r} is not a boolean", code="form_param_format_invalid")

    def order(self, fields: Collection[str], default: str) -> Order:
        """`order_by` as (field, descending); `+` is implied without a sign."""
        raw = self.first("order_by")
        if raw is None or raw == "":
            raw = default
        descending = raw.startswith("-")
        # An unencoded "+" arrives as a space: read it as the "+" the client meant.
        name = raw[1:] if raw[:1] in ("+", "-", " ") else raw
        if name not in fields:
            raise invalid_param(
                "order_by", f"{raw!r} is not one of {', '.join(sorted(fields))} (with + or -)"
            )
        return Order(field=name, descending=descending)
