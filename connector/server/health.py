"""gRPC health that follows whether Clerk accepts the secret key.

A connector whose key Clerk rejects cannot answer a single List call, so it reports NOT_SERVING
(for "" and every c1 service) from the first 401/403 until a later request succeeds. Requests
are watched through the Clerk client's observer hook, so every RPC doubles as a probe. While
rejected, a background thread re-checks the key every `recheck_seconds`, so a fixed key is
noticed without waiting for platform traffic; it also checks once at start-up, off the startup
path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import structlog
from grpc_health.v1 import health, health_pb2

from connector.clerk.errors import ClerkError
from connector.clerk.transport import RequestEvent

log = structlog.get_logger(__name__)

RECHECK_SECONDS = 30.0
REJECTED_STATUSES = frozenset({401, 403})
# Routes whose 403 says the plan lacks the feature (role sets), not that the key is refused.
PLAN_FEATURE_ROUTES = frozenset({"/role_sets", "/instance/organization_settings"})
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class KeyHealth:
    """Sets the health servicer's status from Clerk's verdict on the key (thread-safe)."""

    def __init__(
        self,
        servicer: health.HealthServicer,
        services: Iterable[str],
        *,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._servicer = servicer
        self._services = ["", *services]
        self._on_change = on_change
        self._lock = threading.Lock()
        self._accepted = True  # serving until Clerk says otherwise
        for name in self._services:
            servicer.set(name, SERVING)

    @property
    def accepted(self) -> bool:
        with self._lock:
            return self._accepted

    def observe(self, event: RequestEvent) -> None:
        """A Clerk request finished: 401/403 means rejected, any 2xx means accepted."""
        if event.status in REJECTED_STATUSES and not (
            event.status == 403 and event.route in PLAN_FEATURE_ROUTES
        ):
            self._set(accepted=False, status=event.status, route=event.route)
        elif event.status is not None and 200 <= event.status < 300:
            self._set(accepted=True, status=event.status, route=event.route)

    def _set(self, *, accepted: bool, status: int, route: str) -> None:
        with self._lock:
            if accepted == self._accepted:
                return
            self._accepted = accepted
            for name in self._services:
                self._servicer.set(name, SERVING if accepted else NOT_SERVING)
            # Under the lock, so the metric can never disagree with the health status.
            if self._on_change is not None:
                self._on_change(accepted)
        if accepted:
            log.info("clerk_key_accepted", health="SERVING", status=status, route=route)
        else:
            log.warning("clerk_key_rejected", health="NOT_SERVING", status=status, route=route)


class KeyRechecker:
    """Checks the key once at start, then every `interval` seconds while it is rejected."""

    def __init__(
        self, key_health: KeyHealth, check_key: Callable[[], object], interval: float
    ) -> None:
        if not interval > 0:
            raise ValueError("interval must be positive")
        self._health = key_health
        self._check_key = check_key
        self._interval = interval
        self._stop = threading.Event()
        self.first_check_done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clerk-key-recheck", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        self._check()
        self.first_check_done.set()
        while not self._stop.wait(self._interval):
            if not self._health.accepted:
                self._check()

    def _check(self) -> None:
        # The verdict reaches KeyHealth through the request observer; only log here.
        try:
            self._check_key()
        except ClerkError as exc:
            log.info("clerk_key_check_failed", error=str(exc))
        except Exception:
            log.exception("clerk_key_check_crashed")


__all__ = ["RECHECK_SECONDS", "KeyHealth", "KeyRechecker"]
