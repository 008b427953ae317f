"""The users one sync served, so its grants name only principals the platform has seen.

The platform's syncer checks that every grant's principal is a resource listed in the same sync
(a "dangling principal" fails a strict sync). Memberships are read at another moment than the
users, so under churn a membership can name a user deleted before the users listing reached
it, or created after it. Grants are therefore reconciled with the users this sync served: a
membership of any other user is dropped and counted as churn. The same record gives each
grant's principal the display name of the user resource the platform holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from connector.c1.sync_cache import SyncScope

_KEY = "listed_users"


class ListedUsers:
    """User id -> display name of every user served in one sync; `complete` once a users
    listing of the sync ended with evidence that it served every user."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self.complete = False

    def add(self, users: Iterable[tuple[str, str]]) -> None:
        """(user id, display name of the resource served) pairs."""
        with self._lock:
            self._names.update(users)

    def name(self, user_id: str) -> str | None:
        return self._names.get(user_id)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._names


def listed_users(scope: SyncScope) -> ListedUsers:
    return scope.memo(_KEY, ListedUsers)
