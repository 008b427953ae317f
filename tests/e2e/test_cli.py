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


def test_validate_ok_and_rejected(fake: FakeClerk) -> None:
    ok = run(["validate"], env_for(fake))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: the key is accepted by the development instance")
    assert f"({len(fake.dataset.users)} users)" in ok.stdout
    fake.secret_key = "sk_test_rotated_key_000"
    rejected = run(["validate"], env_for(fake))
    assert rejected.returncode == 1
    assert "rejected the secret key" in rejected.stderr
    assert_no_canary(ok.stdout, ok.stderr, rejected.stdout, rejected.stderr)


def test_config_errors_name_the_setting(fake: FakeClerk) -> None:
    missing = run(["validate"], env_for(None))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "CLERK_SECRET_KEY" in missing.stderr
    bad = run(["serve"], env_for(fake, CONNECTOR_RATE_LIMIT_SHARE="7"))
    assert bad.returncode == 2
    assert "CONNECTOR_RATE_LIMIT_SHARE" in bad.stderr
    bad_listen = run(["serve", "--listen", "nowhere"], env_for(fake))
    assert bad_listen.returncode == 2
    assert "CONNECTOR_LISTEN" in bad_listen.stderr
    assert_no_canary(missing.stderr, bad.stderr, bad_listen.stderr)


def test_sync_in_process_writes_output(fake: FakeClerk, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = run(["sync", "--output", str(out)], env_for(fake))
    assert done.returncode == 0, done.stderr
    assert "organization" in done.stdout
    assert "unresolved role keys: 1 (org:ghost x1)" in done.stdout
    body = out.read_text()
    data = json.loads(body)
    assert data["counts"]["user"]["resources"] == len(fake.dataset.users)
    assert_no_canary(done.stdout, done.stderr, body)


def test_serve_health_reflection_sync_and_sigterm(fake: FakeClerk, tmp_path: Path) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    server = start(["serve", "--listen", address], env_for(fake))
    try:

        def healthy() -> subprocess.CompletedProcess[str] | None:
            probe = run(["health", "--address", address, "--timeout", "1"], env_for(None))
            return probe if probe.returncode == 0 else None

        health = poll(healthy)
        assert health.stdout.strip() == "serving"
        # The container's HEALTHCHECK runs `health` bare: it finds the port from CONNECTOR_LISTEN.
        bare = run(["health"], {**env_for(None), "CONNECTOR_LISTEN": f"0.0.0.0:{port}"})
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
        synced = run(["sync", "--connect", address, "--output", str(out)], env_for(None))
        assert synced.returncode == 0, synced.stderr
        assert_no_canary(synced.stdout, synced.stderr, out.read_text())
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


def test_fake_clerk_command_serves_http() -> None:
    port = free_port()
    proc = start(
        ["fake-clerk", "--port", str(port), "--dataset", "demo", "--secret-key", CANARY],
        env_for(None),
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


def test_demo_prints_the_summary(tmp_path: Path) -> None:
    done = run(["demo", "--output", str(tmp_path / "demo.json")], env_for(None), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Who holds which role in which organization" in done.stdout
    assert (tmp_path / "demo.json").exists()
