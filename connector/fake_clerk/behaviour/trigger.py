"""`Trigger`: one change at one precise moment of a sync, as a request hook.

    rename = Trigger(
        lambda: fake.dataset.rename_role("org:member", new_key="org:associate"),
        route="GET /organization_memberships",
    )
    fake.hooks = [rename]   # runs once, before the first instance-wide membership page
    ...
    rename.fired            # True once it ran

`after=n` waits for the (n+1)-th matching request instead of the first. The action runs before
that request reads anything, like every hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Trigger:
    """Runs `action` once, before the `after`-th (0-based) request matching `route` (any: None)."""

    def __init__(
        self, action: Callable[[], object], *, route: str | None = None, after: int = 0
    ) -> None:
        if after < 0:
            raise ValueError("after must not be negative")
        self.action = action
        self.route = route
        self.after = after
        self.fired = False
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, route: str) -> None:
        with self._lock:
            if self.fired or (self.route is not None and route != self.route):
                return
            self._seen += 1
            if self._seen <= self.after:
                return
            self.fired = True
        self.action()
