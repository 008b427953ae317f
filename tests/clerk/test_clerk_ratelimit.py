from __future__ import annotations

import random
import threading
import time

import pytest
from pydantic import SecretStr

from connector.clerk import RequestBudget, instance_kind
from tests.clerk.clerk_testkit import FakeClock


def assert_never_over_budget(sends: list[float], requests: int, per_seconds: float) -> None:
    """No half-open window [t, t + per_seconds) holds more than `requests` sends."""
    sends = sorted(sends)
    for i in range(requests, len(sends)):
        span = sends[i] - sends[i - requests]
        assert span >= per_seconds, (
            f"{requests + 1} sends within {span}s (sends {i - requests}..{i})"
        )


@pytest.mark.parametrize(
    ("key", "share", "expected"),
    [
        ("sk_live_abc", 0.5, 500),
        ("sk_live_abc", 1.0, 1000),
        ("sk_test_abc", 0.5, 50),
        ("sk_test_abc", 1.0, 100),
        ("weird_key", 0.25, 25),
        ("sk_test_abc", 0.001, 1),
    ],
)
def test_for_key_sizes_budget_from_key_prefix_and_share(
    key: str, share: float, expected: int
) -> None:
    budget = RequestBudget.for_key(key, share)
    assert budget.requests == expected
    assert budget.per_seconds == 10.0
    assert RequestBudget.for_key(SecretStr(key), share).requests == expected


@pytest.mark.parametrize("share", [0.0, -0.1, 1.01])
def test_for_key_rejects_share_out_of_range(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        RequestBudget.for_key("sk_test_x", share)


def test_instance_kind() -> None:
    assert instance_kind("sk_live_x") == "production"
    assert instance_kind(SecretStr("sk_test_x")) == "development"
    assert instance_kind("pk_live_x") == "development"


def test_under_budget_requests_do_not_wait() -> None:
    clock = FakeClock()
    budget = RequestBudget(3, 10.0, clock=clock, sleep=clock.sleep)
    assert [budget.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []
    waited = budget.acquire()
    assert waited == pytest.approx(10.0)
    assert clock.now == pytest.approx(1010.0)


@pytest.mark.parametrize("seed", range(20))
def test_never_exceeds_budget_over_any_window_with_random_arrivals(seed: int) -> None:
    rng = random.Random(seed)
    requests = rng.randint(1, 12)
    per_seconds = rng.choice([0.5, 1.0, 2.5, 10.0])
    clock = FakeClock(now=rng.uniform(0, 1e6))
    budget = RequestBudget(requests, per_seconds, clock=clock, sleep=clock.sleep)
    sends: list[float] = []
    for _ in range(400):
        # Bursts (no gap) mixed with pauses of various lengths.
        clock.advance(
            rng.choice(
                [0.0, 0.0, 0.0, rng.uniform(0, per_seconds / requests), rng.uniform(0, per_seconds)]
            )
        )
        budget.acquire()
        sends.append(clock.now)
    assert_never_over_budget(sends, requests, per_seconds)
    # Not needlessly slow either: a pure burst of n sends finishes within the theoretical minimum.
    burst_clock = FakeClock()
    burst = RequestBudget(requests, per_seconds, clock=burst_clock, sleep=burst_clock.sleep)
    for _ in range(requests * 5):
        burst.acquire()
    assert burst_clock.now - 1000.0 == pytest.approx(4 * per_seconds, abs=0.01)


def test_pause_until_holds_every_caller_until_deadline() -> None:
    clock = FakeClock()
    budget = RequestBudget(100, 10.0, clock=clock, sleep=clock.sleep)
    budget.acquire()
    budget.pause_until(clock.now + 7.5)
    budget.pause_until(clock.now + 2.0)  # an earlier deadline never shortens the pause
    assert budget.acquire() == pytest.approx(7.5)
    assert budget.acquire() == 0.0


def test_rejects_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="requests"):
        RequestBudget(0, 10.0)
    with pytest.raises(ValueError, match="per_seconds"):
        RequestBudget(1, 0.0)


def test_thread_safe_under_concurrent_acquires() -> None:
    """Many threads on one budget: the send times (the clock reading each admission was based
    on, captured per thread) never exceed the budget in any window."""
    last_reading = threading.local()

    def clock() -> float:
        last_reading.value = time.monotonic()
        return float(last_reading.value)

    requests, per_seconds = 4, 0.2
    budget = RequestBudget(requests, per_seconds, clock=clock)
    sends: list[float] = []
    sends_lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            budget.acquire()
            with sends_lock:
                sends.append(last_reading.value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(sends) == 24
    assert_never_over_budget(sends, requests, per_seconds)
    assert max(sends) - min(sends) >= (24 // requests - 1) * per_seconds
