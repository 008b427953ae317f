"""Sync files as reviewers and tools pass them around: c1z v1 or JSON, written and read back.

`write_sync_file` writes what a sync received; `load_sync_file` reads either format back into
a `SyncResult` (what the report and the diff work from). JSON is `SyncResult.to_json` plus a
header (`format`, `format_version`, the sync's start and end), so a file the older `sync`
command wrote (no header) still loads. Every problem with a file is a `SyncFileError`: one
line naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from google.protobuf.json_format import ParseDict, ParseError
from google.protobuf.message import Message

from connector.c1.protocol import entitlement_pb, grant_pb, resource_pb
from connector.platform import c1z
from connector.platform.errors import SyncFileError
from connector.platform.files import atomic_text
from connector.platform.syncer import SyncResult

JSON_FORMAT = "clerk-connector-sync"
JSON_FORMAT_VERSION = 1
_JSON_LISTS = ("resource_types", "resources", "entitlements", "grants")

__all__ = [
    "JSON_FORMAT",
    "JSON_FORMAT_VERSION",
    "FileFormat",
    "SyncFile",
    "SyncFileError",
    "format_for",
    "load_sync_file",
    "write_sync_file",
]


class FileFormat(StrEnum):
    JSON = "json"
    C1Z = "c1z"


@dataclass
class SyncFile:
    """A sync read back from a file: what it received, and when it ran (when recorded)."""

    path: Path
    format: FileFormat
    result: SyncResult
    started_at: datetime | None = None
    ended_at: datetime | None = None


def format_for(path: Path, chosen: str | None = None) -> FileFormat:
    """The format to write: the one chosen, else c1z for a `.c1z` name, else JSON."""
    if chosen:
        return FileFormat(chosen)
    return FileFormat.C1Z if path.suffix.lower() == ".c1z" else FileFormat.JSON


def write_sync_file(
    path: Path,
    result: SyncResult,
    file_format: FileFormat,
    *,
    started_at: datetime,
    ended_at: datetime,
) -> None:
    """Write `result`; the file appears under `path` only once it is complete."""
    if file_format is FileFormat.C1Z:
        c1z.write_c1z(path, result, started_at=started_at, ended_at=ended_at)
        return
    document = {
        "format": JSON_FORMAT,
        "format_version": JSON_FORMAT_VERSION,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        **result.to_json(),
    }
    atomic_text(path, json.dumps(document, indent=2, ensure_ascii=False))


def load_sync_file(path: Path) -> SyncFile:
    """A c1z or JSON sync file read back, told apart by content (not by name)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(c1z.MAGIC))
    except FileNotFoundError:
        raise SyncFileError(path, "no such file") from None
    except IsADirectoryError:
        raise SyncFileError(path, "is a directory, not a sync file") from None
    except OSError as exc:
        raise SyncFileError(path, f"cannot read it ({exc.strerror})") from None
    if head in (c1z.MAGIC, c1z.MAGIC_V3):
        read = c1z.read_c1z(path)
        return SyncFile(path, FileFormat.C1Z, read.result, read.started_at, read.ended_at)
    if head.lstrip()[:1] == b"{":
        return _load_json(path)
    if not head:
        raise SyncFileError(path, "empty file, not a sync file")
    raise SyncFileError(path, "not a sync file (neither c1z nor clerk-connector JSON)")


def _load_json(path: Path) -> SyncFile:
    try:
        document = json.loads(path.read_bytes())
    except UnicodeDecodeError:
        raise SyncFileError(path, "not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        # Cut short: the error is at the very end, or a string runs into the end.
        cut = exc.pos >= len(exc.doc.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        raise SyncFileError(
            path,
            f"{'truncated' if cut else 'malformed'} JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None
    if not isinstance(document, dict):
        raise SyncFileError(path, "JSON, but not a clerk-connector sync (not an object)")
    named = document.get("format", JSON_FORMAT)
    if named != JSON_FORMAT:
        raise SyncFileError(path, f"JSON of another format ({str(named)[:40]!r})")
    version = document.get("format_version", 1)
    if not isinstance(version, int) or version < 1:
        raise SyncFileError(path, f"JSON with an unreadable format_version ({version!r})")
    if version > JSON_FORMAT_VERSION:
        raise SyncFileError(
            path,
            f"written by a newer clerk-connector (sync JSON format {version}; "
            f"this one reads {JSON_FORMAT_VERSION})",
        )
    for key in (*_JSON_LISTS, "active_sync_id"):
        if key not in document:
            raise SyncFileError(path, f"JSON, but not a clerk-connector sync (no {key!r})")
    try:
        result = _result_from_json(document)
    except (ParseError, TypeError, ValueError, AttributeError) as exc:
        problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SyncFileError(path, f"JSON that does not decode as a sync ({problem})") from None
    return SyncFile(
        path,
        FileFormat.JSON,
        result,
        _when(path, document, "started_at"),
        _when(path, document, "ended_at"),
    )


def _result_from_json(document: dict[str, Any]) -> SyncResult:
    def parse(key: str, kind: type[Message]) -> list[Any]:
        items = document[key]
        if not isinstance(items, list):
            raise TypeError(f"{key!r} is not a list")
        return [ParseDict(item, kind(), ignore_unknown_fields=True) for item in items]

    result = SyncResult(
        sync_id=str(document["active_sync_id"]), sdk_version=str(document.get("sdk_version", ""))
    )
    result.resource_types = parse("resource_types", resource_pb.ResourceType)
    result.resources = parse("resources", resource_pb.Resource)
    result.entitlements = parse("entitlements", entitlement_pb.Entitlement)
    result.grants = parse("grants", grant_pb.Grant)
    result.skipped = [str(item) for item in document.get("skipped", [])]
    result.calls = Counter()
    result.report = {
        "listings": list(document.get("completeness", [])),
        "events": dict(document.get("events", {})),
    }
    return result


def _when(path: Path, document: dict[str, Any], key: str) -> datetime | None:
    value = document.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise SyncFileError(path, f"JSON with an unreadable {key} ({str(value)[:40]!r})") from None
