"""`Request`: what a route handler gets besides the dataset."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from connector.fake_clerk.api.fragments import FragmentCache
from connector.fake_clerk.api.params import Query
from connector.fake_clerk.behaviour.faults import Fault, FaultKind, Hit


class TakeFault(Protocol):
    """Takes (and counts) this request's fault of one of `kinds`, if any; `when` narrows it."""

    def __call__(
        self, kinds: Collection[FaultKind], when: Callable[[Fault], bool] | None = None
    ) -> Hit | None: ...


def _no_throttle(organization_id: str, user_id: str) -> None:
    return None


@dataclass(frozen=True)
class Request:
    path_params: tuple[str, ...]
    query: Query
    fragments: FragmentCache
    take: TakeFault
    body: bytes = b""
    # Counts a write on the (organization, user) object; raises a 429 `ApiError` over the limit.
    throttle: Callable[[str, str], None] = _no_throttle

    def fault(self, *kinds: FaultKind) -> Hit | None:
        return self.take(kinds)
