"""The c1z file of a real sync, read back the way another tool would: the standard library's
sqlite3, a zstd library and the project's protobuf classes; nothing of the writer's code."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from google.protobuf.message import Message

from connector.fake_clerk import FakeClerk, awkward, demo
from connector.pb.c1.connector.v2 import (
    annotation_trait_pb2,
    entitlement_pb2,
    grant_pb2,
    resource_pb2,
)
from connector.platform.syncer import SyncResult
from connector.platform.syncfile import load_sync_file
from tests.e2e.harness import expected_ids
from tests.e2e.syncs import STARTED, TEST_KEY, sync_fake, sync_of, write

# The readers' columns, from the c1z v1 layout (shared docs), per table.
COLUMNS = {
    "v1_resource_types": ["id", "external_id", "data", "sync_id", "discovered_at"],
    "v1_resources": [
        "id", "resource_type_id", "external_id", "parent_resource_type_id",
        "parent_resource_id", "data", "sync_id", "discovered_at",
    ],
    "v1_entitlements": [
        "id", "resource_type_id", "resource_id", "external_id", "data", "sync_id", "discovered_at",
    ],
    "v1_grants": [
        "id", "resource_type_id", "resource_id", "entitlement_id", "principal_resource_type_id",
        "principal_resource_id", "external_id", "expansion", "needs_expansion", "data",
        "sync_id", "discovered_at",
    ],
    "v1_sync_runs": [
        "id", "sync_id", "started_at", "ended_at", "sync_token", "sync_type", "parent_sync_id",
        "linked_sync_id", "supports_diff", "grants_backfilled", "stats",
        "ingest_invariant_generation", "ingest_invariant_coverage", "ingest_invariant_mode",
    ],
    "v1_assets": ["id", "external_id", "content_type", "data", "sync_id", "discovered_at"],
}  # fmt: skip


@pytest.fixture(scope="module")
def awkward_sync() -> SyncResult:
    return sync_of(awkward())


@pytest.fixture
def opened(tmp_path: Path, awkward_sync: SyncResult) -> Iterator[sqlite3.Connection]:
    with _open(write(tmp_path / "awkward.c1z", awkward_sync), tmp_path) as con:
        yield con


class _open:
    """The database inside a c1z file, decompressed with zstandard alone."""

    def __init__(self, path: Path, tmp: Path) -> None:
        raw = path.read_bytes()
        assert raw[:5] == b"C1ZF\x00"
        database = tmp / f"{path.name}.sqlite"
        database.write_bytes(zstandard.ZstdDecompressor().stream_reader(raw[5:]).read())
        self.con = sqlite3.connect(database)

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, *_: object) -> None:
        self.con.close()


def _decoded(con: sqlite3.Connection, table: str, kind: type[Message]) -> list[Message]:
    found = []
    for (data,) in con.execute(f"select data from {table} order by id"):  # noqa: S608
        message = kind()
        message.ParseFromString(data)
        found.append(message)
    return found


def test_every_blob_decodes_to_exactly_what_the_sync_received(
    opened: sqlite3.Connection, awkward_sync: SyncResult
) -> None:
    assert _decoded(opened, "v1_resource_types", resource_pb2.ResourceType) == list(
        awkward_sync.resource_types
    )
    assert _decoded(opened, "v1_resources", resource_pb2.Resource) == list(awkward_sync.resources)
    assert _decoded(opened, "v1_entitlements", entitlement_pb2.Entitlement) == list(
        awkward_sync.entitlements
    )
    assert _decoded(opened, "v1_grants", grant_pb2.Grant) == list(awkward_sync.grants)
    # ... and the same ids a correct sync of the fake's data must have.
    expected = expected_ids(awkward())
    rows = dict(opened.execute("select 'r', count(*) from v1_resources").fetchall())
    assert rows["r"] == len(expected.resources)
    assert {e for (e,) in opened.execute("select external_id from v1_resources")} == (
        expected.resources
    )
    assert {e for (e,) in opened.execute("select external_id from v1_entitlements")} == (
        expected.entitlements
    )
    assert {e for (e,) in opened.execute("select external_id from v1_grants")} == expected.grants


def test_tables_and_columns_are_the_readers_layout(opened: sqlite3.Connection) -> None:
    for table, columns in COLUMNS.items():
        assert [row[1] for row in opened.execute(f"pragma table_info({table})")] == columns
    indexed = {
        tuple(row[2] for row in opened.execute(f"pragma index_info('{name}')"))
        for (name,) in opened.execute("select name from sqlite_master where type = 'index'")
    }
    assert ("resource_type_id",) in indexed
    assert ("principal_resource_type_id", "principal_resource_id") in indexed
    assert ("entitlement_id", "sync_id", "id") in indexed
    assert ("external_id", "sync_id") in indexed


def test_columns_beside_the_blobs_say_the_same_as_the_blobs(opened: sqlite3.Connection) -> None:
    for row in opened.execute(
        "select resource_type_id, resource_id, entitlement_id, principal_resource_type_id, "
        "principal_resource_id, external_id, expansion, needs_expansion, data from v1_grants"
    ):
        item = grant_pb2.Grant()
        item.ParseFromString(row[8])
        owner, who = item.entitlement.resource.id, item.principal.id
        assert row[:6] == (
            owner.resource_type, owner.resource, item.entitlement.id, who.resource_type,
            who.resource, item.id,
        )  # fmt: skip
        assert row[6:8] == (None, 0)
    for type_id, external_id, data in opened.execute(
        "select resource_type_id, external_id, data from v1_resources"
    ):
        res = resource_pb2.Resource()
        res.ParseFromString(data)
        assert (type_id, external_id) == (
            res.id.resource_type,
            f"{res.id.resource_type}:{res.id.resource}",
        )
    # Users carry what reviewers read (status, MFA) inside the decoded UserTrait.
    banned = resource_pb2.Resource()
    banned.ParseFromString(
        opened.execute(
            "select data from v1_resources where external_id = 'user:user_awk_banned'"
        ).fetchone()[0]
    )
    (packed,) = banned.annotations
    trait = annotation_trait_pb2.UserTrait()
    assert packed.Unpack(trait)
    assert trait.status.details == "banned"


def test_one_finished_full_sync_with_the_readers_time_format(
    opened: sqlite3.Connection, awkward_sync: SyncResult
) -> None:
    runs = opened.execute(
        "select sync_id, started_at, ended_at, sync_token, sync_type, stats from v1_sync_runs"
    ).fetchall()
    assert len(runs) == 1
    sync_id, started, ended, token, kind, stats = runs[0]
    assert sync_id == awkward_sync.sync_id
    assert (started, ended, token, kind) == (
        "2024-05-31 12:00:00.25",
        "2024-05-31 12:00:03.25",
        "",
        "full",
    )
    assert json.loads(stats)["grants"] == len(awkward_sync.grants)
    synced = {
        table: {sid for (sid,) in opened.execute(f"select distinct sync_id from {table}")}  # noqa: S608
        for table in COLUMNS
    }
    assert all(ids == {sync_id} for ids in synced.values())
    (asset,) = opened.execute("select external_id, content_type, data from v1_assets").fetchall()
    assert asset[:2] == ("clerk-connector/sync-report.json", "application/json")
    listings = json.loads(asset[2])["report"]["listings"]
    assert _by_route(listings) == _by_route(awkward_sync.listings())


def test_a_file_written_twice_differs_only_in_sync_ids_and_times(tmp_path: Path) -> None:
    with FakeClerk(demo(), secret_key=TEST_KEY) as fake:
        first = write(tmp_path / "a.c1z", sync_fake(fake))
        second = write(tmp_path / "b.c1z", sync_fake(fake), started=STARTED.replace(hour=18))
    volatile = {"id", "sync_id", "discovered_at", "started_at", "ended_at"}
    with _open(first, tmp_path) as a, _open(second, tmp_path) as b:
        for table, columns in COLUMNS.items():
            kept = ", ".join(c for c in columns if c not in volatile)
            query = f"select {kept} from {table} order by id"  # noqa: S608
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
        ids = "select sync_id from v1_sync_runs"
        assert a.execute(ids).fetchall() != b.execute(ids).fetchall()


def test_the_reader_takes_the_latest_finished_full_sync(tmp_path: Path) -> None:
    """A file holding several syncs (as upstream writers may leave it)."""
    with FakeClerk(demo(), secret_key=TEST_KEY) as fake:
        older = write(tmp_path / "old.c1z", sync_fake(fake))
        fake.dataset.remove_user("user_demo_alan")
        newer = write(tmp_path / "new.c1z", sync_fake(fake), started=STARTED.replace(hour=13))
    with _open(older, tmp_path) as merged, _open(newer, tmp_path) as late:
        tables = [t for t in COLUMNS if t != "v1_sync_runs"]
        for table in tables:
            cols = ", ".join(c for c in COLUMNS[table] if c != "id")
            merged.executemany(
                f"insert into {table} ({cols}) values ({', '.join('?' * (cols.count(',') + 1))})",  # noqa: S608
                late.execute(f"select {cols} from {table}").fetchall(),  # noqa: S608
            )
        run_cols = "sync_id, started_at, ended_at, sync_token, sync_type"
        (newest,) = late.execute(f"select {run_cols} from v1_sync_runs").fetchall()  # noqa: S608
        merged.execute(f"insert into v1_sync_runs ({run_cols}) values (?, ?, ?, ?, ?)", newest)  # noqa: S608
        # A later sync that never finished, and a later partial one: neither is the answer.
        merged.execute(
            "insert into v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type) "
            "values ('unfinished', '2024-06-01 00:00:00', null, 'tok', 'full'), "
            "('partial', '2024-06-01 00:00:00', '2024-06-01 00:00:01', '', 'partial')"
        )
        merged.commit()
        database = Path(merged.execute("pragma database_list").fetchone()[2])
    packed = tmp_path / "merged.c1z"
    packed.write_bytes(b"C1ZF\x00" + zstandard.ZstdCompressor().compress(database.read_bytes()))
    loaded = load_sync_file(packed)
    assert loaded.result.sync_id == newest[0]
    assert "user:user_demo_alan" not in {
        f"{r.id.resource_type}:{r.id.resource}" for r in loaded.result.resources
    }
    assert loaded.ended_at is not None
    assert loaded.ended_at.hour == 13


@pytest.mark.parametrize("suffix", [".c1z", ".json"])
def test_both_formats_load_back_into_the_same_sync(
    tmp_path: Path, awkward_sync: SyncResult, suffix: str
) -> None:
    loaded = load_sync_file(write(tmp_path / f"sync{suffix}", awkward_sync))
    result = loaded.result
    assert loaded.started_at == STARTED
    assert result.sync_id == awkward_sync.sync_id
    got, sent = result.to_json(), awkward_sync.to_json()
    assert _by_route(got.pop("completeness")) == _by_route(sent.pop("completeness"))
    assert got == sent


def _by_route(listings: list[dict[str, object]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in listings)
