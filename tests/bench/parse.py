"""Micro-benchmark: CPU to decode one 500-row page of users and of memberships into the Clerk
models, as the client does it (`python -m tests.bench.parse`).

The pages are rendered by the fake Clerk's own renderer from a generated instance, so their
shapes (nested emails, accounts, the embedded organization) are what a sync reads. The machine
is shared, so each figure is the minimum over several repeats.

Before issue 14 the models were pydantic, validated by `TypeAdapter.validate_json`; measured so
on the same pages and machine (min of 5 runs x 15-40 repeats), that cost is printed beside.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from connector.clerk.decoding import json_decoder
from connector.clerk.models import OffsetPage, OrganizationMembership, User
from connector.fake_clerk.api import render
from connector.fake_clerk.api.fragments import encode, json_array, json_envelope
from connector.fake_clerk.data.synthetic import generate

ROWS = 500
# µs per row with the pydantic models, recorded before they were replaced.
PYDANTIC_US = {"users": 12.6, "memberships": 4.0}
_USERS = json_decoder(list[User])
_MEMBERSHIPS = json_decoder(OffsetPage[OrganizationMembership])


def pages(rows: int = ROWS) -> tuple[bytes, bytes]:
    """A users page (bare array) and a memberships page (`{data, total_count}`)."""
    dataset = generate(users=rows, organizations=max(rows // 10, 1), memberships=rows, seed=1)
    users = dataset.view("users").rows[:rows]
    memberships = dataset.view("memberships").rows[:rows]
    users_page = json_array(encode(render.user_json(user)) for user in users)
    memberships_page = json_envelope(
        (encode(render.membership_json(m, dataset)) for m in memberships), total_count=rows
    )
    return users_page, memberships_page


def decode_users(body: bytes) -> int:
    return len(_USERS.decode(body))


def decode_memberships(body: bytes) -> int:
    return len(_MEMBERSHIPS.decode(body).data)


def per_row_us(decode: Callable[[bytes], int], body: bytes, *, loops: int, repeats: int) -> float:
    """The fastest of `repeats` runs of `loops` decodes, in microseconds per row."""
    rows = decode(body)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            decode(body)
        best = min(best, time.perf_counter() - started)
    return best / loops / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    users_page, memberships_page = pages()
    for name, decode, body in (
        ("users", decode_users, users_page),
        ("memberships", decode_memberships, memberships_page),
    ):
        us = per_row_us(decode, body, loops=args.loops, repeats=args.repeats)
        print(
            f"{name:12} {ROWS} rows, {len(body) / ROWS:5.0f} bytes/row: {us:5.2f} µs per row "
            f"(pydantic: {PYDANTIC_US[name]:.1f})"
        )


if __name__ == "__main__":
    main()
