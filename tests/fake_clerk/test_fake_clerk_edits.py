"""`CreatedAtEdits`: users' and organizations' created_at moved between requests, seeded, with a
record of what existed throughout; seen over real HTTP."""

from __future__ import annotations

import pytest

from connector.fake_clerk import Churn, CreatedAtEdits, Direction, generate
from connector.fake_clerk.data import Dataset, EmailAddressRecord, UserRecord
from tests.fake_clerk.fake_clerk_testkit import get_json, running, walk_offset


def dataset(seed: int = 5) -> Dataset:
    return generate(users=120, organizations=30, memberships=200, seed=seed)


def _edits(seed: int, requests: int = 40, **options: object) -> list[tuple[str, int, int]]:
    edits = CreatedAtEdits(dataset(), rate=1.5, seed=seed, **options)  # type: ignore[arg-type]
    for _ in range(requests):
        edits("GET /users")
    return [(e.id, e.old, e.new) for e in edits.stop().edits]


def test_same_seed_same_requests_same_edits() -> None:
    assert _edits(1) == _edits(1)
    assert _edits(1) != _edits(2)


@pytest.mark.parametrize(("rate", "low", "high"), [(0.0, 0, 0), (2.0, 100, 100), (0.5, 10, 40)])
def test_rate_is_edits_per_request(rate: float, low: int, high: int) -> None:
    edits = CreatedAtEdits(dataset(), rate=rate, seed=3)
    for _ in range(50):
        edits("GET /organizations")
    assert low <= len(edits.stop().edits) <= high


def test_edits_move_rows_in_what_the_server_lists() -> None:
    data = dataset()
    updated_before = {u.id: u.updated_at or u.created_at for u in data.users.values()}
    updated_before.update({o.id: o.updated_at or o.created_at for o in data.organizations.values()})
    with running(data) as (fake, client):
        edits = CreatedAtEdits(data, rate=1.0, seed=4)
        fake.hooks = [edits]
        for _ in range(30):
            client.get("/users/count")
        record = edits.stop()
        assert {e.collection for e in record.edits} == {"users", "organizations"}
        last: dict[str, int] = {}
        for edit in record.edits:
            last[edit.id] = edit.new
        users = {u["id"]: u for u in get_json(client, "/users", limit=500, order_by="+created_at")}
        orgs = {
            o["id"]: o
            for o in get_json(client, "/organizations", limit=500, order_by="+created_at")["data"]
        }
        for row_id, created_at in last.items():
            row = users.get(row_id) or orgs[row_id]
            assert row["created_at"] == created_at
            assert row["updated_at"] > updated_before[row_id]  # an update sets updated_at
        stamps = [u["created_at"] for u in users.values()]
        assert stamps == sorted(stamps)  # the listing follows the new values
        # A membership embeds its organization as it is now.
        org_id = next(i for i in last if i in orgs)
        member = get_json(client, f"/organizations/{org_id}/memberships", limit=1)["data"]
        if member:
            assert member[0]["organization"]["created_at"] == last[org_id]
        assert sum(record.edited.values()) == len(record.edits) == 30


@pytest.mark.parametrize("direction", [Direction.BACKWARD, Direction.FORWARD])
def test_direction_limits_the_moves(direction: Direction) -> None:
    edits = CreatedAtEdits(dataset(), rate=2.0, seed=6, direction=direction)
    for _ in range(40):
        edits("GET /users")
    moves = edits.stop().edits
    assert len(moves) == 80
    if direction is Direction.BACKWARD:
        assert all(e.new < e.old for e in moves)
    else:
        assert all(e.new > e.old for e in moves)


def test_mix_picks_what_is_edited() -> None:
    edits = CreatedAtEdits(dataset(), rate=1.0, seed=7, mix={"organizations": 1.0})
    for _ in range(20):
        edits("GET /users")
    assert {e.collection for e in edits.stop().edits} == {"organizations"}
    with pytest.raises(ValueError, match="users and organizations"):
        CreatedAtEdits(dataset(), rate=1.0, mix={"memberships": 1.0})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="rate"):
        CreatedAtEdits(dataset(), rate=-1.0)
    with pytest.raises(ValueError, match="Direction"):
        CreatedAtEdits(dataset(), rate=1.0, direction="sideways")


def test_backward_edits_during_an_offset_walk_lose_rows_the_record_names() -> None:
    data = dataset()
    with running(data) as (fake, client):
        edits = CreatedAtEdits(data, rate=1.0, seed=8, mix={"users": 1.0}, direction="backward")
        fake.hooks = [edits]
        rows, _ = walk_offset(client, "/users", limit=10, order_by="+created_at")
        record = edits.stop()
    expected = set(record.survivors.users)
    assert expected == set(data.users)  # edits alone delete nothing: all existed throughout
    assert set(record.edited) <= expected
    seen = {row["id"] for row in rows}
    assert expected - seen  # a row edited into pages already read was never served


def test_survivors_under_churn_existed_throughout() -> None:
    data = dataset()
    initial = set(data.users)
    with running(data) as (fake, client):
        churn = Churn(data, rate=1.0, seed=9)
        edits = CreatedAtEdits(data, rate=1.0, seed=9)
        fake.hooks = [churn, edits]
        for _ in range(40):
            client.get("/users/count")
        churned, record = churn.stop(), edits.stop()
        listed = {u["id"] for u in get_json(client, "/users", limit=500)}
    assert set(record.survivors.users) == set(churned.survivors.users)
    assert set(record.survivors.users) == initial & listed
    assert set(record.survivors.organizations) == set(churned.survivors.organizations)


def test_rows_outside_the_protobuf_range_are_left_alone() -> None:
    email = EmailAddressRecord("idn_far", "far@example.com")
    far = UserRecord(
        "user_far", 2**63 - 1, email_addresses=(email,), primary_email_address_id=email.id
    )
    near = UserRecord("user_near", 1_700_000_000_000)
    data = Dataset(users=[far, near])
    edits = CreatedAtEdits(data, rate=3.0, seed=1, mix={"users": 1.0})
    for _ in range(10):
        edits("GET /users")
    record = edits.stop()
    assert set(record.edited) == {"user_near"}
    assert data.users["user_far"].created_at == 2**63 - 1
    assert all(-62_135_596_800_000 <= e.new <= 253_402_300_799_999 for e in record.edits)
