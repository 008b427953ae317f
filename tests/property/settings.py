"""Hypothesis settings shared by the property tests: modest example counts, no per-example
deadline (a loaded CI machine is slow, not wrong), the same examples on every run (no flaky
CI), and no example database written into the working tree."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(PROPERTY, max_examples=20)
