"""Paging a list the connector already holds, by key: tokens survive the list changing."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import TypeVar

from connector.c1 import page_tokens
from connector.c1.builders import Page, PageRequest

T = TypeVar("T")


def keyset_page(items: Sequence[T], key: Callable[[T], str], page: PageRequest) -> Page[T]:
    """Serve `items` (sorted by the unique string `key`) a page at a time.

    The token holds the last key served, not an index, so a list re-read between pages (for
    example after its cache expired) resumes at the right place: nothing is repeated, and only
    items that appeared in the meantime before that key are missed.
    """
    position = page_tokens.decode(page.token, page.kind)
    start = 0
    if position is not None:
        after = page_tokens.field(position, "after", str)
        start = bisect.bisect_right(items, after, key=key)
    chunk = list(items[start : start + page.size])
    more = start + page.size < len(items)
    next_token = page_tokens.encode(page.kind, {"after": key(chunk[-1])}) if more and chunk else ""
    return Page(chunk, next_token)
