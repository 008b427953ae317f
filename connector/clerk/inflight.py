"""How many reads to keep in flight: enough that the rate budget, not the round trip, sets the
pace (Little's law: requests in flight = request rate x time per request).

With 250 ms per response and a budget of 500 requests / 10 s, 50 requests / s x 0.25 s = 12.5
requests must be under way at any moment; a fixed 4 would cap the sync at 16 requests / s. The
window follows the response times the client measures, so it grows for a distant region and
stays small for a near one. It takes the fastest of the recent successful attempts, not their
mean: the round trip is the floor, and time a response spends queued behind this client's own
other requests would otherwise widen the window, queue more, and widen it again (measured: a
near fake under load drove a mean-based window to its bound, with more memory and no gain). It
is bounded: each page in flight may hold up to 500 rows until the walk takes it, and requests
beyond what the budget admits only wait on it.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from connector.clerk.ratelimit import RequestBudget
from connector.clerk.transport import RequestEvent

# The window before any response was measured, and never less: the fixed window of old.
MIN_WINDOW = 4
# At most this many pages in flight per listing (memory: up to ~1 MB of rows each).
MAX_WINDOW = 24
# Headroom over the round trip: response times vary, and a slot stays taken while its page is
# parsed.
MARGIN = 0.25
# Successful attempts the round trip is the fastest of.
RECENT = 16


def window_for(
    requests_per_second: float,
    seconds_per_request: float,
    *,
    minimum: int = MIN_WINDOW,
    maximum: int = MAX_WINDOW,
) -> int:
    """Requests to keep in flight: ceil(rate x latency x (1 + MARGIN)) + 1, within bounds."""
    if minimum < 1 or maximum < minimum:
        raise ValueError("window bounds need 1 <= minimum <= maximum")
    needed = math.ceil(requests_per_second * seconds_per_request * (1 + MARGIN)) + 1
    return max(minimum, min(maximum, needed))


class InFlightWindow:
    """The window for one client's listings, from its budget and its measured response times.

    Subscribe `observe` to the client's `ClientStats`; call it (`window()`) whenever deciding
    how far to read ahead. Thread-safe.
    """

    def __init__(
        self, budget: RequestBudget, *, minimum: int = MIN_WINDOW, maximum: int = MAX_WINDOW
    ) -> None:
        if minimum < 1 or maximum < minimum:
            raise ValueError("window bounds need 1 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._rate = budget.requests / budget.per_seconds
        self._lock = threading.Lock()
        self._recent: deque[float] = deque(maxlen=RECENT)  # successful attempts' seconds

    @property
    def seconds_per_request(self) -> float | None:
        """The round trip: the fastest recent successful attempt (None before the first)."""
        with self._lock:
            return min(self._recent) if self._recent else None

    def observe(self, event: RequestEvent) -> None:
        """Take one attempt's time (failed attempts say little about the round trip)."""
        if event.status is None or not 200 <= event.status < 300:
            return
        with self._lock:
            self._recent.append(event.seconds)

    def __call__(self) -> int:
        seconds = self.seconds_per_request
        if seconds is None:
            return self.minimum
        return window_for(self._rate, seconds, minimum=self.minimum, maximum=self.maximum)
