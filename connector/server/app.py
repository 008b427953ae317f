"""The server process: c1 services, gRPC health and reflection, and a graceful SIGTERM drain."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from connector.clerk import ClerkClient
from connector.resources.base import ResourceBuilder
from connector.resources.organizations import OrganizationBuilder
from connector.resources.permissions import OrganizationPermissionBuilder
from connector.resources.roles import OrganizationRoleBuilder
from connector.resources.users import UserBuilder
from connector.server.service import Connector, add_servicers
from connector.settings import Settings
from connector.sync_cache import SyncCache

log = structlog.get_logger(__name__)

# Seconds in-flight calls get to finish after SIGTERM before the server cancels them.
DRAIN_SECONDS = 20.0
MAX_WORKERS = 16


def enabled_builders(settings: Settings) -> list[ResourceBuilder]:
    switches: list[tuple[bool, ResourceBuilder]] = [
        (settings.sync_users, UserBuilder()),
        (settings.sync_organizations, OrganizationBuilder()),
        (settings.sync_organization_roles, OrganizationRoleBuilder()),
        (settings.sync_organization_permissions, OrganizationPermissionBuilder()),
    ]
    return [builder for enabled, builder in switches if enabled]


def clerk_client(settings: Settings) -> ClerkClient:
    """The Clerk client every command builds from settings (raises SettingsError without a key)."""
    return ClerkClient(
        settings.clerk_api_url,
        settings.secret_key(),
        rate_limit_share=settings.rate_limit_share,
        timeout=settings.clerk_timeout_seconds,
    )


def build_connector(settings: Settings, client: ClerkClient) -> Connector:
    return Connector(
        client, enabled_builders(settings), SyncCache(settings.sync_cache_idle_seconds)
    )


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float = DRAIN_SECONDS) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def start_server(app: Connector, listen: str) -> RunningServer:
    """Start serving on `listen` (port 0 picks a free port) and return at once."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_WORKERS))
    services = add_servicers(server, app)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *services]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    server.start()
    log.info("serving", listen=listen, port=port, resource_types=sorted(app.builders))
    return RunningServer(server, port, health_servicer)


@contextmanager
def serving(app: Connector, listen: str) -> Iterator[RunningServer]:
    running = start_server(app, listen)
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


def serve_until_signalled(app: Connector, listen: str) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls for up to DRAIN_SECONDS."""
    running = start_server(app, listen)
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
    "RunningServer",
    "build_connector",
    "clerk_client",
    "in_process_server",
    "serve_until_signalled",
    "serving",
    "start_server",
]
