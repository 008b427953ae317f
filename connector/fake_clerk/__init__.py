"""A fake Clerk Backend API: a real HTTP server following Clerk's OpenAPI spec for the endpoints
the connector reads and the organization-membership writes (create, change role, remove; see
`api.writes`), with switchable faults and rate limits, over generated or hand-written data.

    from connector.fake_clerk import FakeClerk, generate

    with FakeClerk(generate(users=1000, organizations=50, memberships=3000)) as fake:
        ...  # point the client at fake.url with fake.secret_key

Hooks run before every request: `Churn` creates and deletes rows between requests, `FaultMix`
switches on random one-shot faults (`fake.hooks = [Churn(fake.dataset, rate=1.0, seed=3)]`).

Clerk as it is allowed to behave (the spec promises no more); each mode is seeded where it draws:

- ties reordered per request: `fake.faults.shuffle_ties(seed=1)`, with many ties from
  `generate(..., bulk_import=200)` or `generate(..., tie_rate=0.5)`;
- `order_by` ignored: `fake.faults.unordered("shuffled" | "stable" | "newest_first", seed=1)`;
- `created_at` edited during a sync: `fake.hooks = [CreatedAtEdits(fake.dataset, rate=0.5,
  seed=2)]`, whose `stop()` names the survivors and every edit;
- the users cursor naming a deleted user: `fake.faults.cursor_gone("empty" | "error")`
  (default without it: resume at the deleted user's place);
- deep offsets timing out: `fake.faults.deep_offsets(at=10_000, seconds=0.0)` (504; with
  `seconds`, after that long);
- a plan without role sets: `fake.faults.plan_lacks_feature(402 | 403)`;
- `created_at_after` / `created_at_before` (strict) on `/users`, `/users/count` and
  `/organizations/{id}/memberships`; `fake.faults.members_filtered_by_user()` for the other
  reading of the spec on memberships;
- values a client chokes on: `traps()` (see `trap_samples`), or `generate(..., trap_rate=0.05)`;
- a distant region: `fake.latency = Latency(milliseconds=250)` delays every response (concurrent
  requests side by side; `fake.stats.peak_in_flight` shows how many overlapped);
- a role renamed mid-sync: `fake.hooks = [Trigger(lambda: fake.dataset.rename_role("org:member",
  new_key="org:associate"), route="GET /organization_memberships")]`;
- the per-object write limit (429 with Retry-After): `FakeClerk(..., write_limit=WriteLimit(10,
  10.0))`, or `fake.write_limit = ...`; by default (`"auto"`) 10 writes per 10 s per membership
  whenever `rate_limit` is set, none otherwise; `WriteLimit(scope="organization")` keys it by
  organization;
- refusing to remove or demote the last member holding a permission (400
  `organization_minimum_permissions_needed`): `fake.faults.minimum_permissions_needed()`;
- a write applied whose answer is lost: `fake.faults.lost_reply("drop" | "stall", seconds=30.0,
  times=1, route="POST /organizations/{id}/memberships")`;
- writes counted per route: `fake.stats.writes` (received) and `fake.stats.applied_writes`.

Three parts, importing one way (api -> behaviour -> data) and nothing else of the connector:
`data` (records, the `Dataset` store, the sample and generated instances), `behaviour` (faults,
the rate limit, churn, edits and triggers) and `api` (the HTTP server, routes and JSON shapes).
"""

from connector.fake_clerk.api.server import DEFAULT_SECRET_KEY, FakeClerk, serve
from connector.fake_clerk.api.stats import Stats, StatsSnapshot
from connector.fake_clerk.behaviour.churn import Churn, ChurnRecord, Mutation, RequestHook, Rows
from connector.fake_clerk.behaviour.edits import CreatedAtEdits, Direction, Edit, EditRecord
from connector.fake_clerk.behaviour.fault_mix import FaultMix
from connector.fake_clerk.behaviour.faults import (
    CursorGone,
    Fault,
    FaultKind,
    Faults,
    Hit,
    LostReply,
    MalformedBody,
    Unordered,
)
from connector.fake_clerk.behaviour.latency import Latency
from connector.fake_clerk.behaviour.ratelimit import RateLimit
from connector.fake_clerk.behaviour.trigger import Trigger
from connector.fake_clerk.behaviour.write_limit import WriteLimit, WriteScope
from connector.fake_clerk.data import Dataset, awkward, demo, generate, traps

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
    "Latency",
    "LostReply",
    "MalformedBody",
    "Mutation",
    "RateLimit",
    "RequestHook",
    "Rows",
    "Stats",
    "StatsSnapshot",
    "Trigger",
    "Unordered",
    "WriteLimit",
    "WriteScope",
    "awkward",
    "demo",
    "generate",
    "serve",
    "traps",
]
