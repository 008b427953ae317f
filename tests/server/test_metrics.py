"""Metrics, key health and the observer hooks they hang on, piece by piece.

The end-to-end versions (a real sync, real HTTP scrapes, a real gRPC health stub) are in
tests/e2e/test_observability.py.
"""

from __future__ import annotations

import threading

import grpc
import httpx
import pytest
from grpc_health.v1 import health, health_pb2
from prometheus_client import REGISTRY

from connector.c1.protocol import (
    entitlement_pb,
    grant_annotations,
    grant_pb,
    pack,
    resource_pb,
    struct,
)
from connector.c1.service import RpcEvent, rpc_event
from connector.clerk.transport import RequestEvent
from connector.server.health import KeyHealth, KeyRechecker
from connector.server.metrics import ConnectorMetrics, MetricsServer
from connector.settings import SettingsError, load_settings
from tests.clerk.clerk_testkit import (
    CANARY_KEY,
    FakeClock,
    clerk_errors,
    json_response,
    make_client,
    sequence,
    user_json,
)

SERVICES = ["c1.connector.v2.ConnectorService", "c1.connector.v2.GrantsService"]


def event(route: str = "/users", status: int | None = 200, **kw: object) -> RequestEvent:
    fields: dict[str, object] = {
        "attempt": 1,
        "error": None,
        "seconds": 0.02,
        "rate_limit_wait_seconds": 0.0,
    }
    fields.update(kw)
    return RequestEvent(route=route, status=status, **fields)  # type: ignore[arg-type]


def value(metrics: ConnectorMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


# -- ConnectorMetrics --------------------------------------------------------------------------


def test_clerk_request_events_feed_the_counters() -> None:
    metrics = ConnectorMetrics()
    route = "/organizations/{organization_id}/memberships"
    metrics.observe_clerk_request(event(route, 200, seconds=0.5))
    metrics.observe_clerk_request(event(route, 429, attempt=1))
    metrics.observe_clerk_request(event(route, 503, attempt=2, rate_limit_wait_seconds=1.5))
    metrics.observe_clerk_request(event(route, None, attempt=3, error="ReadTimeout"))
    metrics.observe_clerk_request(event("/users", 200))

    total = "clerk_connector_clerk_requests_total"
    assert value(metrics, total, route=route, status="200") == 1
    assert value(metrics, total, route=route, status="429") == 1
    assert value(metrics, total, route=route, status="503") == 1
    assert value(metrics, total, route=route, status="ReadTimeout") == 1
    assert value(metrics, total, route="/users", status="200") == 1
    assert value(metrics, "clerk_connector_clerk_rate_limited_total") == 1
    assert value(metrics, "clerk_connector_clerk_retries_total", route=route) == 2
    assert value(metrics, "clerk_connector_clerk_retries_total", route="/users") is None
    assert value(metrics, "clerk_connector_rate_limit_wait_seconds_total") == 1.5
    duration = "clerk_connector_clerk_request_duration_seconds"
    assert value(metrics, f"{duration}_count", route=route) == 4
    assert value(metrics, f"{duration}_bucket", route=route, le="0.25") == 3  # 0.5 s is above


def test_rpc_events_feed_latency_and_emitted_objects() -> None:
    metrics = ConnectorMetrics()
    metrics.observe_rpc(
        RpcEvent(
            "ListGrants",
            grpc.StatusCode.OK,
            0.3,
            items=5,
            emitted={("grant", "organization"): 5},
        )
    )
    metrics.observe_rpc(RpcEvent("ListGrants", grpc.StatusCode.UNAVAILABLE, 1.2))
    rpc = "clerk_connector_rpc_duration_seconds"
    assert value(metrics, f"{rpc}_count", method="ListGrants", code="OK") == 1
    assert value(metrics, f"{rpc}_count", method="ListGrants", code="UNAVAILABLE") == 1
    assert value(metrics, f"{rpc}_sum", method="ListGrants", code="UNAVAILABLE") == 1.2
    emitted = "clerk_connector_objects_emitted_total"
    assert value(metrics, emitted, kind="grant", resource_type="organization") == 5


def test_sync_events_are_counted_by_name() -> None:
    metrics = ConnectorMetrics()
    metrics.observe_sync_event("unresolved_role_keys", 2)
    metrics.observe_sync_event("memberships_of_unlisted_users", 3)
    metrics.observe_sync_event("unresolved_role_keys", 1)
    events = "clerk_connector_sync_events_total"
    assert value(metrics, events, event="unresolved_role_keys") == 3
    assert value(metrics, events, event="memberships_of_unlisted_users") == 3


def test_gauges_follow_their_sources() -> None:
    live = [3]
    metrics = ConnectorMetrics(active_syncs=lambda: live[0])
    assert value(metrics, "clerk_connector_active_syncs") == 3
    live[0] = 0
    assert value(metrics, "clerk_connector_active_syncs") == 0
    assert value(metrics, "clerk_connector_clerk_key_valid") == 1
    metrics.set_key_valid(False)
    assert value(metrics, "clerk_connector_clerk_key_valid") == 0


def test_each_instance_has_its_own_registry() -> None:
    first, second = ConnectorMetrics(), ConnectorMetrics()  # would raise on a shared registry
    first.observe_clerk_request(event())
    assert value(first, "clerk_connector_clerk_requests_total", route="/users", status="200") == 1
    assert value(second, "clerk_connector_clerk_requests_total", route="/users", status="200") is (
        None
    )
    assert REGISTRY.get_sample_value("clerk_connector_clerk_rate_limited_total") is None


# -- what the servicers count --------------------------------------------------------------------


def member_grant(org: str, user: str, role_id: str | None) -> grant_pb.Grant:
    meta = {"membership_id": f"orgmem_{user}", "role_key": "org:x", "role_id": role_id}
    ent = entitlement_pb.Entitlement(
        id=f"organization:{org}:member",
        resource=resource_pb.Resource(id=resource_pb.ResourceId(resource_type="organization")),
    )
    item = grant_pb.Grant(id=f"{ent.id}:user:{user}", entitlement=ent)
    item.annotations.append(pack(grant_annotations.GrantMetadata(metadata=struct(meta))))
    return item


def test_rpc_event_counts_what_a_list_answer_emits() -> None:
    grants = grant_pb.GrantsServiceListGrantsResponse(
        list=[
            member_grant("org_1", "user_1", "role_admin"),
            member_grant("org_1", "user_2", None),
            member_grant("org_1", "user_3", None),
        ]
    )
    got = rpc_event("ListGrants", grpc.StatusCode.OK, 0.1, grants)
    assert got.items == 3
    assert got.emitted == {("grant", "organization"): 3}
    empty = grant_pb.GrantsServiceListGrantsResponse()
    assert rpc_event("ListGrants", grpc.StatusCode.OK, 0.1, empty).emitted == {}

    users = resource_pb.ResourcesServiceListResourcesResponse(
        list=[resource_pb.Resource(id=resource_pb.ResourceId(resource_type="user", resource="u"))]
        * 4
    )
    assert rpc_event("ListResources", grpc.StatusCode.OK, 0.1, users).emitted == {
        ("resource", "user"): 4
    }
    nothing = rpc_event("Validate", grpc.StatusCode.UNAUTHENTICATED, 0.1, None)
    assert (nothing.items, dict(nothing.emitted)) == (None, {})


# -- the transport's hook ----------------------------------------------------------------------


USERS_OK = json_response([user_json("user_1")])


def test_transport_tells_observers_about_every_attempt() -> None:
    clock = FakeClock()
    responses = sequence(
        json_response(clerk_errors("too_many_requests", "slow down"), 429, {"Retry-After": "2"}),
        json_response(clerk_errors("unavailable", "down", "trace-9"), 503),
        USERS_OK,
    )
    seen: list[RequestEvent] = []

    def broken(_event: RequestEvent) -> None:
        raise RuntimeError("an observer bug must not fail the request")

    with make_client(responses, clock) as client:
        client.stats.subscribe(seen.append)
        client.stats.subscribe(broken)
        client.users_page(limit=1, starting_after=None)
        client.stats.unsubscribe(seen.append)
        client.stats.unsubscribe(broken)
    assert [(e.route, e.attempt, e.status, e.error) for e in seen] == [
        ("/users", 1, 429, None),
        ("/users", 2, 503, None),
        ("/users", 3, 200, None),
    ]
    assert seen[1].rate_limit_wait_seconds == pytest.approx(2.0)  # held by the 429's pause
    assert all(e.seconds >= 0 for e in seen)
    assert CANARY_KEY not in repr(seen)


def test_transport_reports_errors_without_a_status() -> None:
    seen: list[RequestEvent] = []
    responses = sequence(httpx.ConnectError("refused"), USERS_OK)
    with make_client(responses) as client:
        client.stats.subscribe(seen.append)
        client.users_page(limit=1, starting_after=None)
    assert [(e.status, e.error) for e in seen] == [(None, "ConnectError"), (200, None)]


# -- settings ------------------------------------------------------------------------------------


def test_metrics_listen_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTOR_METRICS_LISTEN", raising=False)
    assert load_settings().metrics_listen == ""
    assert load_settings(CONNECTOR_METRICS_LISTEN="0.0.0.0:9090").metrics_listen == "0.0.0.0:9090"
    for bad in ["9090", "host:", "host:99999", "host:http"]:
        with pytest.raises(SettingsError) as caught:
            load_settings(CONNECTOR_METRICS_LISTEN=bad)
        assert str(caught.value).startswith("CONNECTOR_METRICS_LISTEN:")


# -- the HTTP server -----------------------------------------------------------------------------


def test_metrics_server_serves_metrics_and_healthz_only_until_stopped() -> None:
    metrics = ConnectorMetrics()
    metrics.observe_clerk_request(event())
    server = MetricsServer(metrics, "127.0.0.1:0")
    base = f"http://127.0.0.1:{server.port}"
    try:
        scraped = httpx.get(f"{base}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert 'clerk_connector_clerk_requests_total{route="/users",status="200"} 1.0' in (
            scraped.text
        )
        assert httpx.get(f"{base}/healthz", timeout=5).text == "ok\n"
        assert httpx.get(f"{base}/", timeout=5).status_code == 404
        assert httpx.get(f"{base}/metrics/../x", timeout=5).status_code == 404
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/metrics", timeout=2)


def test_metrics_server_reports_a_taken_port() -> None:
    metrics = ConnectorMetrics()
    first = MetricsServer(metrics, "127.0.0.1:0")
    try:
        with pytest.raises(OSError, match=f"cannot listen for metrics on 127.0.0.1:{first.port}"):
            MetricsServer(metrics, f"127.0.0.1:{first.port}")
    finally:
        first.stop()


# -- key health ----------------------------------------------------------------------------------


def statuses(servicer: health.HealthServicer) -> set[int]:
    # Check reads its context only for unknown services; these are all registered.
    return {
        servicer.Check(health_pb2.HealthCheckRequest(service=name), None).status  # type: ignore[arg-type]
        for name in ["", *SERVICES]
    }


def test_key_health_follows_clerk_verdicts() -> None:
    servicer = health.HealthServicer()
    changes: list[bool] = []
    key_health = KeyHealth(servicer, SERVICES, on_change=changes.append)
    assert statuses(servicer) == {health_pb2.HealthCheckResponse.SERVING}
    for status in (404, 429, 500, None):  # not a verdict on the key
        key_health.observe(event(status=status))
    assert key_health.accepted
    key_health.observe(event(status=401))
    assert statuses(servicer) == {health_pb2.HealthCheckResponse.NOT_SERVING}
    key_health.observe(event("/organizations", status=403))
    key_health.observe(event(status=503))
    assert not key_health.accepted
    key_health.observe(event(status=200))
    assert statuses(servicer) == {health_pb2.HealthCheckResponse.SERVING}
    assert changes == [False, True]  # transitions only


def test_rechecker_checks_at_start_then_only_while_rejected() -> None:
    servicer = health.HealthServicer()
    key_health = KeyHealth(servicer, SERVICES)
    verdicts = [401, 401, 200]
    calls: list[int] = []
    recovered = threading.Event()

    def check_key() -> None:
        status = verdicts[min(len(calls), len(verdicts) - 1)]
        calls.append(status)
        key_health.observe(event(status=status))
        if status == 200:
            recovered.set()

    rechecker = KeyRechecker(key_health, check_key, interval=0.01)
    rechecker.start()
    try:
        assert rechecker.first_check_done.wait(5)
        assert recovered.wait(5)
    finally:
        rechecker.stop()
    assert calls[:3] == [401, 401, 200]
    assert len(calls) == 3  # accepted again: no more checks
    assert key_health.accepted


def test_rechecker_survives_a_failing_check() -> None:
    key_health = KeyHealth(health.HealthServicer(), SERVICES)
    checked = threading.Event()

    def check_key() -> None:
        checked.set()
        raise RuntimeError("boom")

    rechecker = KeyRechecker(key_health, check_key, interval=10)
    rechecker.start()
    assert checked.wait(5)
    assert rechecker.first_check_done.wait(5)
    rechecker.stop()
    with pytest.raises(ValueError, match="positive"):
        KeyRechecker(key_health, check_key, interval=0)
