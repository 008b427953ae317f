"""The in-flight window: Little's law from the budget and measured response times, bounded."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connector.clerk import ClerkClient
from connector.clerk.inflight import (
    MAX_WINDOW,
    MIN_WINDOW,
    RECENT,
    InFlightWindow,
    window_for,
)
from connector.clerk.ratelimit import RequestBudget
from connector.clerk.transport import RequestEvent
from connector.fake_clerk import FakeClerk, Latency, RateLimit, generate


def _event(seconds: float, status: int | None = 200) -> RequestEvent:
    return RequestEvent("/organization_memberships", 1, status, None, seconds, 0.0)


def test_the_production_budget_at_250_ms_keeps_about_thirteen_in_flight() -> None:
    # 500 requests / 10 s = 50 / s; x 0.25 s = 12.5; with the margin and one more: 17.
    assert window_for(50, 0.25) == 17
    assert window_for(50, 0.25) >= 13


@pytest.mark.parametrize(
    ("rate", "seconds", "expected"),
    [
        (50, 0.0, MIN_WINDOW),  # a near fake: the old fixed window
        (5, 0.25, MIN_WINDOW),  # the development budget needs few
        (50, 0.1, 8),  # ceil(50 x 0.1 x 1.25) + 1
        (50, 10.0, MAX_WINDOW),  # a very distant server: memory stays bounded
    ],
)
def test_window_for_is_bounded_littles_law(rate: float, seconds: float, expected: int) -> None:
    assert window_for(rate, seconds) == expected


def test_window_bounds_must_make_sense() -> None:
    with pytest.raises(ValueError, match="bounds"):
        window_for(50, 0.25, minimum=0)
    with pytest.raises(ValueError, match="bounds"):
        InFlightWindow(RequestBudget(500, 10.0), minimum=8, maximum=4)


def test_the_window_follows_measured_response_times() -> None:
    window = InFlightWindow(RequestBudget(500, 10.0))
    assert window() == MIN_WINDOW  # nothing measured yet
    window.observe(_event(0.25))
    assert window() == 17
    for _ in range(RECENT):  # the region got close: the window follows it down
        window.observe(_event(0.01))
    assert window() == MIN_WINDOW


def test_queueing_behind_our_own_requests_does_not_widen_the_window() -> None:
    """Slow answers among fast ones are time spent queued, not distance: the round trip is the
    fastest recent attempt, so a busy server does not feed the window its own queue."""
    window = InFlightWindow(RequestBudget(500, 10.0))
    for seconds in [0.01, 0.4, 0.5, 0.6, 0.45] * 3:
        window.observe(_event(seconds))
    assert window() == MIN_WINDOW
    assert window.seconds_per_request == pytest.approx(0.01)


def test_failed_attempts_do_not_move_the_average() -> None:
    window = InFlightWindow(RequestBudget(500, 10.0))
    window.observe(_event(0.25))
    window.observe(_event(30.0, status=None))  # a timeout
    window.observe(_event(5.0, status=503))
    assert window.seconds_per_request == pytest.approx(0.25)


def test_memberships_against_a_distant_fake_keep_more_than_four_in_flight() -> None:
    """End to end over HTTP: 100 ms per response, a budget of 500 / 10 s (the fake allows twice
    that). The window grows past the old fixed 4, every row arrives, no 429, and the walk asks
    for no page past the end."""
    data = generate(users=200, organizations=20, memberships=1500, seed=3)
    limit = RateLimit(requests=1000, per_seconds=10.0)
    with FakeClerk(data, rate_limit=limit, latency=Latency(milliseconds=100)) as fake:
        budget = RequestBudget(500, 10.0)
        with ClerkClient(
            fake.url, SecretStr(fake.secret_key), budget=budget, page_size=50, adaptive_window=True
        ) as c:
            listed = [m.id for batch in c.instance_memberships_listing() for m in batch]
            assert c.window() > MIN_WINDOW
        stats = fake.stats.snapshot()
    assert sorted(listed) == sorted(data.memberships)
    assert stats.rate_limited == 0
    assert stats.peak_in_flight > MIN_WINDOW
    pages = stats.by_route["GET /organization_memberships"]
    # Pages overlap by two rows: 1500 rows in steps of 48, and no read-ahead past the total.
    assert pages <= -(-1500 // 48) + 1


def test_the_client_keeps_the_fixed_four_unless_adaptive() -> None:
    budget = RequestBudget(500, 10.0)
    with ClerkClient(
        "http://127.0.0.1:9/v1", SecretStr("sk_live_x"), budget=budget, adaptive_window=False
    ) as fixed:
        fixed.window.observe(_event(0.25))
        assert fixed.window() == MIN_WINDOW
