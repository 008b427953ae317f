from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import pytest

from connector.c1.sync_cache import ScopeClosed, SyncCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scope_is_shared_within_a_sync_and_isolated_between_syncs() -> None:
    cache = SyncCache(idle_seconds=60)
    loads: list[str] = []

    def loader(value: str) -> Callable[[], str]:
        def load() -> str:
            loads.append(value)
            return value

        return load

    a = cache.scope("sync-a").memo("k", loader("A"))
    again = cache.scope("sync-a").memo("k", loader("A2"))
    b = cache.scope("sync-b").memo("k", loader("B"))
    assert (a, again, b) == ("A", "A", "B")
    assert loads == ["A", "B"]


def test_cleanup_releases_and_next_call_reloads() -> None:
    cache = SyncCache(idle_seconds=60)
    cache.scope("s").memo("k", lambda: 1)
    assert cache.release("s") is True
    assert cache.release("s") is False
    assert cache.scope("s").memo("k", lambda: 2) == 2


def test_idle_scopes_expire() -> None:
    clock = FakeClock()
    cache = SyncCache(idle_seconds=10, clock=clock)
    cache.scope("old").memo("k", lambda: "v1")
    clock.now += 5
    cache.scope("busy")
    assert cache.active_syncs() == 2
    clock.now += 6  # "old" idle 11 s, "busy" idle 6 s
    assert cache.active_syncs() == 1
    assert cache.scope("old").memo("k", lambda: "v2") == "v2"


def test_no_sync_id_never_caches() -> None:
    cache = SyncCache(idle_seconds=60)
    assert cache.scope("").memo("k", lambda: 1) == 1
    assert cache.scope("").memo("k", lambda: 2) == 2
    assert cache.active_syncs() == 0


def test_failed_load_is_not_cached() -> None:
    cache = SyncCache(idle_seconds=60)
    scope = cache.scope("s")

    def boom() -> int:
        raise RuntimeError("upstream down")

    with contextlib.suppress(RuntimeError):
        scope.memo("k", boom)
    assert scope.memo("k", lambda: 7) == 7


def test_concurrent_callers_load_once() -> None:
    scope = SyncCache(idle_seconds=60).scope("s")
    gate = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        gate.wait(2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(scope.memo("k", slow))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(calls) == 1


def test_background_load_is_awaited_by_memo_and_runs_once() -> None:
    cache = SyncCache(idle_seconds=60, workers=2)
    gate = threading.Event()
    loads: list[int] = []

    def slow() -> int:
        gate.wait(5)
        loads.append(1)
        return 42

    scope = cache.scope("s")
    scope.start("k", slow)
    scope.start("k", slow)  # already loading: not started twice
    gate.set()
    assert scope.memo("k", lambda: -1) == 42
    assert loads == [1]
    cache.close()


def test_throwaway_scope_starts_nothing() -> None:
    scope = SyncCache(idle_seconds=60).scope("")
    assert not scope.persistent
    scope.start("k", lambda: 1)
    assert scope.memo("k", lambda: 2) == 2


def test_release_closes_the_scope_so_background_loads_can_stop() -> None:
    cache = SyncCache(idle_seconds=60)
    scope = cache.scope("s")
    assert scope.persistent
    assert not scope.closed.is_set()
    cache.release("s")
    assert scope.closed.is_set()


def test_idle_expiry_closes_the_scope() -> None:
    clock = FakeClock()
    cache = SyncCache(idle_seconds=10, clock=clock)
    scope = cache.scope("old")
    clock.now += 11
    assert cache.active_syncs() == 0
    assert scope.closed.is_set()


def test_recent_keeps_only_the_most_recently_used_values() -> None:
    scope = SyncCache(idle_seconds=60).scope("s")
    loads: list[str] = []

    def load(key: str) -> Callable[[], str]:
        def run() -> str:
            loads.append(key)
            return key.upper()

        return run

    for key in ["a", "b", "a", "c", "a", "b"]:
        assert scope.recent(key, load(key), capacity=2) == key.upper()
    # "b" was evicted by "c" (a was used more recently), then read again.
    assert loads == ["a", "b", "c", "b"]


def test_close_answers_every_waiting_call_with_scope_closed() -> None:
    cache = SyncCache(idle_seconds=60, workers=1)
    blocker = threading.Event()
    scope = cache.scope("s")
    scope.start("slow", lambda: blocker.wait(5))  # occupies the only worker
    scope.start("queued", lambda: 1)  # waits behind it
    outcome: list[BaseException] = []

    def wait_for_slow() -> None:
        try:
            scope.memo("slow", lambda: None)
        except ScopeClosed as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_slow)
    waiter.start()
    time.sleep(0.05)
    cache.release("s")
    waiter.join(timeout=2)
    blocker.set()
    assert not waiter.is_alive()
    assert len(outcome) == 1
    with pytest.raises(ScopeClosed):
        scope.memo("queued", lambda: 2)  # nothing loads into a closed scope
    cache.close()


def test_a_failed_background_load_is_started_once_then_retried_by_callers() -> None:
    cache = SyncCache(idle_seconds=60, workers=1)
    scope = cache.scope("s")
    attempts: list[int] = []

    def failing() -> int:
        attempts.append(1)
        raise RuntimeError("Clerk is down")

    scope.start("k", failing)
    deadline = time.monotonic() + 5
    while not attempts and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # let the failure settle
    scope.start("k", failing)  # the next ListResources page: no second background read
    time.sleep(0.05)
    assert scope.memo("k", lambda: 7) == 7  # a caller retries itself
    assert len(attempts) == 1
    cache.close()


def test_memo_takes_over_a_load_still_queued_behind_other_syncs() -> None:
    cache = SyncCache(idle_seconds=60, workers=1)
    busy = threading.Event()
    cache.scope("other").start("big", lambda: busy.wait(5))  # holds the only worker
    mine = cache.scope("mine")
    mine.start("catalog", lambda: "loaded")
    started = time.monotonic()
    assert mine.memo("catalog", lambda: "unused") == "loaded"  # ran here, not after "big"
    assert time.monotonic() - started < 1
    busy.set()
    cache.close()
