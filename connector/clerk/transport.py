"""HTTP transport for Clerk's Backend API: authentication, rate limit, retries, error mapping.

`ClerkHttp.get_bytes` sends one logical GET: it waits for the shared `RequestBudget`, retries
429 (after Retry-After, pausing every caller of the budget), 5xx, timeouts and dropped connections,
maps the final status to a `ClerkError`, and returns the body for the client to parse and
validate in one pass; every retry of a GET is safe.

`ClerkHttp.write` sends one membership write (POST, PATCH, DELETE) exactly once: it is never
retried here. A 429 is known not to have been applied (`ClerkRateLimitedError`); a timeout, a
dropped connection or a 5xx leaves the outcome unknown (`ClerkWriteOutcomeUnknown`), and the
caller reads the object back to learn what happened.
"""

from __future__ import annotations

import functools
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

import backoff
import httpx
import structlog
from pydantic import SecretStr

from connector.clerk.errors import (
    ClerkAuthenticationError,
    ClerkError,
    ClerkNotFoundError,
    ClerkPermissionError,
    ClerkRateLimitedError,
    ClerkRequestError,
    ClerkResponseError,
    ClerkUnavailableError,
    ClerkWriteOutcomeUnknown,
    ErrorBody,
    parse_error_body,
)
from connector.clerk.ratelimit import RequestBudget

API_VERSION = "2026-05-12"
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


def _ceilings(count: int = 16) -> tuple[float, ...]:
    """The capped exponential schedule (0.5, 1, 2, 4, 8, 8, ... s) from backoff.expo."""
    schedule = backoff.expo(base=2, factor=BACKOFF_BASE, max_value=BACKOFF_CAP)
    next(schedule)  # the generator's priming step yields nothing
    return tuple(float(next(schedule)) for _ in range(count))


_CEILINGS = _ceilings()

_log = structlog.get_logger("connector.clerk")
# Visible ASCII only: anything else would be rejected by the HTTP stack with an error that
# could quote the header value.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

ParamValue = str | int | bool | list[str]
JsonBody = Mapping[str, object]


def _user_agent() -> str:
    try:
        version = metadata.version("clerk-connector")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    return f"clerk-connector/{version}"


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP attempt as observers (metrics, health) see it: a route template, never a path,
    query or header, so nothing here can carry an id or the key."""

    route: str
    attempt: int  # 1 for the first try; > 1 is a retry
    status: int | None  # the HTTP status; None when no usable response arrived
    error: str | None  # why there was no usable response (an exception class name)
    seconds: float
    rate_limit_wait_seconds: float  # spent waiting on the shared budget before sending


RequestObserver = Callable[[RequestEvent], None]


@dataclass
class ClientStats:
    """Counters of one client's HTTP traffic (safe to read at any time), and the observers told
    about every attempt (the client itself knows nothing of metrics or health)."""

    requests_sent: int = 0
    retries: int = 0
    rate_limited_responses: int = 0
    rate_limit_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _observers: tuple[RequestObserver, ...] = field(default=(), repr=False, compare=False)

    def subscribe(self, observer: RequestObserver) -> None:
        with self._lock:
            self._observers = (*self._observers, observer)

    def unsubscribe(self, observer: RequestObserver) -> None:
        with self._lock:
            # == not `is`: each `obj.method` access makes a new (equal) bound method.
            self._observers = tuple(o for o in self._observers if o != observer)

    def publish(self, event: RequestEvent) -> None:
        for observer in self._observers:  # a tuple swapped whole: safe to iterate unlocked
            try:
                observer(event)
            except Exception:
                # Observability must never fail a Clerk read.
                _log.exception("request_observer_failed", route=event.route)

    def add(
        self,
        *,
        requests_sent: int = 0,
        retries: int = 0,
        rate_limited_responses: int = 0,
        rate_limit_wait_seconds: float = 0.0,
    ) -> None:
        with self._lock:
            self.requests_sent += requests_sent
            self.retries += retries
            self.rate_limited_responses += rate_limited_responses
            self.rate_limit_wait_seconds += rate_limit_wait_seconds


@dataclass(frozen=True)
class _Retry:
    """A failed attempt that may be retried: `error` is raised once no attempt is left."""

    error: ClerkError
    delay: float


class _ResponseTooLarge(Exception):
    pass


class _ResponseTooSlow(Exception):
    pass


class ClerkHttp:
    """GET JSON from Clerk's Backend API with the shared budget, retries and error mapping."""

    def __init__(
        self,
        api_url: str,
        secret_key: SecretStr,
        *,
        budget: RequestBudget,
        timeout: float = 10.0,
        max_retries: int = 5,
        transport: httpx.BaseTransport | None = None,
        http2: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not api_url.startswith(("https://", "http://")):
            raise ValueError("api_url must be an http(s) URL")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        key = secret_key.get_secret_value()
        if not _HEADER_SAFE.fullmatch(key):
            raise ValueError("secret key is empty or has characters not allowed in an HTTP header")
        self._budget = budget
        self._max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        # Bounds the whole body download, which httpx's per-read timeout does not.
        self._max_request_seconds = timeout * 6
        self.stats = ClientStats()
        self._client = httpx.Client(
            base_url=api_url,
            headers={
                "Authorization": f"Bearer {key}",
                "Clerk-API-Version": API_VERSION,
                "User-Agent": _user_agent(),
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
            http2=http2,
        )

    def close(self) -> None:
        self._client.close()

    def get_bytes(
        self, route: str, path: str, params: Mapping[str, ParamValue] | None = None
    ) -> bytes:
        """GET `path` and return its successful body, undecoded (for a parser that validates
        while it decodes).

        `route` is the path template (e.g. `/organizations/{organization_id}/memberships`); it is
        what logs and errors show. Raises a `ClerkError` subclass on failure.
        """
        query = {name: _param_text(value) for name, value in (params or {}).items()}
        attempt = 1
        while True:
            outcome = self._attempt(route, path, query, attempt)
            if not isinstance(outcome, _Retry):
                return outcome
            if attempt > self._max_retries:
                raise outcome.error
            self.stats.add(retries=1)
            if outcome.delay > 0:
                self._sleep(outcome.delay)
            attempt += 1

    def write(self, method: str, route: str, path: str, body: JsonBody | None = None) -> bytes:
        """Send one write once and return its successful body; see the module docstring."""
        outcome = self._attempt(route, path, {}, 1, method=method, json_body=body)
        if not isinstance(outcome, _Retry):
            return outcome
        if isinstance(outcome.error, ClerkRateLimitedError):
            raise outcome.error  # Clerk refused it before applying it: the caller may repeat
        error = outcome.error
        raise ClerkWriteOutcomeUnknown(
            route,
            method=method,
            status=error.status,
            trace_id=error.trace_id,
            code=error.code,
            detail=error.detail,
        )

    def _attempt(
        self,
        route: str,
        path: str,
        query: dict[str, str | list[str]],
        attempt: int,
        *,
        method: str = "GET",
        json_body: JsonBody | None = None,
    ) -> bytes | _Retry:
        waited = self._budget.acquire()
        self.stats.add(requests_sent=1, rate_limit_wait_seconds=waited)
        started = time.perf_counter()
        log = functools.partial(self._log, route, attempt, started, waited, method=method)
        try:
            status, headers, body = self._send(path, query, method, json_body)
        except (httpx.TimeoutException, _ResponseTooSlow) as exc:
            log(error=type(exc).__name__)
            error = ClerkUnavailableError(
                route, method=method, detail=f"request timed out ({type(exc).__name__})"
            )
            return _Retry(error, self._backoff(attempt))
        except httpx.TransportError as exc:
            # Refused or dropped connections, truncated bodies, HTTP/2 GOAWAY.
            log(error=type(exc).__name__)
            error = ClerkUnavailableError(
                route, method=method, detail=f"connection failed ({type(exc).__name__})"
            )
            return _Retry(error, self._backoff(attempt))
        except _ResponseTooLarge:
            log(error="response_too_large")
            raise ClerkResponseError(
                route,
                method=method,
                detail=f"response body larger than {MAX_RESPONSE_BYTES} bytes",
            ) from None
        except httpx.DecodingError:
            log(error="DecodingError")
            raise ClerkResponseError(
                route, method=method, detail="body does not match its Content-Encoding"
            ) from None

        info = parse_error_body(body) if status >= 400 else ErrorBody()
        log(status=status, trace_id=info.trace_id)
        if 200 <= status < 300:
            return body
        if status == 429:
            return self._rate_limited(route, headers, info, method)
        if status >= 500:
            error = ClerkUnavailableError(
                route,
                method=method,
                status=status,
                trace_id=info.trace_id,
                code=info.code,
                detail=info.message,
            )
            delay = _retry_after(headers, default=self._backoff(attempt))
            return _Retry(error, delay)
        raise _status_error(route, status, info, method)

    def _send(
        self, path: str, query: dict[str, str | list[str]], method: str, json_body: JsonBody | None
    ) -> tuple[int, httpx.Headers, bytes]:
        deadline = time.perf_counter() + self._max_request_seconds
        with self._client.stream(method, path, params=query, json=json_body) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise _ResponseTooLarge
                if time.perf_counter() > deadline:
                    raise _ResponseTooSlow
            return response.status_code, response.headers, bytes(body)

    def _rate_limited(
        self, route: str, headers: httpx.Headers, info: ErrorBody, method: str
    ) -> _Retry:
        wait = _retry_after(headers, default=DEFAULT_RETRY_AFTER)
        self.stats.add(rate_limited_responses=1)
        # Every caller of the budget waits, not only this one: the endpoint is blocked for all.
        self._budget.pause_until(self._clock() + wait)
        error = ClerkRateLimitedError(
            route,
            method=method,
            retry_after=wait,
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=_int_header(headers, "X-RateLimit-Remaining"),
            trace_id=info.trace_id,
            code=info.code,
            detail=info.message,
        )
        return _Retry(error, delay=0.0)

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter: between half and all of the capped delay."""
        ceiling = _CEILINGS[min(attempt, len(_CEILINGS)) - 1]
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _log(
        self,
        route: str,
        attempt: int,
        started: float,
        waited: float,
        *,
        status: int | None = None,
        trace_id: str | None = None,
        error: str | None = None,
        method: str = "GET",
    ) -> None:
        """One log event and one observer event per attempt (retries included). Info level: a
        sync makes at most a few hundred requests a minute, and each names its trace id."""
        seconds = time.perf_counter() - started
        _log.info(
            "clerk.request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 1),
            attempt=attempt,
            rate_limit_wait_ms=round(waited * 1000, 1),
            clerk_trace_id=trace_id,
            error=error,
        )
        self.stats.publish(RequestEvent(route, attempt, status, error, seconds, waited))


def _param_text(value: ParamValue) -> str | list[str]:
    if isinstance(value, list):
        return value  # an array parameter: the key repeated once per value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _retry_after(headers: httpx.Headers, *, default: float) -> float:
    """Retry-After in seconds, capped at MAX_RETRY_AFTER; `default` when absent or unparseable."""
    raw = headers.get("Retry-After")
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        return default
    if math.isnan(seconds) or seconds < 0:
        return default
    return min(seconds, MAX_RETRY_AFTER)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


_STATUS_ERRORS: dict[int, type[ClerkError]] = {
    401: ClerkAuthenticationError,
    403: ClerkPermissionError,
    404: ClerkNotFoundError,
}


def _status_error(route: str, status: int, info: ErrorBody, method: str = "GET") -> ClerkError:
    if not 400 <= status < 500:  # 1xx/3xx: nothing else is expected, and redirects not followed
        return ClerkResponseError(
            route, method=method, status=status, detail="unexpected status (not followed)"
        )
    cls = _STATUS_ERRORS.get(status, ClerkRequestError)
    return cls(
        route,
        method=method,
        status=status,
        trace_id=info.trace_id,
        code=info.code,
        detail=info.message,
    )
