from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from connector.sync_cache import SyncCache


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
