"""Clerk's per-object write limit: at most `writes` writes per `per_seconds` on one object.

Clerk documents about 10 writes per 10 s on the same object. The fake keys membership writes by
the membership, i.e. (organization id, user id), since that is the object a create, a role
change or a removal writes; `scope=organization` keys them by the organization alone, for the
stricter reading. Each key gets its own sliding window (see `ratelimit`): a refused write does
not enter it, and the refusal says how long to wait (Retry-After).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from connector.fake_clerk.behaviour.ratelimit import RateLimit, RateLimiter


class WriteScope(StrEnum):
    MEMBERSHIP = "membership"  # one window per (organization, user)
    ORGANIZATION = "organization"  # one window per organization


@dataclass(frozen=True, slots=True)
class WriteLimit:
    """At most `writes` membership writes per `per_seconds` on one object of `scope`."""

    writes: int = 10
    per_seconds: float = 10.0
    scope: WriteScope = WriteScope.MEMBERSHIP

    def __post_init__(self) -> None:
        if self.writes < 1 or self.per_seconds <= 0:
            raise ValueError("a write limit needs writes >= 1 and per_seconds > 0")
        object.__setattr__(self, "scope", WriteScope(self.scope))


class WriteLimiter:
    def __init__(self, limit: WriteLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, ...], RateLimiter] = {}

    def acquire(self, organization_id: str, user_id: str) -> int | None:
        """None when the write may proceed; else the whole seconds to wait (at least 1)."""
        key = (
            (organization_id,)
            if self.limit.scope is WriteScope.ORGANIZATION
            else (organization_id, user_id)
        )
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                window = RateLimiter(
                    RateLimit(self.limit.writes, self.limit.per_seconds), self._clock
                )
                self._windows[key] = window
        return window.acquire()
