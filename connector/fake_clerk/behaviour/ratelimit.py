"""The fake's rate limit: a sliding window over all requests, like Clerk's per-instance budget.

Once `requests` requests were allowed within the last `per_seconds`, every request is refused
until the oldest of them leaves the window; the refusal tells how long that is (Retry-After).
Refused requests do not enter the window, so a client that waits as told gets through.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` requests per `per_seconds` (Clerk: 100 / 10 s on development keys)."""

    requests: int = 100
    per_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._allowed: deque[float] = deque()

    def acquire(self) -> int | None:
        """None when the request may proceed; else the whole seconds to wait (at least 1)."""
        with self._lock:
            now = self._clock()
            window_start = now - self.limit.per_seconds
            while self._allowed and self._allowed[0] <= window_start:
                self._allowed.popleft()
            if len(self._allowed) < self.limit.requests:
                self._allowed.append(now)
                return None
            wait = self._allowed[0] + self.limit.per_seconds - now
            return max(1, math.ceil(wait))
