"""End-to-end plumbing: the fake Clerk over real HTTP, the connector over a real gRPC channel.

`expected_ids` derives the exact resource, entitlement and grant ids a correct sync must
return straight from the fake's dataset, without any connector code, so the e2e tests compare
the connector against an independent statement of the data model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import httpx

from connector.clerk import ClerkClient, RequestBudget
from connector.clerk.paging import MAX_PAGE_SIZE
from connector.fake_clerk import Dataset, FakeClerk
from connector.server.compose import Connector
from connector.server.process import RunningServer, build_connector, serving
from connector.settings import load_settings

TEST_KEY = "sk_test_e2e_fake_key_0001"


class VirtualTime:
    """The client's clock for tests: waits advance it at once (with a token real pause), so
    retries, backoff and Retry-After pauses cost milliseconds instead of seconds."""

    def __init__(self) -> None:
        self._offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        self._offset += max(seconds, 0.0)
        time.sleep(0.001)

    @property
    def waited(self) -> float:
        """Virtual seconds slept so far."""
        return self._offset


@dataclass
class Connected:
    fake: FakeClerk
    server: RunningServer
    channel: grpc.Channel
    client: ClerkClient
    app: Connector


@contextmanager
def connector_for(
    fake: FakeClerk,
    *,
    key: str | None = None,
    max_retries: int = 2,
    timeout: float = 2.0,
    real_time: bool = False,
    env: dict[str, str] | None = None,
    clerk_page_size: int = MAX_PAGE_SIZE,
    transport: httpx.BaseTransport | None = None,
    clock: VirtualTime | None = None,
) -> Iterator[Connected]:
    """The connector over a real gRPC channel, reading `fake` over real HTTP.

    Virtual time (`clock`, or a fresh one) unless a test needs waits to really pass (the fake's
    rate limit is real). Churn and fault tests pass a small `clerk_page_size` (so rows move
    across the client's own page boundaries) or an httpx `transport` (to emulate what the
    HTTP/1.1 fake cannot).
    """
    settings = load_settings(
        CLERK_SECRET_KEY=key or fake.secret_key, CLERK_API_URL=fake.url, **(env or {})
    )
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    if not real_time:
        virtual = clock or VirtualTime()
        now, sleep = virtual.monotonic, virtual.sleep
    client = ClerkClient(
        settings.clerk_api_url,
        settings.secret_key(),
        max_retries=max_retries,
        timeout=timeout,
        sleep=sleep,
        clock=now,
        transport=transport,
        page_size=clerk_page_size,
        budget=RequestBudget(100_000, 1.0, clock=now, sleep=sleep),
    )
    app = build_connector(settings, client)
    with (
        client,
        serving(app, "127.0.0.1:0") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        yield Connected(fake, server, channel, client, app)


@contextmanager
def running(dataset: Dataset) -> Iterator[Connected]:
    with FakeClerk(dataset, secret_key=TEST_KEY) as fake, connector_for(fake) as connected:
        yield connected


@dataclass(frozen=True)
class ExpectedIds:
    resources: set[str]
    entitlements: set[str]
    grants: set[str]
    unresolved: dict[str, int]


def expected_ids(data: Dataset, *, served: frozenset[str] | None = None) -> ExpectedIds:
    served = served or frozenset(
        {"user", "organization", "organization_role", "organization_permission"}
    )
    roles_by_key = {role.key: role for role in data.roles.values()}
    sets = {role_set.key: role_set for role_set in data.role_sets.values()}
    initial = data.settings.initial_role_set_key
    resources: set[str] = set()
    entitlements: set[str] = set()
    grants: set[str] = set()
    unresolved: dict[str, int] = {}

    if "user" in served:
        resources |= {f"user:{uid}" for uid in data.users}
    if "organization_role" in served:
        resources |= {f"organization_role:{role.id}" for role in data.roles.values()}
    if "organization_permission" in served:
        for perm in data.permissions.values():
            resources.add(f"organization_permission:{perm.id}")
            entitlement = f"organization_permission:{perm.id}:granted"
            entitlements.add(entitlement)
            if "organization_role" in served:
                for role in data.roles.values():
                    if perm.key in role.permissions:
                        grants.add(f"{entitlement}:organization_role:{role.id}")
    if "organization" in served:
        for org in data.organizations.values():
            resources.add(f"organization:{org.id}")
            entitlements.add(f"organization:{org.id}:member")
            set_key = org.role_set_key or initial
            role_set = sets.get(set_key) if set_key else None
            assignable = (
                [roles_by_key[k] for k in role_set.roles if k in roles_by_key]
                if role_set is not None
                else list(data.roles.values())
            )
            entitlements |= {f"organization:{org.id}:{role.id}" for role in assignable}
        for membership in data.memberships.values():
            org_id, user_id = membership.organization_id, membership.user_id
            held = roles_by_key.get(membership.role)
            if held is not None:
                entitlements.add(f"organization:{org_id}:{held.id}")
            else:
                unresolved[membership.role] = unresolved.get(membership.role, 0) + 1
            if "user" in served:
                grants.add(f"organization:{org_id}:member:user:{user_id}")
                if held is not None:
                    grants.add(f"organization:{org_id}:{held.id}:user:{user_id}")
    return ExpectedIds(resources, entitlements, grants, unresolved)
