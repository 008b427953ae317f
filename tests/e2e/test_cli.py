"""The command line as an operator runs it: real processes, real ports, a canary key that must
appear nowhere in anything they print or write."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from connector.fake_clerk import FakeClerk, awkward

T = TypeVar("T")
CANARY = "sk_test_CANARY_7f3a9c1e5b2d4f60"
CLI = [sys.executable, "-m", "connector"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(awkward(), secret_key=CANARY) as running:
        yield running


def env_for(fake: FakeClerk | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "CONNECTOR_"))}
    if fake is not None:
        env.update(CLERK_SECRET_KEY=CANARY, CLERK_API_URL=fake.url)
    env.update(CONNECTOR_LOG_LEVEL="debug", CONNECTOR_LOG_FORMAT="json", **extra)
    return env


KeyedEnv = Callable[..., dict[str, str]]


@pytest.fixture(params=["CLERK_SECRET_KEY", "CLERK_SECRET_KEY_FILE"])
def keyed(request: pytest.FixtureRequest, tmp_path: Path) -> KeyedEnv:
    """Like env_for, but with a key (the canary by default) in the environment or in a
    mounted-secret-style file: every command runs both ways and must echo neither."""

    def make(fake: FakeClerk | None, key: str = CANARY, **extra: str) -> dict[str, str]:
        env = env_for(fake, **extra)
        env.pop("CLERK_SECRET_KEY", None)
        if request.param == "CLERK_SECRET_KEY_FILE":
            key_file = tmp_path / "clerk-secret-key"
            key_file.write_text(key + "\n")
            env["CLERK_SECRET_KEY_FILE"] = str(key_file)
        else:
            env["CLERK_SECRET_KEY"] = key
        return env

    return make


def run(
    args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def poll(probe: Callable[[], T | None], seconds: float = 30) -> T:
    """The first non-None answer of `probe`, asked every 0.2 s until `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = probe()
        if answer is not None:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"no answer within {seconds} s")


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text
        assert CANARY[8:] not in text  # not even the part after the prefix


def test_validate_ok_and_rejected(fake: FakeClerk, keyed: KeyedEnv) -> None:
    ok = run(["validate"], keyed(fake))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: the key is accepted by the development instance")
    assert f"({len(fake.dataset.users)} users)" in ok.stdout
    fake.secret_key = "sk_test_rotated_key_000"
    rejected = run(["validate"], keyed(fake))
    assert rejected.returncode == 1
    assert "rejected the secret key" in rejected.stderr
    assert_no_canary(ok.stdout, ok.stderr, rejected.stdout, rejected.stderr)


def test_config_errors_name_the_setting(fake: FakeClerk, keyed: KeyedEnv) -> None:
    missing = run(["validate"], env_for(None))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "CLERK_SECRET_KEY" in missing.stderr
    bad = run(["serve"], keyed(fake, CONNECTOR_RATE_LIMIT_SHARE="7"))
    assert bad.returncode == 2
    assert "CONNECTOR_RATE_LIMIT_SHARE" in bad.stderr
    bad_listen = run(["serve", "--listen", "nowhere"], keyed(fake))
    assert bad_listen.returncode == 2
    assert "CONNECTOR_LISTEN" in bad_listen.stderr
    exposed = run(["serve", "--listen", "0.0.0.0:1"], keyed(fake))  # plaintext, not loopback
    assert exposed.returncode == 2
    assert "CONNECTOR_ALLOW_INSECURE" in exposed.stderr
    no_cert = keyed(fake, CONNECTOR_TLS_CERT_FILE="/nowhere.crt", CONNECTOR_TLS_KEY_FILE="/k")
    unreadable = run(["serve"], no_cert)
    assert unreadable.returncode == 2
    assert "CONNECTOR_TLS_CERT_FILE: cannot read /nowhere.crt" in unreadable.stderr
    malformed = run(["validate"], keyed(fake, key=CANARY + " pasted with a space"))
    assert malformed.returncode == 2
    assert "malformed" in malformed.stderr
    outputs = [p.stdout + p.stderr for p in (missing, bad, bad_listen, exposed, unreadable)]
    assert_no_canary(*outputs, malformed.stdout, malformed.stderr)


def test_sync_in_process_writes_output(fake: FakeClerk, keyed: KeyedEnv, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = run(["sync", "--output", str(out)], keyed(fake))
    assert done.returncode == 0, done.stderr
    assert "organization" in done.stdout
    assert "unresolved role keys: 1 (org:ghost x1)" in done.stdout
    body = out.read_text()
    data = json.loads(body)
    assert data["counts"]["user"]["resources"] == len(fake.dataset.users)
    assert_no_canary(done.stdout, done.stderr, body)


@pytest.mark.parametrize("command", ["sync", "demo"])
def test_an_unwritable_output_fails_before_the_sync(
    command: str, fake: FakeClerk, keyed: KeyedEnv, tmp_path: Path
) -> None:
    """One line and exit 2 before any request, not a traceback after a whole sync."""
    (tmp_path / "a-directory").mkdir()
    for output in (tmp_path / "no-such-dir" / "out.json", tmp_path / "a-directory"):
        done = run([command, "--output", str(output)], keyed(fake), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1
        assert done.stderr.startswith(f"clerk-connector: configuration error: --output {output}")
        assert_no_canary(done.stderr)
    assert fake.stats.total == 0
    assert {p.name for p in tmp_path.iterdir()} <= {"a-directory", "clerk-secret-key"}


def test_the_output_check_leaves_no_file_when_the_sync_fails(
    fake: FakeClerk, keyed: KeyedEnv, tmp_path: Path
) -> None:
    fake.secret_key = "sk_test_rotated_key_000"
    out = tmp_path / "out.json"
    failed = run(["sync", "--output", str(out)], keyed(fake))
    assert failed.returncode == 1
    assert not out.exists()
    out.write_text("kept")  # an existing file is only replaced by a successful sync
    assert run(["sync", "--output", str(out)], keyed(fake)).returncode == 1
    assert out.read_text() == "kept"


def test_serve_health_reflection_sync_and_sigterm(
    fake: FakeClerk, keyed: KeyedEnv, tmp_path: Path
) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    server = start(["serve", "--listen", address], keyed(fake))
    try:

        def healthy() -> subprocess.CompletedProcess[str] | None:
            probe = run(["health", "--address", address, "--timeout", "1"], keyed(None))
            return probe if probe.returncode == 0 else None

        health = poll(healthy)
        assert health.stdout.strip() == "serving"
        # The container's HEALTHCHECK runs `health` bare: it finds the port from CONNECTOR_LISTEN.
        bare = run(["health"], keyed(None, CONNECTOR_LISTEN=f"0.0.0.0:{port}"))
        assert bare.returncode == 0, bare.stderr

        with grpc.insecure_channel(address) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="c1.connector.v2.GrantsService")
            )
            assert status.status == health_pb2.HealthCheckResponse.SERVING
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert {
            "c1.connector.v2.ConnectorService",
            "c1.connector.v2.ResourcesService",
            "c1.connector.v2.EntitlementsService",
            "c1.connector.v2.GrantsService",
            "grpc.health.v1.Health",
        } <= services

        out = tmp_path / "remote.json"
        synced = run(["sync", "--connect", address, "--output", str(out)], keyed(None))
        assert synced.returncode == 0, synced.stderr
        assert_no_canary(synced.stdout, synced.stderr, out.read_text())
        assert_no_canary(health.stdout, health.stderr, bare.stdout, bare.stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 0
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert "serving" in events
    assert "shutting_down" in events
    assert "stopped" in events
    assert "clerk.request" in events  # debug logging was on, and still no key
    assert_no_canary(stdout, stderr)


def test_fake_clerk_command_serves_http(keyed: KeyedEnv) -> None:
    port = free_port()
    proc = start(
        ["fake-clerk", "--port", str(port), "--dataset", "demo", "--secret-key", CANARY],
        keyed(None),
    )
    try:

        def users_list() -> object | None:
            try:
                body: object = httpx.get(
                    f"http://127.0.0.1:{port}/v1/users",
                    headers={"Authorization": f"Bearer {CANARY}"},
                    timeout=1,
                ).json()
            except httpx.TransportError:
                return None
            return body

        users = poll(users_list)
        assert isinstance(users, list)
        assert users
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    assert_no_canary(stdout, stderr)


def test_demo_prints_the_summary(tmp_path: Path, keyed: KeyedEnv) -> None:
    done = run(["demo", "--output", str(tmp_path / "demo.json")], keyed(None), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Who holds which role in which organization" in done.stdout
    assert_no_canary(done.stdout, done.stderr, (tmp_path / "demo.json").read_text())


def test_health_liveness_tolerates_a_rejected_key(fake: FakeClerk, keyed: KeyedEnv) -> None:
    """Readiness fails while Clerk rejects the key; liveness must not, as a restart cannot help."""
    fake.secret_key = "sk_test_rotated_key_000"
    port = free_port()
    env = keyed(fake, CONNECTOR_LISTEN=f"127.0.0.1:{port}")
    server = start(["serve"], env)
    try:

        def not_serving() -> subprocess.CompletedProcess[str] | None:
            probe = run(["health", "--timeout", "1"], env)
            return probe if probe.stdout.strip() == "not_serving" else None

        ready = poll(not_serving)
        assert ready.returncode == 1
        alive = run(["health", "--liveness", "--timeout", "1"], env)
        assert alive.returncode == 0, alive.stderr
        assert alive.stdout.strip() == "not_serving"
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    assert_no_canary(stdout, stderr, ready.stdout, ready.stderr, alive.stdout, alive.stderr)
