"""A proactive, client-side request budget shared by every call of one Clerk client.

Clerk limits each instance (keyed by its secret key) to 1000 requests per 10 s in production and
100 per 10 s in development, and the customer's own backend spends the same budget. The connector
therefore spends only a share of it, and stops everyone when Clerk answers 429 with Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from pydantic import SecretStr

InstanceKind = Literal["production", "development"]

_WINDOW_SECONDS = 10.0
_PRODUCTION_REQUESTS = 1000
_DEVELOPMENT_REQUESTS = 100
# Shortest sleep while blocked, so that a clock that advances only by the slept amount (or a
# rounding error in `deadline - now`) can never make acquire() spin on zero-length sleeps.
_MIN_SLEEP = 0.001


def instance_kind(secret_key: str | SecretStr) -> InstanceKind:
    """`production` for an `sk_live_` key; `development` for `sk_test_` and anything else."""
    key = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
    return "production" if key.startswith("sk_live_") else "development"


class RequestBudget:
    """Admit at most `requests` sends in any half-open window of `per_seconds`.

    `acquire()` blocks until a request may be sent and records the send. Thread-safe: one budget
    is shared by all the threads using one client. `clock` must be monotonic.
    """

    def __init__(
        self,
        requests: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests < 1:
            raise ValueError("requests must be at least 1")
        if not per_seconds > 0 or not math.isfinite(per_seconds):
            raise ValueError("per_seconds must be a positive number")
        self.requests = requests
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # Times of the last `requests` sends, oldest first.
        self._sent: deque[float] = deque(maxlen=requests)
        self._paused_until = -math.inf

    @classmethod
    def for_key(
        cls,
        secret_key: str | SecretStr,
        share: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RequestBudget:
        """The budget for `share` (0 < share <= 1) of the instance's documented rate limit."""
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        limit = (
            _PRODUCTION_REQUESTS
            if instance_kind(secret_key) == "production"
            else _DEVELOPMENT_REQUESTS
        )
        return cls(max(1, math.floor(limit * share)), _WINDOW_SECONDS, clock=clock, sleep=sleep)

    def acquire(self) -> float:
        """Block until a request may be sent, record it, and return the seconds spent waiting."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._sent.append(now)
                    return waited
            wait = max(wait, _MIN_SLEEP)
            self._sleep(wait)
            waited += wait

    def pause_until(self, deadline: float) -> None:
        """Hold every caller until the monotonic time `deadline` (for a 429's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, deadline)

    def _wait_needed(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if len(self._sent) < self.requests:
            return 0.0
        # The oldest of the last `requests` sends must be at least `per_seconds` old.
        return self.per_seconds - (now - self._sent[0])
