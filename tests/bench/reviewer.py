"""`python -m tests.bench.reviewer [--size L] [--keep DIR]`: the reviewer's files at a size.

Syncs a generated instance in-process (no rate limit: the sync's cost is `make bench`'s
subject), writes it as c1z and JSON, then runs `clerk-connector report` on each and `diff` of
two c1z files of the same data, each as its own process, and prints sizes, wall times and the
peak RSS of each command (the README's "Sizes and times").
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from connector.fake_clerk import FakeClerk, generate
from connector.platform.syncer import run_sync
from connector.platform.syncfile import FileFormat, write_sync_file
from tests.e2e.harness import TEST_KEY, connector_for

SIZES = {
    "S": (1_000, 100, 3_000),
    "M": (10_000, 1_000, 30_000),
    "L": (100_000, 10_000, 300_000),
}
CLI = [sys.executable, "-m", "connector"]


def _timed(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one child process.

    The peak is the child's VmHWM, read while it runs: a forked child's own rusage would count
    the pages of this (large) parent it started as a copy of."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    status = Path(f"/proc/{child.pid}/status")
    peak_kb = 0
    while child.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass  # it ended between the poll and the read
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if child.returncode not in (0, 1):
        raise RuntimeError(f"{command[3]} exited {child.returncode}")
    return wall, peak_kb / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="L")
    parser.add_argument("--keep", type=Path, help="leave the files in this directory")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    users, organizations, memberships = SIZES[args.size]
    work = args.keep or Path(tempfile.mkdtemp(prefix="reviewer-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = generate(users=users, organizations=organizations, memberships=memberships)
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as connected:
        start = time.perf_counter()
        result = run_sync(connected.channel)
        print(f"{args.size}: sync {time.perf_counter() - start:.0f} s (in-process, no rate limit)")
    now = datetime.now(UTC)
    for file_format in (FileFormat.C1Z, FileFormat.JSON):
        path = work / f"sync.{file_format}"
        start = time.perf_counter()
        write_sync_file(path, result, file_format, started_at=now, ended_at=now)
        took = time.perf_counter() - start
        print(f"  {file_format}: {path.stat().st_size / 1e6:.1f} MB, written in {took:.0f} s")
    write_sync_file(work / "again.c1z", result, FileFormat.C1Z, started_at=now, ended_at=now)
    del result, data
    for file_format in (FileFormat.C1Z, FileFormat.JSON):
        out = work / f"report-{file_format}"
        wall, peak, _ = _timed(
            [*CLI, "report", str(work / f"sync.{file_format}"), "--out", str(out)]
        )
        sizes = ", ".join(
            f"{item.name} {item.stat().st_size / 1e6:.1f} MB" for item in sorted(out.iterdir())
        )
        print(f"  report of {file_format}: {wall:.0f} s, peak RSS {peak:.0f} MB ({sizes})")
    wall, peak, status = _timed([*CLI, "diff", str(work / "sync.c1z"), str(work / "again.c1z")])
    print(f"  diff of two c1z: {wall:.0f} s, exit {status}, peak RSS {peak:.0f} MB")
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
