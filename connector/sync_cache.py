"""Per-sync memo of Clerk reads, keyed by the platform's `active_sync_id`.

One platform sync asks for an organization's entitlements and later its grants; both must come
from the same snapshot of its memberships (or a grant could name a role that has no
entitlement), and the role catalog should be read once per sync, not once per organization.
A scope lives until `Cleanup(active_sync_id)` or until it has been idle for `idle_seconds`.
Calls without a sync id get a throwaway scope: always correct, just more Clerk requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SyncScope:
    """Memoized values for one sync. Each key is loaded once even under concurrent calls."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def memo(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._guard:
            if key in self._values:
                return self._values[key]  # type: ignore[no-any-return]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]  # type: ignore[no-any-return]
            value = load()  # a failed load caches nothing, so a retry reads Clerk again
            with self._guard:
                self._values[key] = value
                self._locks.pop(key, None)
            return value


class SyncCache:
    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._scopes: dict[str, tuple[SyncScope, float]] = {}
        self._lock = threading.Lock()

    def scope(self, sync_id: str) -> SyncScope:
        if not sync_id:
            return SyncScope()
        now = self._clock()
        with self._lock:
            self._evict_idle(now)
            scope = self._scopes[sync_id][0] if sync_id in self._scopes else SyncScope()
            self._scopes[sync_id] = (scope, now)
            return scope

    def release(self, sync_id: str) -> bool:
        with self._lock:
            return self._scopes.pop(sync_id, None) is not None

    def active_syncs(self) -> int:
        with self._lock:
            self._evict_idle(self._clock())
            return len(self._scopes)

    def _evict_idle(self, now: float) -> None:
        expired = [
            sid for sid, (_, seen) in self._scopes.items() if now - seen > self._idle_seconds
        ]
        for sid in expired:
            del self._scopes[sid]
