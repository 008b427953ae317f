"""Per-sync memo of Clerk reads, keyed by the platform's `active_sync_id`.

One platform sync asks for an organization's entitlements and later its grants; both must come
from the same snapshot of its memberships (or a grant could name a role that has no
entitlement), and the role catalog and the instance-wide membership list should be read once per
sync, not once per organization. A scope lives until `Cleanup(active_sync_id)` or until it has
been idle for `idle_seconds`; a released scope is `closed`, which stops its background loads.
Calls without a sync id get a throwaway scope: always correct, just more Clerk requests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger(__name__)

# Background loads (prefetches) of all syncs share this many threads.
DEFAULT_WORKERS = 4


class ScopeClosed(RuntimeError):
    """A background load noticed that its sync was cleaned up or expired."""


EventObserver = Callable[[str, int], None]


def ignore_event(_event: str, _count: int) -> None:
    pass


class SyncReport:
    """What one sync learned about its own answers: the completeness evidence of each listing it
    read and counted events (rows dropped or flagged, by name). Answered with Cleanup."""

    def __init__(self, on_event: EventObserver = ignore_event) -> None:
        self._lock = threading.Lock()
        self._listings: list[dict[str, int | str]] = []
        self._events: Counter[str] = Counter()
        self._counted: set[tuple[str, Hashable]] = set()
        self._on_event = on_event

    def add_listing(self, fields: Mapping[str, int | str]) -> None:
        with self._lock:
            self._listings.append(dict(fields))

    def count(self, event: str, count: int = 1) -> None:
        if count <= 0:
            return
        with self._lock:
            self._events[event] += count
        self._on_event(event, count)

    def count_once(self, event: str, key: Hashable, count: int = 1) -> None:
        """Count `event` for `key` only the first time (a call retried by the platform)."""
        with self._lock:
            if (event, key) in self._counted:
                return
            self._counted.add((event, key))
        self.count(event, count)

    def events(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._events.items()))

    def listings(self) -> list[dict[str, int | str]]:
        with self._lock:
            return [dict(fields) for fields in self._listings]


class SyncScope:
    """Memoized values for one sync. Each key is loaded once, even under concurrent calls."""

    def __init__(
        self, executor: ThreadPoolExecutor | None = None, on_event: EventObserver = ignore_event
    ) -> None:
        self.report = SyncReport(on_event)
        self._values: dict[Hashable, Future[Any]] = {}
        # Background loads not yet finished: the pool's task and the load it runs.
        self._jobs: dict[Hashable, tuple[Future[None], Callable[[], Any]]] = {}
        self._started: set[Hashable] = set()
        self._recent: OrderedDict[Hashable, Any] = OrderedDict()
        self._guard = threading.Lock()
        self._executor = executor
        # Set when the sync ends; long loads check it between Clerk requests.
        self.closed = threading.Event()

    @property
    def persistent(self) -> bool:
        """True for a real sync's scope (values outlive the call); False for a throwaway one."""
        return self._executor is not None

    def memo(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value for `key`, loading it here unless another call is (or was) loading it.

        A background load still queued behind other syncs' loads is taken over and run here,
        so one sync never waits for another's turn on the shared threads.
        """
        future, owner = self._claim(key)
        if not owner:
            queued = self._take_queued(key)
            if queued is not None:
                owner, load = True, queued
        if owner:
            self._run(key, future, load)
        return future.result()  # type: ignore[no-any-return]

    def lookup(self, key: Hashable) -> Any:
        """The value already loaded for `key`, or None (never loads, never waits)."""
        with self._guard:
            future = self._values.get(key)
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def start(self, key: Hashable, load: Callable[[], Any]) -> None:
        """Begin loading `key` in the background, once per sync; a later `memo(key, ...)` waits
        for it (and, if that load failed, loads again itself).

        A throwaway scope does nothing: its values would be gone before anyone asked.
        """
        if self._executor is None:
            return
        with self._guard:
            if key in self._started or self.closed.is_set():
                return
            self._started.add(key)
        future, owner = self._claim(key)
        if owner:
            with self._guard:
                job = self._executor.submit(self._run_quietly, key, future, load)
                self._jobs[key] = (job, load)

    def recent(self, key: Hashable, load: Callable[[], T], capacity: int) -> T:
        """A value kept only while it is among the `capacity` most recently used ones.

        For large derived values needed by a few consecutive calls (pages of one organization's
        grants) that would cost too much memory if kept for every key until the sync ends.
        """
        with self._guard:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]  # type: ignore[no-any-return]
        value = load()
        with self._guard:
            self._recent[key] = value
            while len(self._recent) > capacity:
                self._recent.popitem(last=False)
        return value

    def close(self) -> None:
        """End the sync: queued loads are cancelled and every waiting call gets ScopeClosed."""
        self.closed.set()
        with self._guard:
            jobs, self._jobs = self._jobs, {}
            values, self._values = self._values, {}
            self._recent.clear()
        for job, _ in jobs.values():
            job.cancel()
        for future in values.values():
            _settle(future, error=ScopeClosed("the sync was cleaned up or expired"))

    def _claim(self, key: Hashable) -> tuple[Future[Any], bool]:
        with self._guard:
            if self.closed.is_set():
                raise ScopeClosed("the sync was cleaned up or expired")
            future = self._values.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._values[key] = future
            return future, True

    def _take_queued(self, key: Hashable) -> Callable[[], Any] | None:
        """The load of `key`'s background task if it had not started yet (it is cancelled)."""
        with self._guard:
            queued = self._jobs.get(key)
            if queued is None or not queued[0].cancel():
                return None
            del self._jobs[key]
            return queued[1]

    def _run(self, key: Hashable, future: Future[Any], load: Callable[[], Any]) -> None:
        try:
            value = load()
        except BaseException as exc:
            # A failed load caches nothing, so the next call (a platform retry) reads again;
            # calls already waiting on it get the same error.
            with self._guard:
                if self._values.get(key) is future:
                    del self._values[key]
            _settle(future, error=exc)
            return
        _settle(future, value=value)

    def _run_quietly(self, key: Hashable, future: Future[Any], load: Callable[[], Any]) -> None:
        with self._guard:
            self._jobs.pop(key, None)
        self._run(key, future, load)
        error = future.exception()
        if error is not None and not isinstance(error, ScopeClosed):
            # Whoever waits for the value gets this error with its gRPC status; this line
            # records that the background load failed even if nobody asks again.
            log.warning("prefetch_failed", key=str(key), error=type(error).__name__)


def _settle(future: Future[Any], *, value: Any = None, error: BaseException | None = None) -> None:
    """Resolve `future` unless it already is (close() and a finishing load can race)."""
    with contextlib.suppress(InvalidStateError):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class SyncCache:
    """The scopes of all live syncs, plus the threads their background loads run on."""

    def __init__(
        self,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._scopes: dict[str, tuple[SyncScope, float]] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prefetch")
        # Told every event a sync reports (the server sets it to its metrics).
        self.on_event: EventObserver = ignore_event

    def _report_event(self, event: str, count: int) -> None:
        self.on_event(event, count)

    def scope(self, sync_id: str) -> SyncScope:
        if not sync_id:
            return SyncScope(on_event=self._report_event)
        now = self._clock()
        with self._lock:
            self._evict_idle(now)
            found = self._scopes.get(sync_id)
            scope = (
                found[0]
                if found is not None
                else SyncScope(self._executor, on_event=self._report_event)
            )
            self._scopes[sync_id] = (scope, now)
            return scope

    def find(self, sync_id: str) -> SyncScope | None:
        """The live scope of `sync_id` (touched, as a call of that sync would), or None."""
        now = self._clock()
        with self._lock:
            self._evict_idle(now)
            found = self._scopes.get(sync_id)
            if found is None:
                return None
            self._scopes[sync_id] = (found[0], now)
            return found[0]

    def release(self, sync_id: str) -> bool:
        with self._lock:
            found = self._scopes.pop(sync_id, None)
        if found is None:
            return False
        found[0].close()
        return True

    def active_syncs(self) -> int:
        with self._lock:
            self._evict_idle(self._clock())
            return len(self._scopes)

    def close(self) -> None:
        """Release every scope and stop the background threads (server shutdown)."""
        with self._lock:
            scopes = [scope for scope, _ in self._scopes.values()]
            self._scopes.clear()
        for scope in scopes:
            scope.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _evict_idle(self, now: float) -> None:
        expired = [
            sid for sid, (_, seen) in self._scopes.items() if now - seen > self._idle_seconds
        ]
        for sid in expired:
            self._scopes.pop(sid)[0].close()
