"""`FakeClerk`: the fake Backend API as a real HTTP/1.1 server on a background thread.

    with FakeClerk(dataset) as fake:  # binds 127.0.0.1 on a free port
        auth = {"Authorization": f"Bearer {fake.secret_key}"}
        client = httpx.Client(base_url=fake.url, headers=auth)  # fake.url ends in /v1
        fake.faults.server_error(503, times=2, path="/users")
        fake.rate_limit = RateLimit(requests=100, per_seconds=10)  # and 10 writes / 10 s / object
        fake.write_limit = WriteLimit(writes=2, per_seconds=1.0)  # or None, or "auto" again
        fake.latency = Latency(milliseconds=250)  # every response, concurrent ones side by side
        fake.hooks = [Churn(fake.dataset, rate=1.0, seed=3)]  # rows change between requests
        ...
        fake.stats.by_route["GET /users"]
        fake.stats.applied_writes["POST /organizations/{id}/memberships"]

Keep-alive is on (HTTP/1.1, always a Content-Length). Nothing is logged: http.server's access log
is off, and the Authorization header is only ever compared, never stored or printed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from connector.fake_clerk.api.app import ClerkApp, WriteLimitSetting
from connector.fake_clerk.api.fragments import DEFAULT_BUDGET_BYTES
from connector.fake_clerk.api.stats import Stats
from connector.fake_clerk.behaviour.churn import RequestHook
from connector.fake_clerk.behaviour.faults import Faults
from connector.fake_clerk.behaviour.latency import Latency
from connector.fake_clerk.behaviour.ratelimit import RateLimit
from connector.fake_clerk.behaviour.write_limit import WriteLimit
from connector.fake_clerk.data.store import Dataset

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SECRET_KEY",
    "FakeClerk",
    "Latency",  # re-exported: serve() and FakeClerk take one
    "RateLimit",  # re-exported: serve() and FakeClerk take one
    "WriteLimit",
    "serve",
]

DEFAULT_SECRET_KEY = "sk_test_fake_clerk"  # noqa: S105 - the fake's well-known test key
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # for `serve` (the CLI); FakeClerk picks a free port by default
IDLE_CONNECTION_SECONDS = 60.0


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ClerkApp) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (timeouts, dropped-connection faults) is not an error; anything
        # else was already answered with a 500 and recorded in stats, so stay quiet here too.
        return

    def close_connections(self) -> None:
        """Shut every open keep-alive connection, so no handler thread serves after stop()."""
        with self.connections_lock:
            open_sockets = list(self.connections)
        for sock in open_sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "fake-clerk"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (~40 ms per request on Linux).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
        self.server.app.stats.connection_opened()

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client hung up first
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return  # no access log: it would show every path, and nothing may leak from here

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        reply = self.server.app.handle(self.command, self.path, headers, body)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.cut_body:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve


class FakeClerk:
    """A running fake Clerk instance serving `dataset` (thread-safe; a context manager)."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        host: str = DEFAULT_HOST,
        port: int = 0,
        rate_limit: RateLimit | None = None,
        write_limit: WriteLimitSetting = "auto",
        cache_bytes: int = DEFAULT_BUDGET_BYTES,
        latency: Latency | None = None,
    ) -> None:
        self.dataset = dataset
        self.faults = Faults()
        self.stats = Stats()
        self._app = ClerkApp(
            dataset,
            secret_key=secret_key,
            faults=self.faults,
            stats=self.stats,
            rate_limit=rate_limit,
            write_limit=write_limit,
            cache_bytes=cache_bytes,
            latency=latency,
        )
        self._address = (host, port)
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- settings that can change while it runs ----------------------------------------------

    @property
    def secret_key(self) -> str:
        return self._app.secret_key

    @secret_key.setter
    def secret_key(self, key: str) -> None:
        """Rotate the key: the old one is answered 401 (403 on GET /organizations(/{id}))."""
        self._app.secret_key = key

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._app.rate_limit

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        """Switch the rate limit on (a fresh window), change it, or off with None."""
        self._app.rate_limit = limit

    @property
    def write_limit(self) -> WriteLimit | None:
        """The per-object membership write limit in force."""
        return self._app.write_limit

    @write_limit.setter
    def write_limit(self, setting: WriteLimitSetting) -> None:
        """A `WriteLimit`, None (off), or "auto": `WriteLimit()` while a rate limit is on."""
        self._app.write_limit = setting

    @property
    def latency(self) -> Latency | None:
        return self._app.latency

    @latency.setter
    def latency(self, latency: Latency | None) -> None:
        """A fixed delay on every response from now on, or none with None."""
        self._app.latency = latency

    @property
    def hooks(self) -> tuple[RequestHook, ...]:
        return self._app.hooks

    @hooks.setter
    def hooks(self, hooks: Iterable[RequestHook]) -> None:
        """Callables run with the route name before each request, e.g. a `Churn`."""
        self._app.hooks = tuple(hooks)

    def warm_cache(self) -> int:
        """Pre-encode users, then memberships, up to `cache_bytes`; returns the bytes cached.

        A 500-row page of cached rows is served in about a millisecond instead of ~10 ms (the
        stdlib's json encoding of ~1 MB). Benchmarks call this before measuring.
        """
        return self._app.warm_cache()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the fake Clerk is already running")
        self._server = _HttpServer(self._address, self._app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-clerk:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (another thread called stop()) or `timeout` passes."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._bound()[0]

    @property
    def port(self) -> int:
        return self._bound()[1]

    @property
    def origin(self) -> str:
        """`http://host:port`, without the API base path."""
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL the connector's CLERK_API_URL takes: `http://host:port/v1`."""
        return f"{self.origin}/v1"

    def _bound(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the fake Clerk is not running: call start() first")
        address = self._server.server_address
        return str(address[0]), int(address[1])


def serve(
    dataset: Dataset,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    secret_key: str = DEFAULT_SECRET_KEY,
    rate_limit: RateLimit | None = None,
    latency: Latency | None = None,
    on_ready: Callable[[FakeClerk], None] | None = None,
) -> None:
    """Serve `dataset` until Ctrl-C (which returns normally); for `clerk-connector fake-clerk`.

    `on_ready` gets the running `FakeClerk` once it listens (e.g. to print `fake.url`); nothing
    else is printed, least of all the key.
    """
    fake = FakeClerk(
        dataset,
        secret_key=secret_key,
        host=host,
        port=port,
        rate_limit=rate_limit,
        latency=latency,
    )
    fake.start()
    try:
        if on_ready is not None:
            on_ready(fake)
        while fake.running:
            fake.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
