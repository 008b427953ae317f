"""The reviewer's commands as processes: sync to c1z or JSON, report, and sync files that are
missing, cut short, of another format or from a newer writer (one line, non-zero, no output)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard

from connector.fake_clerk import FakeClerk, demo
from tests.e2e.syncs import TEST_KEY, sync_of, write

CLI = [sys.executable, "-m", "connector"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(demo(), secret_key=TEST_KEY) as running:
        yield running


def env_for(fake: FakeClerk, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "CONNECTOR_"))}
    env.update(CLERK_SECRET_KEY=TEST_KEY, CLERK_API_URL=fake.url, **extra)
    return env


@pytest.mark.parametrize(
    ("name", "flags", "magic"),
    [
        ("sync.c1z", [], b"C1ZF\x00"),
        ("sync.json", [], b"{"),
        ("sync.out", ["--format", "c1z"], b"C1ZF\x00"),
        ("sync.c1z.json", [], b"{"),
    ],
)
def test_sync_writes_the_chosen_format_and_logs_stay_json_off_a_terminal(
    fake: FakeClerk, tmp_path: Path, name: str, flags: list[str], magic: bytes
) -> None:
    out = tmp_path / name
    done = subprocess.run(
        [*CLI, "sync", "--output", str(out), *flags],
        env=env_for(fake, CONNECTOR_LOG_FORMAT="auto"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(magic)
    assert f"written to {out}" in done.stdout
    # No progress display without a terminal: every stderr line is a JSON log event.
    for line in done.stderr.splitlines():
        assert isinstance(json.loads(line), dict), line
    assert "rate-limit" not in done.stdout + done.stderr


def _run_on_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; returns (exit status, screen text)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(leader)
    status = process.wait(timeout=10)
    screen = b"".join(chunks).decode("utf-8", "replace")
    return status, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)


def test_sync_on_a_terminal_shows_live_progress_per_resource_type(
    fake: FakeClerk, tmp_path: Path
) -> None:
    out = tmp_path / "sync.c1z"
    status, screen = _run_on_a_terminal(
        [*CLI, "sync", "--output", str(out)], env_for(fake, CONNECTOR_LOG_LEVEL="warning")
    )
    assert status == 0, screen
    assert "sync ended after" in screen
    table = screen[screen.index("sync ended after") :]
    assert "Clerk" in table
    assert "rate-limit" in table
    # Every type with its final counts: the demo has 8 users and 3 organizations with 20 grants.
    assert re.search(r"user\s+8\s+0\s+0\s+[1-9]\d*\s+\d+\.\d s", table), (
        table
    )  # Clerk requests seen
    assert re.search(r"organization\s+3\s+\d+\s+20\s+\d+\s+", table), table
    assert "List calls" in table
    assert out.read_bytes().startswith(b"C1ZF\x00")


def test_report_command_writes_the_page_and_csvs(tmp_path: Path) -> None:
    source = write(tmp_path / "demo.c1z", sync_of(demo()))
    out = tmp_path / "report"
    done = subprocess.run(
        [*CLI, "report", str(source), "--out", str(out), "--as-of", "2024-06-01"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "  1  Disabled users who still hold memberships" in done.stdout
    assert f"access report: {out / 'access-report.html'}" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "access-report.html", "findings.csv", "organizations.csv", "roles.csv", "users.csv",
    ]  # fmt: skip


# -- bad input ---------------------------------------------------------------------------------


def _c1z_of(statement: str, tmp: Path) -> bytes:
    """A c1z file around a database of one table, made by `statement`."""
    db = tmp / "scratch.sqlite"
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.execute(statement)
    con.commit()
    con.close()
    return b"C1ZF\x00" + zstandard.ZstdCompressor().compress(db.read_bytes())


def _newer_asset(good: bytes, tmp: Path) -> bytes:
    db = tmp / "newer.sqlite"
    db.write_bytes(zstandard.ZstdDecompressor().stream_reader(good[5:]).read())
    con = sqlite3.connect(db)
    con.execute("""update v1_assets set data = '{"format_version": 99}'""")
    con.commit()
    con.close()
    return b"C1ZF\x00" + zstandard.ZstdCompressor().compress(db.read_bytes())


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("good")
    result = sync_of(demo())
    return {
        "c1z": write(tmp / "good.c1z", result).read_bytes(),
        "json": write(tmp / "good.json", result).read_bytes(),
    }


BAD: dict[str, tuple[Callable[[dict[str, bytes], Path], bytes | None], str]] = {
    "missing": (lambda g, t: None, "no such file"),
    "empty": (lambda g, t: b"", "empty file"),
    "truncated c1z": (lambda g, t: g["c1z"][: len(g["c1z"]) // 2], "truncated"),
    "c1z header only": (lambda g, t: g["c1z"][:5], "truncated"),
    "corrupt zstd": (lambda g, t: b"C1ZF\x00" + b"\x00garbage" * 50, "zstd stream is corrupt"),
    "zstd of no database": (
        lambda g, t: b"C1ZF\x00" + zstandard.ZstdCompressor().compress(b"hello" * 400),
        "no readable SQLite database",
    ),
    "v3 c1z": (lambda g, t: b"C1Z3\x00" + g["c1z"][5:], "newer format"),
    "newer c1z schema": (
        lambda g, t: _c1z_of("create table v2_grants (id integer)", t),
        "newer c1z schema",
    ),
    "another database": (
        lambda g, t: _c1z_of("create table notes (body text)", t),
        "not a c1z sync database",
    ),
    "newer sync report": (lambda g, t: _newer_asset(g["c1z"], t), "newer clerk-connector"),
    "truncated JSON": (lambda g, t: g["json"][: len(g["json"]) // 2], "truncated JSON"),
    "JSON of another tool": (lambda g, t: b'{"kind": "something else"}', "not a clerk-connector"),
    "JSON of another format": (lambda g, t: b'{"format": "baton-export"}', "another format"),
    "newer JSON": (
        lambda g, t: g["json"].replace(b'"format_version": 1', b'"format_version": 7', 1),
        "newer clerk-connector (sync JSON format 7",
    ),
    "an image": (lambda g, t: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a sync file"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_sync_file_is_one_line_and_no_report(
    good: dict[str, bytes], tmp_path: Path, case: str
) -> None:
    make, problem = BAD[case]
    path = tmp_path / "input.c1z"
    content = make(good, tmp_path)
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "report"
    done = subprocess.run(
        [*CLI, "report", str(path), "--out", str(out)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"clerk-connector report: {path}: ")
    assert problem in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("case", ["missing", "truncated c1z", "newer JSON"])
def test_diff_of_a_bad_file_is_one_line_and_writes_nothing(
    good: dict[str, bytes], tmp_path: Path, case: str
) -> None:
    make, problem = BAD[case]
    old = tmp_path / "old.json"
    old.write_bytes(good["json"])
    new = tmp_path / "new.c1z"
    content = make(good, tmp_path)
    if content is not None:
        new.write_bytes(content)
    out = tmp_path / "diff.json"
    done = subprocess.run(
        [*CLI, "diff", str(old), str(new), "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1, done.stderr
    assert problem in done.stderr
    assert done.stderr.startswith(f"clerk-connector diff: {new}: ")
    assert not out.exists()
