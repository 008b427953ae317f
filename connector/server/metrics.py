"""Prometheus metrics of one connector server, and the small HTTP server that exposes them.

Each `ConnectorMetrics` owns its own `CollectorRegistry` (never the process-wide default), so
several servers in one process, or in one test run, never share or collide on series. It is fed
by observer callbacks (Clerk request events from the transport, RPC events from the servicers),
so neither the Clerk client nor the servicers import prometheus_client.

Label values are bounded: `route` is a path template, `status` an HTTP status or an error class
name, `method`/`code` gRPC names, `resource_type` one of the served type ids. No id, path, query
or header value, and so never the secret key, becomes a label.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from connector.c1.service import AuditEvent, RpcEvent
    from connector.clerk.paging import Evidence
    from connector.clerk.transport import RequestEvent

PREFIX = "clerk_connector"
# Seconds: Clerk answers in tens of milliseconds; a big sync page or a retried call takes longer.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ConnectorMetrics:
    """The connector's series, in a registry of its own."""

    def __init__(self, active_syncs: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.clerk_requests = Counter(
            f"{PREFIX}_clerk_requests",
            "HTTP requests sent to Clerk (every attempt, retries included)",
            ["route", "status"],
            registry=r,
        )
        self.clerk_rate_limited = Counter(
            f"{PREFIX}_clerk_rate_limited", "Clerk answers with HTTP 429", registry=r
        )
        self.rate_limit_wait = Counter(
            f"{PREFIX}_rate_limit_wait_seconds",
            "Time requests spent waiting on the client-side rate budget (and 429 pauses)",
            registry=r,
        )
        self.clerk_retries = Counter(
            f"{PREFIX}_clerk_retries", "Clerk requests that were retries", ["route"], registry=r
        )
        self.clerk_duration = Histogram(
            f"{PREFIX}_clerk_request_duration_seconds",
            "Duration of one Clerk HTTP request (send to full body)",
            ["route"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.rpc_duration = Histogram(
            f"{PREFIX}_rpc_duration_seconds",
            "Duration of c1.connector.v2 RPCs by method and gRPC status code",
            ["method", "code"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.objects_emitted = Counter(
            f"{PREFIX}_objects_emitted",
            "Resources, entitlements and grants answered to the platform",
            ["kind", "resource_type"],
            registry=r,
        )
        self.listings = Counter(
            f"{PREFIX}_clerk_listings",
            "Clerk listings finished, by outcome (complete, repaired, incomplete)",
            ["route", "outcome"],
            registry=r,
        )
        self.listing_rows = Counter(
            f"{PREFIX}_clerk_listing_rows",
            "Rows of finished Clerk listings: read (distinct), expected (Clerk's total), "
            "repaired (first read by a repair pass)",
            ["route", "measure"],
            registry=r,
        )
        self.sync_events = Counter(
            f"{PREFIX}_sync_events",
            "Things a sync dropped or flagged, by event (e.g. grants to users it never listed)",
            ["event"],
            registry=r,
        )
        self.provisioning = Counter(
            f"{PREFIX}_provisioning",
            "Grant and Revoke calls by action, resource type and outcome (granted, "
            "already_granted, replaced, revoked, already_revoked, or the failure's status); "
            "the audit log line names the entitlement, the principal and Clerk's trace id",
            ["action", "resource_type", "outcome"],
            registry=r,
        )
        self.active_syncs = Gauge(
            f"{PREFIX}_active_syncs",
            "Syncs (active_sync_id) with live per-sync caches",
            registry=r,
        )
        if active_syncs is not None:
            self.active_syncs.set_function(lambda: float(active_syncs()))
        self.clerk_key_valid = Gauge(
            f"{PREFIX}_clerk_key_valid",
            "0 while Clerk rejects the secret key (401/403), else 1",
            registry=r,
        )
        self.clerk_key_valid.set(1)  # like gRPC health: serving until Clerk says otherwise

    def observe_clerk_request(self, event: RequestEvent) -> None:
        status = str(event.status) if event.status is not None else (event.error or "error")
        self.clerk_requests.labels(route=event.route, status=status).inc()
        self.clerk_duration.labels(route=event.route).observe(event.seconds)
        if event.status == 429:
            self.clerk_rate_limited.inc()
        if event.attempt > 1:
            self.clerk_retries.labels(route=event.route).inc()
        if event.rate_limit_wait_seconds > 0:
            self.rate_limit_wait.inc(event.rate_limit_wait_seconds)

    def observe_rpc(self, event: RpcEvent) -> None:
        self.rpc_duration.labels(method=event.method, code=event.code.name).observe(event.seconds)
        for (kind, resource_type), count in event.emitted.items():
            self.objects_emitted.labels(kind=kind, resource_type=resource_type).inc(count)

    def observe_listing(self, evidence: Evidence) -> None:
        if not evidence.complete:
            outcome = "incomplete"
        else:
            outcome = "repaired" if evidence.passes > 1 else "complete"
        self.listings.labels(route=evidence.route, outcome=outcome).inc()
        for measure in ("read", "expected", "repaired"):
            rows = self.listing_rows.labels(route=evidence.route, measure=measure)
            rows.inc(getattr(evidence, measure))

    def observe_provisioning(self, event: AuditEvent) -> None:
        self.provisioning.labels(
            action=event.action, resource_type=event.resource_type, outcome=event.outcome
        ).inc()

    def observe_sync_event(self, event: str, count: int) -> None:
        self.sync_events.labels(event=event).inc(count)

    def set_key_valid(self, valid: bool) -> None:
        self.clerk_key_valid.set(1 if valid else 0)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return  # scrapes every few seconds would drown the connector's own log


class MetricsServer:
    """`GET /metrics` (Prometheus text format) and `GET /healthz` on their own port."""

    def __init__(self, metrics: ConnectorMetrics, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        server_class = _server_class(socket.AF_INET6 if ":" in host else socket.AF_INET)
        metrics_app = make_wsgi_app(metrics.registry)

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                body: Iterable[bytes] = metrics_app(environ, start_response)
                return body
            if path == "/healthz":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok\n"]
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics\n"]

        try:
            self._httpd = make_server(
                host, int(port), app, server_class=server_class, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise OSError(f"cannot listen for metrics on {listen} ({exc.strerror})") from None
        self.port: int = self._httpd.server_port
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"metrics:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _server_class(family: socket.AddressFamily) -> type[ThreadingWSGIServer]:
    class Server(ThreadingWSGIServer):
        address_family = family

    return Server


__all__ = ["ConnectorMetrics", "MetricsServer"]
