"""A fixed delay on every response, like the round trip to a distant Clerk region.

A 500-row page from a real region takes about 250 ms. The delay is slept on the thread that
serves the request (each request has its own), so concurrent requests are delayed side by side,
never one after another. The rate limit and the answer are decided when the request arrives;
only the response waits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Latency:
    """`milliseconds` of delay before each response is sent (0: none)."""

    milliseconds: float
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not math.isfinite(self.milliseconds) or self.milliseconds < 0:
            raise ValueError("latency needs milliseconds >= 0")

    @property
    def seconds(self) -> float:
        return self.milliseconds / 1000

    def wait(self) -> None:
        if self.milliseconds > 0:
            self.sleep(self.seconds)
