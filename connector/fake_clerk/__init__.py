"""A fake Clerk Backend API: a real HTTP server following Clerk's OpenAPI spec for the endpoints
the connector reads, with switchable faults and a rate limit, over generated or hand-written data.

    from connector.fake_clerk import FakeClerk, generate

    with FakeClerk(generate(users=1000, organizations=50, memberships=3000)) as fake:
        ...  # point the client at fake.url with fake.secret_key
"""

from connector.fake_clerk.dataset import Dataset, awkward, demo, generate
from connector.fake_clerk.faults import Fault, FaultKind, Faults, MalformedBody
from connector.fake_clerk.ratelimit import RateLimit
from connector.fake_clerk.server import DEFAULT_SECRET_KEY, FakeClerk, serve
from connector.fake_clerk.stats import Stats, StatsSnapshot

__all__ = [
    "DEFAULT_SECRET_KEY",
    "Dataset",
    "FakeClerk",
    "Fault",
    "FaultKind",
    "Faults",
    "MalformedBody",
    "RateLimit",
    "Stats",
    "StatsSnapshot",
    "awkward",
    "demo",
    "generate",
    "serve",
]
