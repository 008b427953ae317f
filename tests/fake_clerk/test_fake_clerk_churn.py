"""The fake's request hooks: `Churn` (rows created and deleted between requests), `FaultMix`
(seeded one-shot faults) and the `rate_limited` fault, seen from a real HTTP client."""

from __future__ import annotations

import pytest

from connector.fake_clerk import (
    Churn,
    Dataset,
    FaultKind,
    FaultMix,
    Faults,
    Mutation,
    generate,
)
from tests.fake_clerk.fake_clerk_testkit import clerk_error, get_json, running

ORGS_ONLY_DELETED = {Mutation.DELETE_ORGANIZATION: 1.0}


def dataset(seed: int = 3) -> Dataset:
    return generate(users=40, organizations=10, memberships=80, seed=seed)


def test_same_seed_same_requests_same_changes() -> None:
    records = []
    for _ in range(2):
        churn = Churn(dataset(), rate=1.5, seed=42)
        for _ in range(60):
            churn("GET /users")
        records.append(churn.stop())
    first, second = records
    assert first.applied == second.applied
    assert first.ever.users.keys() == second.ever.users.keys()
    assert first.survivors.memberships.keys() == second.survivors.memberships.keys()
    other = Churn(dataset(), rate=1.5, seed=43)
    for _ in range(60):
        other("GET /users")
    assert other.stop().survivors.memberships.keys() != first.survivors.memberships.keys()


@pytest.mark.parametrize(("rate", "low", "high"), [(0.0, 0, 0), (0.5, 150, 250), (2.0, 800, 800)])
def test_rate_is_mutations_per_request(rate: float, low: int, high: int) -> None:
    churn = Churn(dataset(), rate=rate, seed=1)
    for _ in range(400):
        churn("GET /organizations")
    assert low <= sum(churn.stop().applied.values()) <= high


def test_deletions_shift_later_offsets_and_total_count() -> None:
    with running(dataset()) as (fake, client):
        before = [org.id for org in fake.dataset.view("organizations").rows]
        fake.hooks = [Churn(fake.dataset, rate=1.0, seed=5, mix=ORGS_ONLY_DELETED)]
        pages = [
            get_json(client, "/organizations", limit=3, offset=3, order_by="+created_at")
            for _ in range(2)
        ]
        fake.hooks = []
        after = [org.id for org in fake.dataset.view("organizations").rows]
    # Each request deleted one organization before it was answered: the rows really went,
    # and what is at offset 3 is read from what is left.
    assert [page["total_count"] for page in pages] == [9, 8]
    assert len(after) == 8
    assert set(after) < set(before)
    assert [row["id"] for row in pages[1]["data"]] == after[3:6]


def test_a_change_lands_before_the_request_reads() -> None:
    with running(dataset()) as (fake, client):
        fake.hooks = [Churn(fake.dataset, rate=1.0, seed=5, mix={Mutation.CREATE_USER: 1.0})]
        assert get_json(client, "/users/count")["total_count"] == 41
        assert get_json(client, "/users/count")["total_count"] == 42
        fake.hooks = []
        assert get_json(client, "/users/count")["total_count"] == 42


def test_deleting_users_and_organizations_deletes_their_memberships() -> None:
    data = dataset()
    churn = Churn(
        data,
        rate=3.0,
        seed=8,
        mix={Mutation.DELETE_USER: 1.0, Mutation.DELETE_ORGANIZATION: 1.0},
    )
    for _ in range(5):
        churn("GET /users")
    record = churn.stop()
    assert record.applied[Mutation.DELETE_USER] + record.applied[Mutation.DELETE_ORGANIZATION] == 15
    assert all(
        m.user_id in data.users and m.organization_id in data.organizations
        for m in data.memberships.values()
    )
    # Survivors are exactly what is left of the original rows; they form a consistent dataset.
    assert record.survivors.memberships.keys() == data.memberships.keys()
    assert record.survivors.users.keys() == data.users.keys()
    rebuilt = record.survivor_dataset(data)
    assert rebuilt.memberships.keys() == data.memberships.keys()


def test_created_rows_are_newest_and_recorded() -> None:
    data = dataset()
    newest = max(
        max(user.created_at for user in data.users.values()),
        max(membership.created_at for membership in data.memberships.values()),
    )
    churn = Churn(
        data,
        rate=2.0,
        seed=9,
        mix={
            Mutation.CREATE_USER: 1.0,
            Mutation.CREATE_ORGANIZATION: 1.0,
            Mutation.CREATE_MEMBERSHIP: 1.0,
        },
    )
    for _ in range(30):
        churn("GET /users")
    record = churn.stop()
    created_users = record.ever.users.keys() - record.survivors.users.keys()
    created_memberships = record.ever.memberships.keys() - record.survivors.memberships.keys()
    assert created_users
    assert created_memberships
    assert all(data.users[uid].created_at > newest for uid in created_users)
    for membership_id in created_memberships:
        membership = data.memberships[membership_id]
        assert membership.created_at > newest
        role_set = data.role_set_of(data.organizations[membership.organization_id])
        assert role_set is not None
        assert membership.role in role_set.roles  # a role the organization may assign


def test_same_instant_creations_share_the_newest_millisecond() -> None:
    data = dataset()
    churn = Churn(data, rate=1.0, seed=2, mix={Mutation.CREATE_USER: 1.0}, same_instant=1.0)
    latest = data.next_created_at() - 1000
    before = set(data.users)
    churn("GET /users")
    (created,) = set(data.users) - before
    assert data.users[created].created_at == latest
    assert created in churn.stop().ever.users


def test_stop_ends_the_changes() -> None:
    data = dataset()
    churn = Churn(data, rate=1.0, seed=4)
    churn("GET /users")
    record = churn.stop()
    before = (len(data.users), len(data.organizations), len(data.memberships))
    for _ in range(10):
        churn("GET /users")
    assert (len(data.users), len(data.organizations), len(data.memberships)) == before
    assert churn.record.applied == record.applied


@pytest.mark.parametrize(
    "options",
    [
        {"rate": -1.0},
        {"rate": 1.0, "mix": {Mutation.CREATE_USER: 0.0}},
        {"rate": 1.0, "same_instant": 2.0},
    ],
)
def test_churn_rejects_bad_settings(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"rate|mix|same_instant"):
        Churn(dataset(), **options)  # type: ignore[arg-type]


def test_a_failing_hook_is_recorded_and_the_request_served() -> None:
    def broken(route: str) -> None:
        raise RuntimeError(f"bug in a test hook for {route}")

    with running(dataset()) as (fake, client):
        fake.hooks = [broken]
        assert client.get("/users/count").status_code == 200
    assert fake.stats.exceptions == (
        "hook before GET /users/count: RuntimeError: bug in a test hook for GET /users/count",
    )


# -- the rate_limited fault and FaultMix --------------------------------------------------------


def test_rate_limited_fault_answers_429_with_its_retry_after() -> None:
    with running(dataset()) as (fake, client):
        fault = fake.faults.rate_limited(retry_after=17, times=2, path="/users")
        answers = [client.get("/users") for _ in range(3)]
        other = client.get("/organizations")
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "17"
    assert clerk_error(answers[0])["code"] == "too_many_requests"
    assert other.status_code == 200
    assert fault.hits == 2
    assert fake.stats.rate_limited == 2


def test_fault_mix_injects_one_shot_faults_deterministically() -> None:
    routes = ["GET /users", "GET /organizations", "GET /organization_memberships"] * 40
    injected = []
    for _ in range(2):
        mix = FaultMix(Faults(), rate=0.3, seed=7)
        for route in routes:
            mix(route)
        injected.append(mix.injected)
    assert injected[0] == injected[1]
    assert 15 <= len(injected[0]) <= 60
    assert {fault.split()[0] for _, fault in injected[0]} >= {"server_error", "drop_connection"}


def test_fault_mix_faults_hit_the_request_that_drew_them() -> None:
    with running(dataset()) as (fake, client):
        mix = FaultMix(fake.faults, rate=1.0, seed=1, mix={FaultKind.SERVER_ERROR: 1.0})
        fake.hooks = [mix]
        statuses = [client.get("/users/count").status_code for _ in range(4)]
        fake.hooks = []
        assert client.get("/users/count").status_code == 200
    assert all(status >= 500 for status in statuses)
    assert not fake.faults.active  # each one-shot fault was spent by its own request


def test_fault_mix_refuses_paging_faults() -> None:
    with pytest.raises(ValueError, match="paging"):
        FaultMix(Faults(), rate=0.5, mix={FaultKind.STALE_PAGES: 1.0})
