"""The c1z v1 sync file: `C1ZF\\x00`, then a zstd stream of one SQLite database.

The layout is the one baton's readers (the baton CLI, the platform's uploader) understand; see
docs in shared/c1z-format.md. Each `data` column holds the protobuf wire encoding of the
c1.connector.v2 message. What the connector reported beside the sync (completeness evidence,
events, skipped calls) travels as one JSON asset, which other readers ignore.

Writing is deterministic: the same data gives the same database rows in the same order, so two
files of the same instance differ only in sync ids and times.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import zstandard
from google.protobuf.message import DecodeError, Message

from connector.c1.protocol import (
    entitlement_pb,
    grant_annotations,
    grant_pb,
    resource_pb,
    unpack_all,
)
from connector.platform.errors import SyncFileError
from connector.platform.files import atomic_binary
from connector.platform.syncer import SyncResult

MAGIC = b"C1ZF\x00"
MAGIC_V3 = b"C1Z3\x00"  # the newer Pebble-based format; the baton CLI reads only v1
REPORT_ASSET = "clerk-connector/sync-report.json"
REPORT_FORMAT_VERSION = 1
ZSTD_LEVEL = 3
_CHUNK = 1 << 20

# Exactly the v1 layout readers expect; index names are ours (readers never name them).
SCHEMA = (
    """create table v1_resource_types (id integer primary key, external_id text not null,
        data blob not null, sync_id text not null, discovered_at datetime not null,
        unique (external_id, sync_id))""",
    """create table v1_resources (id integer primary key, resource_type_id text not null,
        external_id text not null, parent_resource_type_id text, parent_resource_id text,
        data blob not null, sync_id text not null, discovered_at datetime not null,
        unique (external_id, sync_id))""",
    """create table v1_entitlements (id integer primary key, resource_type_id text not null,
        resource_id text not null, external_id text not null, data blob not null,
        sync_id text not null, discovered_at datetime not null, unique (external_id, sync_id))""",
    """create table v1_grants (id integer primary key, resource_type_id text not null,
        resource_id text not null, entitlement_id text not null,
        principal_resource_type_id text not null, principal_resource_id text not null,
        external_id text not null, expansion blob, needs_expansion integer not null default 0,
        data blob not null, sync_id text not null, discovered_at datetime not null,
        unique (external_id, sync_id))""",
    """create table v1_sync_runs (id integer primary key, sync_id text not null,
        started_at datetime not null, ended_at datetime, sync_token text not null,
        sync_type text not null default 'full', parent_sync_id text not null default '',
        linked_sync_id text not null default '', supports_diff integer not null default 0,
        grants_backfilled integer not null default 0, stats text,
        ingest_invariant_generation text not null default '',
        ingest_invariant_coverage text not null default '',
        ingest_invariant_mode text not null default '', unique (sync_id))""",
    """create table v1_assets (id integer primary key, external_id text not null,
        content_type text not null, data blob not null, sync_id text not null,
        discovered_at datetime not null, unique (external_id, sync_id))""",
)
INDEXES = (
    "create index v1_resources_type on v1_resources (resource_type_id)",
    "create index v1_resources_parent on v1_resources "
    "(parent_resource_type_id, parent_resource_id)",
    "create index v1_entitlements_resource on v1_entitlements (resource_type_id, resource_id)",
    "create index v1_grants_resource on v1_grants (resource_type_id, resource_id)",
    "create index v1_grants_principal on v1_grants "
    "(principal_resource_type_id, principal_resource_id)",
    "create index v1_grants_entitlement_principal on v1_grants "
    "(entitlement_id, principal_resource_type_id, principal_resource_id)",
    "create index v1_grants_entitlement_sync on v1_grants (entitlement_id, sync_id, id)",
)
TABLES = ("v1_resource_types", "v1_resources", "v1_entitlements", "v1_grants", "v1_sync_runs")

M = TypeVar("M", bound=Message)


@dataclass
class C1zSync:
    """The latest finished full sync of a c1z file."""

    result: SyncResult
    started_at: datetime | None
    ended_at: datetime | None


def format_time(moment: datetime) -> str:
    """The readers' datetime text, `2006-01-02 15:04:05.999999999` in UTC (no trailing zeros)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}" if fraction else text


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    base, _, fraction = text.partition(".")
    moment = datetime.strptime(base, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    digits = (fraction + "000000")[:6] if fraction else "0"
    return moment.replace(microsecond=int(digits))


# -- writing -----------------------------------------------------------------------------------


def write_c1z(path: Path, result: SyncResult, *, started_at: datetime, ended_at: datetime) -> None:
    """Write `result` as one finished full sync; `path` appears only once it is complete."""
    with tempfile.TemporaryDirectory(prefix="clerk-connector-c1z-") as tmp:
        database = Path(tmp) / "sync.db"
        try:
            _write_database(database, result, started_at, ended_at)
        except sqlite3.IntegrityError as exc:
            raise SyncFileError(path, f"cannot write the sync: {exc}") from None
        size = database.stat().st_size
        with atomic_binary(path) as out, database.open("rb") as db:
            out.write(MAGIC)
            zstandard.ZstdCompressor(level=ZSTD_LEVEL).copy_stream(db, out, size=size)


def _write_database(
    database: Path, result: SyncResult, started_at: datetime, ended_at: datetime
) -> None:
    sync_id = result.sync_id or f"sync-{uuid.uuid4()}"
    found = format_time(started_at)
    con = sqlite3.connect(database, isolation_level=None)
    try:
        # A scratch file written once: no journal, no syncs, and a page cache that holds the
        # unique indexes of a large instance (the default 2 MB makes each insert a disk read).
        con.execute("pragma journal_mode = off")
        con.execute("pragma synchronous = off")
        con.execute("pragma cache_size = -262144")
        con.execute("begin")
        for statement in SCHEMA:
            con.execute(statement)
        con.executemany(
            "insert into v1_resource_types (external_id, data, sync_id, discovered_at) "
            "values (?, ?, ?, ?)",
            ((rt.id, rt.SerializeToString(), sync_id, found) for rt in result.resource_types),
        )
        con.executemany(
            "insert into v1_resources (resource_type_id, external_id, parent_resource_type_id, "
            "parent_resource_id, data, sync_id, discovered_at) values (?, ?, ?, ?, ?, ?, ?)",
            _resource_rows(result.resources, sync_id, found),
        )
        con.executemany(
            "insert into v1_entitlements (resource_type_id, resource_id, external_id, data, "
            "sync_id, discovered_at) values (?, ?, ?, ?, ?, ?)",
            (
                (
                    ent.resource.id.resource_type,
                    ent.resource.id.resource,
                    ent.id,
                    ent.SerializeToString(),
                    sync_id,
                    found,
                )
                for ent in result.entitlements
            ),
        )
        con.executemany(
            "insert into v1_grants (resource_type_id, resource_id, entitlement_id, "
            "principal_resource_type_id, principal_resource_id, external_id, expansion, "
            "needs_expansion, data, sync_id, discovered_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _grant_rows(result.grants, sync_id, found),
        )
        for statement in INDEXES:
            con.execute(statement)
        con.execute(
            "insert into v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type, "
            "stats) values (?, ?, ?, '', 'full', ?)",
            (sync_id, found, format_time(ended_at), json.dumps(_stats(result), sort_keys=True)),
        )
        con.execute(
            "insert into v1_assets (external_id, content_type, data, sync_id, discovered_at) "
            "values (?, 'application/json', ?, ?, ?)",
            (REPORT_ASSET, _report_asset(result), sync_id, found),
        )
        con.execute("commit")
    finally:
        con.close()


def _resource_rows(
    resources: Iterable[resource_pb.Resource], sync_id: str, found: str
) -> Iterator[tuple[Any, ...]]:
    for res in resources:
        parent = res.parent_resource_id if res.HasField("parent_resource_id") else None
        yield (
            res.id.resource_type,
            f"{res.id.resource_type}:{res.id.resource}",
            parent.resource_type if parent is not None else None,
            parent.resource if parent is not None else None,
            res.SerializeToString(),
            sync_id,
            found,
        )


def _grant_rows(
    grants: Iterable[grant_pb.Grant], sync_id: str, found: str
) -> Iterator[tuple[Any, ...]]:
    expandable = grant_annotations.GrantExpandable.DESCRIPTOR.full_name
    for item in grants:
        expansion = None
        if any(a.TypeName() == expandable for a in item.annotations):
            (found_expansion,) = unpack_all(item.annotations, grant_annotations.GrantExpandable)
            expansion = found_expansion.SerializeToString()
        owner = item.entitlement.resource.id
        yield (
            owner.resource_type,
            owner.resource,
            item.entitlement.id,
            item.principal.id.resource_type,
            item.principal.id.resource,
            item.id,
            expansion,
            1 if expansion is not None else 0,
            item.SerializeToString(),
            sync_id,
            found,
        )


def _stats(result: SyncResult) -> dict[str, int]:
    """Object counts by kind, for a reader that shows the column."""
    counts: Counter[str] = Counter()
    counts["resource_types"] = len(result.resource_types)
    counts["resources"] = len(result.resources)
    counts["entitlements"] = len(result.entitlements)
    counts["grants"] = len(result.grants)
    return dict(counts)


def _report_asset(result: SyncResult) -> bytes:
    # Listings end in whatever order the connector's concurrent reads finish: sorted, so the
    # same data gives the same file.
    listings = sorted(result.listings(), key=lambda item: json.dumps(item, sort_keys=True))
    document = {
        "format_version": REPORT_FORMAT_VERSION,
        "sdk_version": result.sdk_version,
        "skipped": result.skipped,
        "calls": dict(result.calls),
        "report": {**result.report, "listings": listings},
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")


# -- reading -----------------------------------------------------------------------------------


def read_c1z(path: Path) -> C1zSync:
    """The latest finished full sync in a c1z v1 file, or SyncFileError naming the problem."""
    with tempfile.TemporaryDirectory(prefix="clerk-connector-c1z-") as tmp:
        database = Path(tmp) / "sync.db"
        try:
            _decompress(path, database)
        except OSError as exc:  # reading the file, or unpacking it to a temporary one
            raise SyncFileError(path, f"cannot unpack it ({exc.strerror or exc})") from None
        try:
            con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise SyncFileError(path, f"cannot open the database: {exc}") from None
        try:
            return _read_database(path, con)
        except sqlite3.DatabaseError as exc:
            raise SyncFileError(
                path, f"the zstd stream holds no readable SQLite database ({exc})"
            ) from None
        finally:
            con.close()


def _decompress(path: Path, database: Path) -> None:
    with path.open("rb") as source:
        magic = source.read(len(MAGIC))
        if magic == MAGIC_V3:
            raise SyncFileError(path, "a c1z v3 file (a newer format than this reader's c1z v1)")
        if magic != MAGIC:
            raise SyncFileError(path, "not a c1z file (no C1ZF header)")
        with database.open("wb") as out:
            decompressor = zstandard.ZstdDecompressor().decompressobj()
            in_frame = False  # the current decompressor holds part of a frame
            frames = 0
            pending = b""
            try:
                while chunk := pending or source.read(_CHUNK):
                    in_frame = True
                    out.write(decompressor.decompress(chunk))
                    pending = b""
                    if decompressor.eof:  # concatenated frames are one valid stream
                        frames += 1
                        pending = decompressor.unused_data
                        decompressor = zstandard.ZstdDecompressor().decompressobj()
                        in_frame = False
            except zstandard.ZstdError as exc:
                raise SyncFileError(path, f"the zstd stream is corrupt ({exc})") from None
    if frames == 0 or in_frame:
        raise SyncFileError(path, "truncated: the zstd stream stops before its end")


def _read_database(path: Path, con: sqlite3.Connection) -> C1zSync:
    tables = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
    missing = [name for name in TABLES if name not in tables]
    if missing:
        newer = sorted(
            int(match.group(1))
            for name in tables
            if (match := re.match(r"v(\d+)_", name)) and int(match.group(1)) > 1
        )
        if newer:
            raise SyncFileError(
                path, f"a newer c1z schema (v{newer[-1]} tables) than this reader's v1"
            )
        raise SyncFileError(path, f"not a c1z sync database (no table {missing[0]})")
    run = con.execute(
        "select sync_id, started_at, ended_at from v1_sync_runs "
        "where ended_at is not null and sync_type = 'full' order by ended_at desc, id desc limit 1"
    ).fetchone()
    if run is None:
        raise SyncFileError(path, "holds no finished full sync")
    sync_id, started, ended = run
    result = SyncResult(sync_id=sync_id)

    def rows(table: str, kind: type[M]) -> list[M]:
        found: list[M] = []
        query = f"select id, data from {table} where sync_id = ? order by id"  # noqa: S608
        for row_id, data in con.execute(query, (sync_id,)):
            message = kind()
            try:
                message.ParseFromString(data)
            except (DecodeError, TypeError):
                raise SyncFileError(
                    path, f"row {row_id} of {table} is not a {kind.DESCRIPTOR.name}"
                ) from None
            found.append(message)
        return found

    result.resource_types = rows("v1_resource_types", resource_pb.ResourceType)
    result.resources = rows("v1_resources", resource_pb.Resource)
    result.entitlements = rows("v1_entitlements", entitlement_pb.Entitlement)
    result.grants = rows("v1_grants", grant_pb.Grant)
    if "v1_assets" in tables:
        asset = con.execute(
            "select data from v1_assets where sync_id = ? and external_id = ?",
            (sync_id, REPORT_ASSET),
        ).fetchone()
        if asset is not None:
            _apply_report_asset(path, result, asset[0])
    try:
        return C1zSync(result, parse_time(started), parse_time(ended))
    except ValueError:
        raise SyncFileError(path, f"sync {sync_id} has unreadable times") from None


def _apply_report_asset(path: Path, result: SyncResult, data: bytes) -> None:
    try:
        document = json.loads(data)
    except ValueError:
        raise SyncFileError(path, f"the {REPORT_ASSET} asset is not JSON") from None
    version = document.get("format_version") if isinstance(document, dict) else None
    if not isinstance(version, int):
        raise SyncFileError(path, f"the {REPORT_ASSET} asset has no format_version")
    if version > REPORT_FORMAT_VERSION:
        raise SyncFileError(
            path,
            f"written by a newer clerk-connector (sync report format {version}; "
            f"this one reads {REPORT_FORMAT_VERSION})",
        )
    result.sdk_version = str(document.get("sdk_version", ""))
    result.skipped = [str(item) for item in document.get("skipped", [])]
    result.calls = Counter({str(k): int(v) for k, v in document.get("calls", {}).items()})
    report = document.get("report", {})
    result.report = report if isinstance(report, dict) else {}
