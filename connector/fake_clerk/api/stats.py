"""Request counters a test or benchmark reads to see what a client did.

Nothing here ever holds a header value: routes are templates (`GET /users/{id}`), not paths, so
no id, query string or credential ends up in the counters.

Writes (POST, PATCH, DELETE) are counted twice over: `writes` as they arrive, whatever their
fate, and `applied_writes` once they changed the store (a `lost_reply` write counts as applied).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StatsSnapshot:
    total: int
    by_route: dict[str, int]
    by_status: dict[int, int]
    rate_limited: int
    dropped: int
    connections: int
    api_versions: dict[str, int]
    exceptions: tuple[str, ...] = field(default=())
    writes: dict[str, int] = field(default_factory=dict)
    applied_writes: dict[str, int] = field(default_factory=dict)
    # The most requests the fake was serving at one moment (arrival to response sent).
    peak_in_flight: int = 0


class Stats:
    """Thread-safe counters; read them through the properties or `snapshot()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_route: Counter[str] = Counter()
            self._by_status: Counter[int] = Counter()
            self._rate_limited = 0
            self._dropped = 0
            self._connections = 0
            self._api_versions: Counter[str] = Counter()
            self._exceptions: list[str] = []
            self._writes: Counter[str] = Counter()
            self._applied_writes: Counter[str] = Counter()
            self._in_flight = 0
            self._peak_in_flight = 0

    def request(self, route: str, api_version: str | None) -> None:
        """Count a request as it arrives (before any fault or limit decides its fate)."""
        with self._lock:
            self._total += 1
            self._by_route[route] += 1
            self._api_versions[api_version if api_version is not None else "(none)"] += 1

    def write_received(self, route: str) -> None:
        with self._lock:
            self._writes[route] += 1

    def write_applied(self, route: str) -> None:
        with self._lock:
            self._applied_writes[route] += 1

    def began(self) -> None:
        """A request is being served (from its arrival until its response is sent)."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def ended(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def response(self, status: int) -> None:
        with self._lock:
            self._by_status[status] += 1
            if status == 429:
                self._rate_limited += 1

    def dropped_connection(self) -> None:
        with self._lock:
            self._dropped += 1

    def connection_opened(self) -> None:
        with self._lock:
            self._connections += 1

    def exception(self, description: str) -> None:
        """A handler bug (answered 500); tests assert this stays empty."""
        with self._lock:
            self._exceptions.append(description)

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    @property
    def by_route(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_route)

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    @property
    def rate_limited(self) -> int:
        with self._lock:
            return self._rate_limited

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    @property
    def connections(self) -> int:
        """TCP connections accepted: with keep-alive, far fewer than requests."""
        with self._lock:
            return self._connections

    @property
    def peak_in_flight(self) -> int:
        """The most requests served at one moment: 1 when requests never overlapped."""
        with self._lock:
            return self._peak_in_flight

    @property
    def api_versions(self) -> dict[str, int]:
        """Requests per `Clerk-API-Version` header value (`(none)` when absent)."""
        with self._lock:
            return dict(self._api_versions)

    @property
    def writes(self) -> dict[str, int]:
        """Write requests received per route (`POST /organizations/{id}/memberships`, ...)."""
        with self._lock:
            return dict(self._writes)

    @property
    def applied_writes(self) -> dict[str, int]:
        """Writes that changed the store, per route (answered or not)."""
        with self._lock:
            return dict(self._applied_writes)

    @property
    def exceptions(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._exceptions)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                total=self._total,
                by_route=dict(self._by_route),
                by_status=dict(self._by_status),
                rate_limited=self._rate_limited,
                dropped=self._dropped,
                connections=self._connections,
                api_versions=dict(self._api_versions),
                exceptions=tuple(self._exceptions),
                writes=dict(self._writes),
                applied_writes=dict(self._applied_writes),
                peak_in_flight=self._peak_in_flight,
            )
