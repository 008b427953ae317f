"""The server process: the composed connector on a gRPC port, health and reflection, metrics,
and a graceful SIGTERM drain."""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import structlog
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from connector.c1.service import ignore_audit, ignore_rpc
from connector.c1.sync_cache import ignore_event
from connector.clerk.paging import ignore_evidence
from connector.server.compose import Connector, build_connector, clerk_client
from connector.server.health import RECHECK_SECONDS, KeyHealth, KeyRechecker
from connector.server.metrics import ConnectorMetrics, MetricsServer
from connector.server.tls import ServerTls, bind
from connector.settings import Settings

log = structlog.get_logger(__name__)

# Seconds in-flight calls get to finish after SIGTERM before the server cancels them.
DRAIN_SECONDS = 20.0
MAX_WORKERS = 16


@dataclass
class Observability:
    """Metrics and key health hooked into one Connector and its Clerk client."""

    app: Connector
    metrics: ConnectorMetrics
    key_health: KeyHealth
    metrics_server: MetricsServer | None = None
    rechecker: KeyRechecker | None = None

    @classmethod
    def attach(
        cls,
        app: Connector,
        metrics: ConnectorMetrics,
        key_health: KeyHealth,
        *,
        metrics_listen: str = "",
        key_recheck_seconds: float | None = None,
    ) -> Observability:
        app.client.stats.subscribe(metrics.observe_clerk_request)
        app.client.stats.subscribe(key_health.observe)
        app.service.observer = metrics.observe_rpc
        app.service.auditor = metrics.observe_provisioning
        app.client.on_evidence = metrics.observe_listing
        app.cache.on_event = metrics.observe_sync_event
        watch = cls(app, metrics, key_health)
        if metrics_listen:
            try:
                watch.metrics_server = MetricsServer(metrics, metrics_listen)
            except OSError:
                watch.stop()
                raise
            log.info("metrics_serving", listen=metrics_listen, port=watch.metrics_server.port)
        if key_recheck_seconds is not None:
            watch.rechecker = KeyRechecker(key_health, app.client.check_key, key_recheck_seconds)
            watch.rechecker.start()
        return watch

    def stop_rechecks(self) -> None:
        if self.rechecker is not None:
            self.rechecker.stop()

    def stop(self) -> None:
        self.stop_rechecks()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        self.app.client.stats.unsubscribe(self.metrics.observe_clerk_request)
        self.app.client.stats.unsubscribe(self.key_health.observe)
        self.app.service.observer = ignore_rpc
        self.app.service.auditor = ignore_audit
        self.app.client.on_evidence = ignore_evidence
        self.app.cache.on_event = ignore_event


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    observability: Observability

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float = DRAIN_SECONDS) -> None:
        self.health.enter_graceful_shutdown()
        self.observability.stop_rechecks()
        self.server.stop(grace).wait()
        # After the drain: the last calls are counted and a scrape during the drain still works.
        self.observability.stop()


def start_server(
    app: Connector,
    listen: str,
    *,
    metrics_listen: str = "",
    key_recheck_seconds: float | None = None,
    tls: ServerTls | None = None,
    allow_insecure: bool = False,
) -> RunningServer:
    """Start serving on `listen` (port 0 picks a free port) and return at once.

    With `tls` the port speaks TLS (mutual TLS when it has a client CA); without it a
    non-loopback `listen` is refused unless `allow_insecure` (see connector.server.tls.bind).

    Metrics are always collected; `metrics_listen` (HOST:PORT) also serves them over HTTP.
    With `key_recheck_seconds`, the key is checked once in the background at start and then
    re-checked at that interval while Clerk rejects it (the long-running `serve` does this).
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_WORKERS))
    server.add_generic_rpc_handlers(app.service.handlers())
    services = app.service.service_names()
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    metrics = ConnectorMetrics(active_syncs=app.cache.active_syncs)
    # Sets "" and every c1 service SERVING; NOT_SERVING while Clerk rejects the key.
    key_health = KeyHealth(health_servicer, services, on_change=metrics.set_key_valid)
    reflection.enable_server_reflection(
        [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = bind(server, listen, tls, allow_insecure=allow_insecure)
    server.start()
    log.info("serving", listen=listen, port=port, resource_types=sorted(app.service.syncers))
    try:
        watch = Observability.attach(
            app,
            metrics,
            key_health,
            metrics_listen=metrics_listen,
            key_recheck_seconds=key_recheck_seconds,
        )
    except OSError:
        server.stop(None).wait()
        raise
    return RunningServer(server, port, health_servicer, watch)


@contextmanager
def serving(
    app: Connector,
    listen: str,
    *,
    metrics_listen: str = "",
    key_recheck_seconds: float | None = None,
    tls: ServerTls | None = None,
    allow_insecure: bool = False,
) -> Iterator[RunningServer]:
    running = start_server(
        app,
        listen,
        metrics_listen=metrics_listen,
        key_recheck_seconds=key_recheck_seconds,
        tls=tls,
        allow_insecure=allow_insecure,
    )
    try:
        yield running
    finally:
        running.stop(grace=1.0)
        app.cache.close()


@contextmanager
def in_process_server(settings: Settings) -> Iterator[RunningServer]:
    """A server on a free loopback port over a client built from `settings` (sync, demo)."""
    with (
        clerk_client(settings) as client,
        serving(build_connector(settings, client), "127.0.0.1:0") as running,
    ):
        yield running


def serve_until_signalled(
    app: Connector,
    listen: str,
    *,
    metrics_listen: str = "",
    tls: ServerTls | None = None,
    allow_insecure: bool = False,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls for up to DRAIN_SECONDS."""
    # Everything alive now (modules, schemas, descriptors) lives as long as the process: keep
    # it out of the collector's full passes, which a large sync triggers again and again.
    gc.freeze()
    running = start_server(
        app,
        listen,
        metrics_listen=metrics_listen,
        key_recheck_seconds=RECHECK_SECONDS,
        tls=tls,
        allow_insecure=allow_insecure,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("shutting_down", signal=signal.Signals(signum).name, drain_seconds=DRAIN_SECONDS)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    running.stop()
    app.cache.close()
    log.info("stopped")


__all__ = [
    "Observability",
    "RunningServer",
    "build_connector",
    "clerk_client",
    "in_process_server",
    "serve_until_signalled",
    "serving",
    "start_server",
]
