"""Real syncs for the platform-side tests: the fake Clerk over HTTP, the connector over gRPC,
the platform-style syncer, and the sync written to a file as the `sync` command writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.fake_clerk import Dataset, FakeClerk
from connector.platform.syncer import SyncResult, run_sync
from connector.platform.syncfile import FileFormat, write_sync_file
from tests.e2e.harness import TEST_KEY, connector_for, running

# Every test report is dated, so "not signed in for 90 days" does not drift with the clock.
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
STARTED = datetime(2024, 5, 31, 12, 0, 0, 250_000, tzinfo=UTC)


def sync_of(dataset: Dataset) -> SyncResult:
    with running(dataset) as connected:
        return run_sync(connected.channel)


def sync_fake(fake: FakeClerk) -> SyncResult:
    """A sync of a fake that stays up (the dataset may change between two of them)."""
    with connector_for(fake) as connected:
        return run_sync(connected.channel)


def write(path: Path, result: SyncResult, *, started: datetime = STARTED) -> Path:
    write_sync_file(
        path,
        result,
        FileFormat.C1Z if path.suffix == ".c1z" else FileFormat.JSON,
        started_at=started,
        ended_at=started + timedelta(seconds=3),
    )
    return path


__all__ = ["AS_OF", "STARTED", "TEST_KEY", "sync_fake", "sync_of", "write"]
