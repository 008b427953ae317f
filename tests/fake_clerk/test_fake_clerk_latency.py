"""The fake's response delay, over HTTP: every response waits, concurrent ones side by side."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connector.fake_clerk import FakeClerk, Latency, RateLimit, awkward
from tests.fake_clerk.fake_clerk_testkit import client_for, running


class RecordingSleep:
    """A real sleep that records when each one ran (the fake's own evidence of overlap)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.intervals: list[tuple[float, float]] = []

    def __call__(self, seconds: float) -> None:
        start = time.monotonic()
        time.sleep(seconds)
        with self.lock:
            self.intervals.append((start, time.monotonic()))


def _get_concurrently(fake: FakeClerk, requests: int) -> list[int]:
    barrier = threading.Barrier(requests)

    def one(_: int) -> int:
        with client_for(fake) as client:  # a connection of its own, as a pool would open
            barrier.wait(timeout=10)
            return client.get("/users", params={"limit": 1}).status_code

    with ThreadPoolExecutor(requests) as pool:
        return list(pool.map(one, range(requests)))


def test_concurrent_requests_are_delayed_side_by_side() -> None:
    sleep = RecordingSleep()
    with running(awkward(), latency=Latency(milliseconds=200, sleep=sleep)) as (fake, _):
        statuses = _get_concurrently(fake, 4)
    assert statuses == [200] * 4
    assert len(sleep.intervals) == 4
    # Serialized delays would never overlap: each would start after the one before ended.
    latest_start = sorted(start for start, _ in sleep.intervals)[1]
    earliest_end = min(end for _, end in sleep.intervals)
    assert latest_start < earliest_end, "no two delays overlapped"
    assert fake.stats.peak_in_flight >= 2


def test_without_latency_nothing_sleeps_and_requests_can_be_one_at_a_time() -> None:
    with running(awkward()) as (fake, client):
        for _ in range(3):
            assert client.get("/users", params={"limit": 1}).status_code == 200
        assert fake.latency is None
        assert fake.stats.peak_in_flight == 1


def test_every_response_is_delayed_errors_and_429s_too() -> None:
    sleep = RecordingSleep()
    limit = RateLimit(requests=1, per_seconds=60)
    with running(awkward(), rate_limit=limit, latency=Latency(1, sleep=sleep)) as (fake, client):
        assert client.get("/users").status_code == 200
        assert client.get("/users").status_code == 429
        assert client.get("/no_such_route").status_code in (404, 429)
        with client_for(fake, key="sk_test_wrong") as wrong:
            assert wrong.get("/users").status_code in (401, 429)
    assert len(sleep.intervals) == 4


def test_latency_switches_on_and_off_while_running() -> None:
    sleep = RecordingSleep()
    with running(awkward()) as (fake, client):
        client.get("/users")
        fake.latency = Latency(milliseconds=1, sleep=sleep)
        client.get("/users")
        fake.latency = None
        client.get("/users")
    assert len(sleep.intervals) == 1


@pytest.mark.parametrize("milliseconds", [-1.0, float("nan"), float("inf")])
def test_latency_must_be_a_finite_non_negative_delay(milliseconds: float) -> None:
    with pytest.raises(ValueError, match="milliseconds"):
        Latency(milliseconds=milliseconds)
