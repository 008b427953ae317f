"""Errors raised by the Clerk client.

An error's text holds only safe facts: the route template, the HTTP status, Clerk's error code and
message, and the `clerk_trace_id`. It never holds the secret key, a header, or a response body
that Clerk did not shape as ClerkErrors, and the client raises these errors without chaining the
httpx exception that caused them. Text that came from the server is scrubbed of anything shaped
like a Clerk key or a bearer token, flattened to one line and shortened.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_MAX_SERVER_TEXT = 300
_SECRET_LIKE = re.compile(r"(?:\b[sp]k_(?:live|test)_\S*)|(?:bearer\s+\S+)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def scrub(text: str) -> str:
    """Make server-supplied text safe to show: no key-like tokens, one line, bounded length."""
    text = _SECRET_LIKE.sub("[REDACTED]", text)
    text = _CONTROL.sub(" ", text).strip()
    if len(text) > _MAX_SERVER_TEXT:
        text = text[: _MAX_SERVER_TEXT - 3] + "..."
    return text


class ClerkError(Exception):
    """Base class of every error the Clerk client raises."""

    summary = "Clerk API request failed"

    def __init__(
        self,
        route: str,
        *,
        method: str = "GET",
        status: int | None = None,
        trace_id: str | None = None,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.route = route
        self.method = method
        self.status = status
        self.trace_id = None if trace_id is None else scrub(trace_id)
        self.code = None if code is None else scrub(code)
        self.detail = None if detail is None else scrub(detail)
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.summary}: {self.method} {self.route}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.detail:
            parts.append(self.detail)
        if self.trace_id:
            parts.append(f"clerk_trace_id={self.trace_id}")
        return "; ".join(parts)


class ClerkAuthenticationError(ClerkError):
    """401: the secret key is missing, malformed, revoked or for another instance."""

    summary = "Clerk rejected the secret key"


class ClerkPermissionError(ClerkError):
    """403: the key is valid but may not do this (Clerk also answers 403 for some bad keys)."""

    summary = "Clerk refused access"


class ClerkNotFoundError(ClerkError):
    """404: the object does not exist (for example, it was deleted during a sync)."""

    summary = "Clerk object not found"


class ClerkRequestError(ClerkError):
    """400, 422 and every other 4xx except 401, 403, 404 and 429: Clerk rejected the request."""

    summary = "Clerk rejected the request"


class ClerkRateLimitedError(ClerkError):
    """429 that outlasted the retries; `retry_after` is the last wait (seconds) Clerk asked for."""

    summary = "Clerk rate limit exceeded"

    def __init__(
        self,
        route: str,
        *,
        retry_after: float,
        method: str = "GET",
        limit: int | None = None,
        remaining: int | None = None,
        trace_id: str | None = None,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining
        super().__init__(
            route, method=method, status=429, trace_id=trace_id, code=code, detail=detail
        )

    def _describe(self) -> str:
        return f"{super()._describe()}; retry_after={self.retry_after:g}s"


class ClerkUnavailableError(ClerkError):
    """5xx, timeout or dropped connection that outlasted the retries."""

    summary = "Clerk API unavailable"


class ClerkWriteOutcomeUnknown(ClerkUnavailableError):
    """A write whose answer never arrived (timeout, dropped connection) or was a 5xx: Clerk may
    or may not have applied it. Never retried blindly: read the object back instead."""

    summary = "Clerk write outcome unknown"


class ClerkResponseError(ClerkError):
    """A response the client cannot use: not JSON, truncated, too large, or not the spec's shape."""

    summary = "Clerk sent an unusable response"


class ClerkPagingError(ClerkError):
    """A paging loop stopped because the server did not let it advance (or it hit its page cap)."""

    summary = "Clerk pagination did not advance"


class ListingIncomplete(ClerkError):
    """A listing ended with fewer distinct rows than Clerk's own total, even after a repair pass."""

    summary = "Clerk list read incomplete"


@dataclass(frozen=True)
class ErrorBody:
    """The useful parts of a ClerkErrors body (`errors[0]` and `clerk_trace_id`)."""

    code: str | None = None
    message: str | None = None
    trace_id: str | None = None


def parse_error_body(body: bytes) -> ErrorBody:
    """Read a ClerkErrors body, scrubbed; never fails (empty `errors`, non-JSON, odd shapes)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return ErrorBody()
    if not isinstance(parsed, dict):
        return ErrorBody()
    trace_id = parsed.get("clerk_trace_id")
    errors = parsed.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    code = message = None
    if isinstance(first, dict):
        code = first.get("code")
        message = first.get("long_message") or first.get("message")
    return ErrorBody(code=_text(code), message=_text(message), trace_id=_text(trace_id))


def _text(value: object) -> str | None:
    return scrub(value) if isinstance(value, str) else None
