"""`FaultMix`: a seeded random mix of one-shot faults, as a request hook.

    mix = FaultMix(fake.faults, rate=0.1, seed=4)
    fake.hooks = [mix]
    ...
    mix.injected  # [(route, "server_error 502"), ...] in request order

Before each request, with probability `rate`, one fault drawn from `mix` (weights per kind) is
switched on for that request's route with `times=1`, so the arriving request takes it (a
concurrent request on the same route may take it first; it is still spent exactly once). Paging
and behaviour faults (ordering, cursor, deep offsets, plan) are not offered: they change what a
server answers, not whether it fails. Nor are write faults: reads would never take them.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from types import MappingProxyType

from connector.fake_clerk.behaviour.faults import (
    BEHAVIOUR_KINDS,
    WRITE_KINDS,
    Fault,
    FaultKind,
    Faults,
    MalformedBody,
)

DEFAULT_FAULT_MIX: Mapping[FaultKind, float] = MappingProxyType(
    {
        FaultKind.SERVER_ERROR: 4.0,
        FaultKind.DROP_CONNECTION: 3.0,
        FaultKind.RATE_LIMITED: 3.0,
        FaultKind.MALFORMED_BODY: 1.0,
        FaultKind.REVOKED_KEY: 0.5,
    }
)


class FaultMix:
    """Random one-shot faults before requests (thread-safe; deterministic for one seed and one
    request sequence)."""

    def __init__(
        self,
        faults: Faults,
        *,
        rate: float,
        seed: int = 0,
        mix: Mapping[FaultKind, float] = DEFAULT_FAULT_MIX,
        max_retry_after: int = 30,
        slow_seconds: float = 0.05,
    ) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("rate is a probability per request")
        if any(kind in BEHAVIOUR_KINDS or kind in WRITE_KINDS for kind in mix):
            raise ValueError("paging, behaviour and write faults are not part of a fault mix")
        if any(weight < 0 for weight in mix.values()) or not sum(mix.values()) > 0:
            raise ValueError("mix needs non-negative weights, at least one positive")
        self.faults = faults
        self.rate = rate
        self.max_retry_after = max_retry_after
        self.slow_seconds = slow_seconds
        self._kinds = list(mix)
        self._weights = [mix[kind] for kind in self._kinds]
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str]] = []

    def __call__(self, route: str) -> None:
        with self._lock:
            if self._rng.random() >= self.rate:
                return
            (kind,) = self._rng.choices(self._kinds, self._weights)
            fault = self._draw(kind, route)
            self.injected.append((route, _describe(fault)))
        self.faults.add(fault)

    def _draw(self, kind: FaultKind, route: str) -> Fault:
        fault = Fault(kind, route=route, times=1)
        rng = self._rng
        if kind is FaultKind.SERVER_ERROR:
            fault.status = rng.choice((500, 502, 503))
        elif kind is FaultKind.DROP_CONNECTION:
            fault.mid_body = rng.random() < 0.5
        elif kind is FaultKind.MALFORMED_BODY:
            fault.body = rng.choice(list(MalformedBody))
        elif kind is FaultKind.RATE_LIMITED:
            fault.retry_after = rng.randint(1, max(1, self.max_retry_after))
        elif kind is FaultKind.SLOW:
            fault.seconds = rng.uniform(0.0, self.slow_seconds)
        return fault


def _describe(fault: Fault) -> str:
    detail = {
        FaultKind.SERVER_ERROR: str(fault.status),
        FaultKind.DROP_CONNECTION: "mid-body" if fault.mid_body else "at once",
        FaultKind.MALFORMED_BODY: str(fault.body),
        FaultKind.RATE_LIMITED: f"retry-after {fault.retry_after}",
        FaultKind.SLOW: f"{fault.seconds:.3f} s",
    }.get(fault.kind, "")
    return f"{fault.kind} {detail}".strip()
