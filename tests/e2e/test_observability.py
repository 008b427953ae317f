"""What an operator sees: JSON logs of a real sync, Prometheus metrics scraped over real HTTP, and
gRPC health (over a real health stub) that turns NOT_SERVING while Clerk rejects the key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from connector.c1.protocol import resource_grpc, resource_pb
from connector.clerk import ClerkClient, RequestBudget
from connector.fake_clerk import Dataset, FakeClerk, awkward
from connector.platform.syncer import run_sync
from connector.server.process import RunningServer, build_connector, serving
from connector.settings import load_settings
from tests.e2e.harness import TEST_KEY, VirtualTime

CANARY = "sk_test_CANARY_observability_5e1d"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
C1_SERVICES = [
    "c1.connector.v2.ConnectorService",
    "c1.connector.v2.ResourcesService",
    "c1.connector.v2.GrantsService",
]
GRPC_CODES = {code.name for code in grpc.StatusCode}


@dataclass
class Observed:
    server: RunningServer
    channel: grpc.Channel
    client: ClerkClient


@contextmanager
def observed(
    fake: FakeClerk,
    *,
    key: str | None = None,
    metrics_listen: str = "",
    recheck: float | None = None,
) -> Iterator[Observed]:
    """A connector over `fake` on loopback, with metrics and key rechecks as asked."""
    key = key or fake.secret_key
    settings = load_settings(CLERK_SECRET_KEY=key, CLERK_API_URL=fake.url)
    virtual = VirtualTime()  # retries and budget waits cost no real time
    client = ClerkClient(
        settings.clerk_api_url,
        settings.secret_key(),
        max_retries=2,
        timeout=2.0,
        sleep=virtual.sleep,
        clock=virtual.monotonic,
        budget=RequestBudget(100_000, 1.0, clock=virtual.monotonic, sleep=virtual.sleep),
    )
    with (
        client,
        serving(
            build_connector(settings, client),
            "127.0.0.1:0",
            metrics_listen=metrics_listen,
            key_recheck_seconds=recheck,
        ) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        yield Observed(server, channel, client)


def samples(text: str, name: str) -> list[Sample]:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples(text, name) if all(s.labels.get(k) == v for k, v in labels.items())
    )


def eventually(probe: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for `probe` (background work settling), checking every 10 ms."""
    deadline = time.monotonic() + seconds
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def dataset_ids(data: Dataset) -> set[str]:
    return {*data.users, *data.organizations, *data.memberships}


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_endpoint_after_a_real_sync() -> None:
    data = awkward()
    with (
        FakeClerk(data, secret_key=TEST_KEY) as fake,
        observed(fake, metrics_listen="127.0.0.1:0") as conn,
    ):
        metrics_server = conn.server.observability.metrics_server
        assert metrics_server is not None
        url = f"http://127.0.0.1:{metrics_server.port}/metrics"
        result = run_sync(conn.channel)
        requests = "clerk_connector_clerk_requests_total"

        def settled() -> bool:  # the fake counts a request on arrival, metrics on its answer
            return total(httpx.get(url, timeout=5).text, requests) == fake.stats.total

        eventually(settled)
        text = httpx.get(url, timeout=5).text
    snapshot = fake.stats.snapshot()

    # Clerk requests: every one the fake saw, by route template and status.
    assert total(text, requests) == snapshot.total > 0
    assert total(text, requests, route="/users", status="200") == snapshot.by_route["GET /users"]
    assert total(text, requests, status="200") == snapshot.by_status[200]
    assert total(text, "clerk_connector_clerk_rate_limited_total") == 0
    assert total(text, "clerk_connector_clerk_retries_total") == 0
    assert total(text, "clerk_connector_clerk_request_duration_seconds_count") == snapshot.total

    # Objects emitted: exactly what the sync received, per kind and resource type.
    emitted = {
        (s.labels["kind"], s.labels["resource_type"]): s.value
        for s in samples(text, "clerk_connector_objects_emitted_total")
    }
    expected = {
        (kind.removesuffix("s"), type_id): float(n)
        for type_id, row in result.counts().items()
        for kind, n in row.items()
        if n
    }
    assert emitted == expected
    unresolved = sum(result.unresolved_role_keys().values())
    events = "clerk_connector_sync_events_total"
    assert total(text, events, event="unresolved_role_keys") == unresolved == 1

    # RPCs: one latency observation per call the syncer made, all OK.
    rpc_count = "clerk_connector_rpc_duration_seconds_count"
    for method, calls in result.calls.items():
        assert total(text, rpc_count, method=method, code="OK") == calls
    assert total(text, rpc_count) == sum(result.calls.values())

    assert total(text, "clerk_connector_active_syncs") == 0  # Cleanup released the sync
    assert total(text, "clerk_connector_clerk_key_valid") == 1

    # Bounded labels: templates, never a concrete path, id or the key.
    routes = {s.labels["route"] for s in samples(text, requests)}
    assert {"/users", "/organizations"} <= routes
    assert all(r.startswith("/") for r in routes)
    assert not any(item_id in text for item_id in dataset_ids(data))
    assert TEST_KEY not in text

    with pytest.raises(httpx.ConnectError):  # stopped with the server
        httpx.get(url, timeout=2)


def test_metrics_count_retries_and_errors() -> None:
    with FakeClerk(awkward(), secret_key=TEST_KEY) as fake, observed(fake) as conn:
        fake.faults.server_error(503, times=2, path="/users")
        users = resource_grpc.ResourcesServiceStub(conn.channel).ListResources(
            resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="user")
        )
        fake.faults.revoke_key(path="/users")
        with pytest.raises(grpc.RpcError):
            resource_grpc.ResourcesServiceStub(conn.channel).ListResources(
                resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="user")
            )
        registry = conn.server.observability.metrics.registry

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert users.list
    requests = "clerk_connector_clerk_requests_total"
    # A users listing starts and ends with the count (completeness evidence); the faults hit
    # the first one.
    assert value(requests, route="/users/count", status="503") == 2
    assert value(requests, route="/users/count", status="200") == 2
    assert value(requests, route="/users", status="200") == 1
    assert value(requests, route="/users/count", status="401") == 1
    assert value("clerk_connector_clerk_retries_total", route="/users/count") == 2
    rpc = "clerk_connector_rpc_duration_seconds_count"
    assert value(rpc, method="ListResources", code="OK") == 1
    assert value(rpc, method="ListResources", code="UNAUTHENTICATED") == 1
    emitted = value("clerk_connector_objects_emitted_total", kind="resource", resource_type="user")
    assert emitted == len(users.list)
    assert value("clerk_connector_clerk_key_valid") == 0


# -- health --------------------------------------------------------------------------------------


def next_status(watch: Iterator[health_pb2.HealthCheckResponse], wanted: int) -> None:
    """Read the Watch stream until it reports `wanted` (its deadline fails the test)."""
    for reply in watch:
        if reply.status == wanted:
            return
    raise AssertionError("the health stream ended")


def check_all(channel: grpc.Channel) -> set[int]:
    stub = health_pb2_grpc.HealthStub(channel)
    return {
        stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
        for name in ["", *C1_SERVICES]
    }


def test_health_is_not_serving_while_clerk_rejects_the_key() -> None:
    with (
        FakeClerk(awkward(), secret_key=TEST_KEY) as fake,
        observed(fake, recheck=0.05) as conn,
    ):
        rechecker = conn.server.observability.rechecker
        assert rechecker is not None
        assert rechecker.first_check_done.wait(10)
        assert check_all(conn.channel) == {SERVING}
        watch = health_pb2_grpc.HealthStub(conn.channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=20
        )
        next_status(watch, SERVING)

        fake.faults.revoke_key()
        with pytest.raises(grpc.RpcError) as caught:
            resource_grpc.ResourcesServiceStub(conn.channel).ListResources(
                resource_pb.ResourcesServiceListResourcesRequest(resource_type_id="user")
            )
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        next_status(watch, NOT_SERVING)
        assert check_all(conn.channel) == {NOT_SERVING}
        metrics = conn.server.observability.metrics
        assert metrics.registry.get_sample_value("clerk_connector_clerk_key_valid") == 0

        fake.faults.clear()  # the key works again; no RPC is made, the recheck notices
        next_status(watch, SERVING)
        watch.cancel()
        assert check_all(conn.channel) == {SERVING}
        assert metrics.registry.get_sample_value("clerk_connector_clerk_key_valid") == 1


def test_startup_check_reports_a_rejected_key_without_any_rpc() -> None:
    with FakeClerk(awkward(), secret_key="sk_test_someone_else_9") as fake:
        with observed(fake, key=TEST_KEY, recheck=0.05) as conn:
            watch = health_pb2_grpc.HealthStub(conn.channel).Watch(
                health_pb2.HealthCheckRequest(service=""), timeout=20
            )
            next_status(watch, NOT_SERVING)
            fake.secret_key = TEST_KEY  # the instance accepts the connector's key again
            next_status(watch, SERVING)
            watch.cancel()
        assert fake.stats.by_status.get(401, 0) >= 1
        assert set(fake.stats.by_route) == {"GET /users"}  # only the key checks ran


def test_without_rechecks_the_server_sends_nothing_by_itself() -> None:
    with FakeClerk(awkward(), secret_key=TEST_KEY) as fake, observed(fake) as conn:
        assert conn.server.observability.rechecker is None
        assert check_all(conn.channel) == {SERVING}
    assert fake.stats.total == 0  # tests and `sync` servers make no background requests


# -- logs and the serve command, as real processes -----------------------------------------------


def cli_env(fake: FakeClerk, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "CONNECTOR_"))}
    env.update(CLERK_SECRET_KEY=CANARY, CLERK_API_URL=fake.url, **extra)
    return env


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line must be one JSON object: `auto` logs JSON when stderr is not a terminal."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_sync_logs_json_events_per_clerk_request_and_per_rpc(tmp_path: Path) -> None:
    data = awkward()
    with FakeClerk(data, secret_key=CANARY) as fake:
        done = subprocess.run(
            [sys.executable, "-m", "connector", "sync", "--output", str(tmp_path / "out.json")],
            env=cli_env(fake, CONNECTOR_LOG_LEVEL="debug", CONNECTOR_LOG_FORMAT="auto"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        sent = fake.stats.total
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stderr)
    requests = [e for e in events if e["event"] == "clerk.request"]
    rpcs = [e for e in events if e["event"] == "rpc"]

    assert len(requests) == sent  # one event per HTTP request
    for e in requests:
        assert isinstance(e["route"], str)
        assert e["route"].startswith("/")
        assert isinstance(e["status"], int)
        assert e["error"] is None
        assert isinstance(e["duration_ms"], float)
        assert e["duration_ms"] >= 0
        assert isinstance(e["attempt"], int)
        assert e["attempt"] >= 1
        assert isinstance(e["rate_limit_wait_ms"], float)
        assert "clerk_trace_id" in e
        assert e["level"] == "info"
        assert isinstance(e["timestamp"], str)
    ids = dataset_ids(data)
    assert not any(item_id in e["route"] for e in requests for item_id in ids)  # templates only

    methods = {e["method"] for e in rpcs}
    assert {"Validate", "ListResources", "ListEntitlements", "ListGrants", "Cleanup"} <= methods
    for e in rpcs:
        assert e["status"] in GRPC_CODES
        assert isinstance(e["duration_ms"], int | float)
        assert e["level"] == "info"
        if e["method"].startswith("List"):
            assert isinstance(e["items"], int)
        else:
            assert "items" not in e
    users = [e for e in rpcs if e["method"] == "ListResources" and e["items"] == len(data.users)]
    assert users  # the user page carried every user of the dataset

    output = (tmp_path / "out.json").read_text()
    for text in (done.stdout, done.stderr, output):
        assert CANARY not in text
        assert CANARY[8:] not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_exposes_metrics_on_its_own_port_until_sigterm() -> None:
    metrics_port = free_port()
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with FakeClerk(awkward(), secret_key=CANARY) as fake:
        env = cli_env(
            fake, CONNECTOR_METRICS_LISTEN=f"127.0.0.1:{metrics_port}", CONNECTOR_LOG_FORMAT="json"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "serve", "--listen", f"127.0.0.1:{free_port()}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            def key_checked() -> bool:  # the start-up key check, counted without any RPC
                try:
                    text = httpx.get(url, timeout=1).text
                except httpx.TransportError:
                    return False
                return total(text, "clerk_connector_clerk_requests_total", status="200") == 1

            eventually(key_checked, seconds=30)
            text = httpx.get(url, timeout=5).text
            assert total(text, "clerk_connector_clerk_key_valid") == 1
            assert CANARY not in text
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    events = [e["event"] for e in json_lines(stderr)]
    assert "metrics_serving" in events
    assert CANARY not in stdout + stderr
