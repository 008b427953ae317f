"""Live progress of a sync on a terminal: objects per resource type, Clerk requests, waits.

Only for a terminal (`SyncProgress.for_terminal` gives None otherwise, and nothing extra is
printed). It watches the sync from outside: a gRPC client interceptor counts what each List
call returns, the sync's sleep counts its retry waits, and, when the connector runs in the
same process, every Clerk request is reported with the time it waited on the rate budget.
Clerk requests are attributed to the resource type they serve: /users to user,
/organizations and the membership lists to organization, roles, role sets and the
organization settings to organization_role, permissions to organization_permission.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TextIO, cast

import grpc
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from connector.platform import schema

_ROUTES = (
    ("/users", schema.USER),
    ("/organization_memberships", schema.ORGANIZATION),
    ("/organizations", schema.ORGANIZATION),
    ("/organization_roles", schema.ORGANIZATION_ROLE),
    ("/role_sets", schema.ORGANIZATION_ROLE),
    ("/instance/organization_settings", schema.ORGANIZATION_ROLE),
    ("/organization_permissions", schema.ORGANIZATION_PERMISSION),
)
OTHER = "other"
# List call -> (what it returns, how its request names the resource type).
_CALLS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "ListResources": ("resources", lambda request: request.resource_type_id),
    "ListStaticEntitlements": ("entitlements", lambda request: request.resource_type_id),
    "ListEntitlements": ("entitlements", lambda request: request.resource.id.resource_type),
    "ListGrants": ("grants", lambda request: request.resource.id.resource_type),
}


def route_type(route: str) -> str:
    """The resource type a Clerk route template serves."""
    for prefix, type_id in _ROUTES:
        if route == prefix or route.startswith(prefix + "/"):
            return type_id
    return OTHER


@dataclass
class _Row:
    resources: int = 0
    entitlements: int = 0
    grants: int = 0
    calls: int = 0
    clerk_requests: int = 0
    rate_limit_wait: float = 0.0


class SyncProgress:
    def __init__(self, console: Console, *, local_clerk: bool = True) -> None:
        self.console = console
        self.local_clerk = local_clerk  # False: the connector runs elsewhere, Clerk unseen
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._ended: float | None = None
        self._retry_wait = 0.0
        self._retries = 0
        self._live = Live(console=console, refresh_per_second=4, transient=False)
        self._live.get_renderable = self.render  # type: ignore[method-assign]

    @classmethod
    def for_terminal(cls, stream: TextIO, *, local_clerk: bool = True) -> SyncProgress | None:
        console = Console(file=stream)
        return cls(console, local_clerk=local_clerk) if console.is_terminal else None

    def __enter__(self) -> Self:
        self._live.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._ended = time.monotonic()
        self._live.stop()  # draws the table one last time, as it ended

    # -- what is watched ---------------------------------------------------------------------

    def channel(self, channel: grpc.Channel) -> grpc.Channel:
        return grpc.intercept_channel(channel, _Counter(self))

    def sleep(self, seconds: float) -> None:
        """The sync's wait before a retry (UNAVAILABLE, a rate limit the connector passed on)."""
        with self._lock:
            self._retries += 1
            self._retry_wait += seconds
        time.sleep(seconds)

    def clerk_request(self, route: str, rate_limit_wait_seconds: float) -> None:
        with self._lock:
            row = self._row(route_type(route))
            row.clerk_requests += 1
            row.rate_limit_wait += rate_limit_wait_seconds

    def received(self, method: str, request: Any, response: Any) -> None:
        if method == "ListResourceTypes":
            with self._lock:
                for rtype in response.list:
                    self._row(rtype.id)
            return
        kind = _CALLS.get(method)
        if kind is None:
            return
        field, type_of = kind
        with self._lock:
            row = self._row(type_of(request))
            row.calls += 1
            setattr(row, field, getattr(row, field) + len(response.list))

    def _row(self, type_id: str) -> _Row:
        return self._rows.setdefault(type_id, _Row())

    # -- what is shown -----------------------------------------------------------------------

    def render(self) -> Table:
        elapsed = (self._ended or time.monotonic()) - self._started
        state = "ended after" if self._ended is not None else "running:"
        table = Table(
            title=f"sync {state} {elapsed:.0f} s",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            collapse_padding=True,
            pad_edge=False,
        )
        table.add_column("resource type", no_wrap=True)
        for name in ("resources", "entitlements", "grants", "Clerk\nrequests", "rate-limit\nwait"):
            table.add_column(name, justify="right", no_wrap=True)
        with self._lock:
            rows = sorted(self._rows.items(), key=lambda item: (item[0] == OTHER, item[0]))
            for type_id, row in rows:
                table.add_row(
                    type_id,
                    f"{row.resources:,}",
                    f"{row.entitlements:,}",
                    f"{row.grants:,}",
                    f"{row.clerk_requests:,}" if self.local_clerk else "—",
                    f"{row.rate_limit_wait:.1f} s" if self.local_clerk else "—",
                )
            calls = sum(row.calls for row in self._rows.values())
            caption = f"{calls:,} List calls"
            if self._retries:
                caption += f", {self._retries} retries after {self._retry_wait:.1f} s of waits"
            if not self.local_clerk:
                caption += "; Clerk requests are counted by the server you connected to"
        table.caption = caption
        table.caption_justify = "left"
        return table

    def log_stream(self) -> TextIO:
        """A stream for the logs that prints above the live table instead of through it."""
        return cast(TextIO, _ConsoleStream(self.console))


class _Counter(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def __init__(self, progress: SyncProgress) -> None:
        self.progress = progress

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        outcome = continuation(client_call_details, request)
        try:
            response = outcome.result()
        except grpc.RpcError:
            return outcome  # the caller sees the error; nothing was received
        self.progress.received(client_call_details.method.rsplit("/", 1)[-1], request, response)
        return outcome


class _ConsoleStream(io.TextIOBase):
    def __init__(self, console: Console) -> None:
        self._console = console
        self._pending = ""
        self._lock = threading.Lock()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._console.print(Text.from_ansi(line), soft_wrap=True)
        return len(text)
