"""One request in, one `Reply` out: auth, rate limit, faults, routing and JSON encoding.

The order follows what sits in front of the real API: the rate limit and transport faults act
before the key is checked (a gateway answers them), then the key, then the endpoint. Every reply
carries `X-Clerk-Trace-Id`; error bodies repeat it as `clerk_trace_id`.

Membership writes also pass the per-object write limit (inside the handler, once the object is
known) and may lose their answer after being applied (`lost_reply`). The write limit follows
the rate limit unless set on its own: `"auto"` (the default) means `WriteLimit()` (10 writes per
10 s per membership) whenever a rate limit is on, and none otherwise.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from connector.fake_clerk.api import errors, render
from connector.fake_clerk.api.errors import ApiError
from connector.fake_clerk.api.fragments import DEFAULT_BUDGET_BYTES, Encoded, FragmentCache, encode
from connector.fake_clerk.api.params import Query
from connector.fake_clerk.api.request import Request
from connector.fake_clerk.api.routes import Match, match, membership_fragment, user_fragment
from connector.fake_clerk.api.stats import Stats
from connector.fake_clerk.api.writes import WRITE_METHODS
from connector.fake_clerk.behaviour.churn import RequestHook
from connector.fake_clerk.behaviour.faults import (
    TRANSPORT_KINDS,
    Fault,
    FaultKind,
    Faults,
    Hit,
    LostReply,
    MalformedBody,
)
from connector.fake_clerk.behaviour.latency import Latency
from connector.fake_clerk.behaviour.ratelimit import RateLimit, RateLimiter
from connector.fake_clerk.behaviour.write_limit import WriteLimit, WriteLimiter
from connector.fake_clerk.data.store import Dataset

BASE_PATH = "/v1"
TRACE_HEADER = "X-Clerk-Trace-Id"
JSON_TYPE = "application/json"
# Routes whose spec documents 403 `authorization_invalid`, and no 401, for a bad key.
FORBIDDEN_ON_BAD_KEY = frozenset(
    {"GET /organizations", "GET /organizations/{id}", "POST /organizations/{id}/memberships"}
)
WriteLimitSetting = WriteLimit | None | Literal["auto"]
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>"
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    # Close the connection without sending anything (drop) or after half the body (cut).
    drop: bool = False
    cut_body: bool = False


class ClerkApp:
    """The fake's request logic, independent of sockets (the server feeds it)."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        secret_key: str,
        faults: Faults,
        stats: Stats,
        rate_limit: RateLimit | None = None,
        write_limit: WriteLimitSetting = "auto",
        cache_bytes: int = DEFAULT_BUDGET_BYTES,
        latency: Latency | None = None,
    ) -> None:
        self.dataset = dataset
        self.latency = latency
        self.fragments = FragmentCache(cache_bytes)
        self.secret_key = secret_key
        self.faults = faults
        self.stats = stats
        self._limiter: RateLimiter | None = None
        self._write_setting: WriteLimitSetting = write_limit
        self._write_limiter: WriteLimiter | None = None
        self.rate_limit = rate_limit
        self.write_limit = write_limit
        # Replaced as a whole (never mutated) so handler threads can iterate it safely.
        self.hooks: tuple[RequestHook, ...] = ()

    @property
    def rate_limit(self) -> RateLimit | None:
        return None if self._limiter is None else self._limiter.limit

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        # A new limit starts with an empty window.
        self._limiter = None if limit is None else RateLimiter(limit)
        if self._write_setting == "auto":
            self._write_limiter = None if limit is None else WriteLimiter(WriteLimit())

    @property
    def write_limit(self) -> WriteLimit | None:
        """The per-object write limit in force (with `"auto"`: set iff a rate limit is)."""
        return None if self._write_limiter is None else self._write_limiter.limit

    @write_limit.setter
    def write_limit(self, setting: WriteLimitSetting) -> None:
        # A new limit starts with empty windows.
        self._write_setting = setting
        if setting == "auto":
            auto = None if self._limiter is None else WriteLimit()
            self._write_limiter = None if auto is None else WriteLimiter(auto)
        else:
            self._write_limiter = None if setting is None else WriteLimiter(setting)

    def warm_cache(self) -> int:
        """Encode users, then memberships, oldest first, until the cache budget is spent.

        Returns the bytes cached. Later list pages of those rows cost a join instead of an encode.
        """
        with self.dataset.lock:
            cache = self.fragments
            for user in self.dataset.view("users").rows:
                if cache.full:
                    return cache.used_bytes
                user_fragment(cache, user)
            for membership in self.dataset.view("memberships").rows:
                if cache.full:
                    break
                membership_fragment(self.dataset, cache, membership)
            return cache.used_bytes

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Reply:
        trace_id = uuid.uuid4().hex
        self.stats.began()
        try:
            reply = self._handle(method, target, headers, body, trace_id)
            latency = self.latency  # read once: a test may switch it while requests run
            if latency is not None:
                latency.wait()  # on this request's own thread: others are not held up
        finally:
            self.stats.ended()
        if reply.drop or reply.cut_body:
            self.stats.dropped_connection()
        else:
            self.stats.response(reply.status)
        return Reply(
            status=reply.status,
            body=reply.body,
            content_type=reply.content_type,
            headers={**reply.headers, TRACE_HEADER: trace_id},
            drop=reply.drop,
            cut_body=reply.cut_body,
        )

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, trace_id: str
    ) -> Reply:
        parts = urlsplit(target)
        has_base = parts.path.startswith(BASE_PATH + "/")
        path = parts.path[len(BASE_PATH) :] if has_base else parts.path
        found = match(method, path) if has_base else None
        template = "(unknown route)" if found is None else found.template
        route_name = f"{method} {template}"
        self.stats.request(route_name, headers.get("Clerk-API-Version"))
        if method in WRITE_METHODS:
            self.stats.write_received(route_name)
        self._run_hooks(route_name)

        transport: Fault | None = None
        try:
            self._gatekeep(path, route_name)
            transport = self.faults.take(TRANSPORT_KINDS, path, route_name)
            if transport is not None and transport.kind is FaultKind.SERVER_ERROR:
                raise errors.server_error(transport.status)
            if transport is not None and _drops_at_once(transport):
                return Reply(status=0, body=b"", drop=True)
            reply = self._dispatch(method, headers, path, parts.query, body, route_name, found)
        except ApiError as error:
            reply = self._error(error, trace_id)

        if transport is not None and transport.kind is FaultKind.DROP_CONNECTION:
            return Reply(reply.status, reply.body, reply.content_type, reply.headers, cut_body=True)
        if transport is not None and transport.kind is FaultKind.MALFORMED_BODY:
            return _malformed(transport, reply)
        return reply

    def _run_hooks(self, route_name: str) -> None:
        """Churn and other between-request changes, before the request sees any data."""
        for hook in self.hooks:
            try:
                hook(route_name)
            except Exception as exc:  # a bug in a test's hook: record it, serve the request
                self.stats.exception(f"hook before {route_name}: {type(exc).__name__}: {exc}")

    def _gatekeep(self, path: str, route_name: str) -> None:
        """Rate limit (real or faulted), then the slow fault (a throttled request is answered
        at once)."""
        if self._limiter is not None:
            wait = self._limiter.acquire()
            if wait is not None:
                raise errors.too_many_requests(wait)
        limited = self.faults.take({FaultKind.RATE_LIMITED}, path, route_name)
        if limited is not None:
            raise errors.too_many_requests(limited.retry_after)
        slow = self.faults.take({FaultKind.SLOW}, path, route_name)
        if slow is not None:
            time.sleep(slow.seconds)

    def _dispatch(
        self,
        method: str,
        headers: Mapping[str, str],
        path: str,
        query: str,
        body: bytes,
        route_name: str,
        found: Match | None,
    ) -> Reply:
        """Check the key, then run the route's handler under the dataset lock."""
        revoked = self.faults.take({FaultKind.REVOKED_KEY}, path, route_name)
        if revoked is not None or not self._key_ok(headers.get("Authorization")):
            if route_name in FORBIDDEN_ON_BAD_KEY:
                raise errors.unauthorized()
            raise errors.unauthenticated()
        if found is None:
            raise errors.not_found("endpoint")
        route = found.route
        if route is None:
            raise errors.method_not_allowed(method)

        parsed = Query(query)
        self._plan_and_depth(path, route_name, parsed)

        def take(
            kinds: Collection[FaultKind], when: Callable[[Fault], bool] | None = None
        ) -> Hit | None:
            return self.faults.take_hit(kinds, path, route_name, when)

        request = Request(
            path_params=found.params,
            query=parsed,
            fragments=self.fragments,
            take=take,
            body=body,
            throttle=self._throttle,
        )
        with self.dataset.lock:
            try:
                value = route.handler(self.dataset, request)
            except ApiError:
                raise
            except Exception as exc:  # a bug in the fake: answer 500 and let tests see it
                self.stats.exception(f"{route_name}: {type(exc).__name__}: {exc}")
                raise errors.server_error(500) from None
            encoded = value.body if isinstance(value, Encoded) else encode(value)
        if method not in WRITE_METHODS:
            return Reply(status=200, body=encoded)
        self.stats.write_applied(route_name)
        return self._maybe_lose(Reply(status=200, body=encoded), path, route_name)

    def _throttle(self, organization_id: str, user_id: str) -> None:
        limiter = self._write_limiter
        if limiter is None:
            return
        wait = limiter.acquire(organization_id, user_id)
        if wait is not None:
            raise errors.too_many_requests(wait)

    def _maybe_lose(self, reply: Reply, path: str, route_name: str) -> Reply:
        """An applied write whose answer a `lost_reply` fault drops or holds back."""
        lost = self.faults.take({FaultKind.LOST_REPLY}, path, route_name)
        if lost is None:
            return reply
        if lost.reply is LostReply.DROP:
            return Reply(status=0, body=b"", drop=True)
        time.sleep(lost.seconds)  # outside the data lock: other requests go on
        return reply

    def _plan_and_depth(self, path: str, route_name: str, query: Query) -> None:
        """A feature the plan lacks, then a deep offset that times out (outside the data lock:
        a slow request must not stall the others)."""
        plan = self.faults.take({FaultKind.PLAN_LACKS_FEATURE}, path, route_name)
        if plan is not None:
            raise errors.plan_lacks_feature(plan.status)
        offset = _lenient_offset(query)
        deep = self.faults.take(
            {FaultKind.DEEP_OFFSETS}, path, route_name, when=lambda f: offset >= f.at_offset
        )
        if deep is not None:
            if deep.seconds:
                time.sleep(deep.seconds)
            raise errors.server_error(504)

    def _key_ok(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        expected = f"Bearer {self.secret_key}".encode()
        return hmac.compare_digest(authorization.encode("utf-8", "replace"), expected)

    def _error(self, error: ApiError, trace_id: str) -> Reply:
        body = render.errors_json(
            error.code, error.message, error.long_message, trace_id, error.meta
        )
        return Reply(status=error.status, body=encode(body), headers=error.headers)


def _lenient_offset(query: Query) -> int:
    """The offset asked for, or 0 when it is malformed (the handler answers that with a 422)."""
    raw = query.first("offset")
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def _drops_at_once(fault: Fault) -> bool:
    return fault.kind is FaultKind.DROP_CONNECTION and not fault.mid_body


def _malformed(fault: Fault, reply: Reply) -> Reply:
    if fault.body is MalformedBody.TRUNCATED:
        cut = max(0, min(len(reply.body) // 2, len(reply.body) - 1))
        return Reply(status=200, body=reply.body[:cut], headers=reply.headers)
    if fault.body is MalformedBody.INVALID:
        return Reply(status=200, body=b"{this is not: json,,}", headers=reply.headers)
    if fault.body is MalformedBody.HTML:
        return Reply(status=200, body=HTML_ERROR_PAGE, content_type="text/html; charset=utf-8")
    if fault.body is MalformedBody.WRONG_SHAPE:
        return Reply(status=200, body=encode({"unexpected": True}), headers=reply.headers)
    return Reply(status=200, body=b"", headers=reply.headers)
