"""A fake Clerk Backend API: a real HTTP server following Clerk's OpenAPI spec for the endpoints
the connector reads, with switchable faults and a rate limit, over generated or hand-written data.

    from connector.fake_clerk import FakeClerk, generate

    with FakeClerk(generate(users=1000, organizations=50, memberships=3000)) as fake:
        ...  # point the client at fake.url with fake.secret_key

Hooks run before every request: `Churn` creates and deletes rows between requests, `FaultMix`
switches on random one-shot faults (`fake.hooks = [Churn(fake.dataset, rate=1.0, seed=3)]`).
"""

from connector.fake_clerk.churn import Churn, ChurnRecord, Mutation, RequestHook, Rows
from connector.fake_clerk.dataset import Dataset, awkward, demo, generate, traps
from connector.fake_clerk.edits import CreatedAtEdits, Direction, Edit, EditRecord
from connector.fake_clerk.fault_mix import FaultMix
from connector.fake_clerk.faults import (
    CursorGone,
    Fault,
    FaultKind,
    Faults,
    Hit,
    MalformedBody,
    Unordered,
)
from connector.fake_clerk.ratelimit import RateLimit
from connector.fake_clerk.server import DEFAULT_SECRET_KEY, FakeClerk, serve
from connector.fake_clerk.stats import Stats, StatsSnapshot
from connector.fake_clerk.trigger import Trigger

__all__ = [
    "DEFAULT_SECRET_KEY",
    "Churn",
    "ChurnRecord",
    "CreatedAtEdits",
    "CursorGone",
    "Dataset",
    "Direction",
    "Edit",
    "EditRecord",
    "FakeClerk",
    "Fault",
    "FaultKind",
    "FaultMix",
    "Faults",
    "Hit",
    "MalformedBody",
    "Mutation",
    "RateLimit",
    "RequestHook",
    "Rows",
    "Stats",
    "StatsSnapshot",
    "Trigger",
    "Unordered",
    "awkward",
    "demo",
    "generate",
    "serve",
    "traps",
]
