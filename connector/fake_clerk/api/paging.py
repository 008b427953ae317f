"""Choosing a list page's rows, including the hostile-paging faults."""

from __future__ import annotations

from typing import Any

from connector.fake_clerk.api.listing import Listing
from connector.fake_clerk.behaviour.faults import FaultKind, Hit


def select(listing: Listing, *, start: int, limit: int, fault: Hit | None) -> list[Any]:
    """`limit` rows from listing position `start`, bent by a paging fault when one applies."""
    if fault is not None:
        if fault.kind is FaultKind.IGNORE_PAGING:
            start = 0
        elif fault.kind is FaultKind.STALE_PAGES:
            # The page that ends where the requested one begins: every row already served.
            start = max(0, start - limit)
        elif fault.kind is FaultKind.SHORT_PAGES:
            limit = min(limit, fault.fault.size)
    return listing.page(start, limit)
