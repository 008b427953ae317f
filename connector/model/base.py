"""The builder contract and the pieces every builder shares.

A builder answers for one resource type. The gRPC layer owns the protocol (requests, page
sizes, error statuses); builders get a SyncContext and return a Page whose `next_token` is
"" on the last page and otherwise a token strictly after the page served.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from connector.c1 import ids, page_tokens
from connector.c1.protocol import MAX_NAME_BYTES, clip, entitlement_pb, grant_pb, resource_pb
from connector.c1.sync_cache import SyncCache, SyncScope
from connector.clerk import ClerkClient, Evidence
from connector.model.catalog import RoleCatalog, load_catalog

T = TypeVar("T")
log = structlog.get_logger(__name__)

_REFRESHED_CATALOG = "catalog_refreshed"


class ResourceNotFound(LookupError):
    """GetResource for an id Clerk does not have."""


class AccessNotAttributable(RuntimeError):
    """Clerk's data holds access the connector cannot attribute to a principal (for example a
    membership without a user): emitting the rest would present part of the access as all."""


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str = ""
    # Memberships whose role key matched no role: set by an organization's first entitlements
    # page, so each is counted once per sync (for metrics).
    unresolved_role_keys: int = 0


@dataclass
class SyncContext:
    """What a builder needs for one call: Clerk, this sync's memo scope, and the served types."""

    client: ClerkClient
    scope: SyncScope
    served: frozenset[str]
    resource_types: dict[str, resource_pb.ResourceType] = field(default_factory=dict)
    # Where listings of calls without a sync id are kept between pages (see stream.py).
    cache: SyncCache | None = None

    def catalog(self) -> RoleCatalog:
        refreshed = self.scope.lookup(_REFRESHED_CATALOG)
        if isinstance(refreshed, RoleCatalog):
            return refreshed
        return self.scope.memo("catalog", self.load_catalog)

    def refresh_catalog(self) -> bool:
        """Read the role catalog again, once per sync (memberships named a role it lacks, or
        by another name); True when this sync had not done so yet."""
        if self.scope.lookup(_REFRESHED_CATALOG) is not None:
            return False
        log.info("role_catalog_reread", reason="memberships disagree with the role catalog")
        self.scope.memo(_REFRESHED_CATALOG, self.load_catalog)
        return True

    def load_catalog(self) -> RoleCatalog:
        return load_catalog(
            self.client,
            with_permissions=self.serves(ids.ORGANIZATION_PERMISSION),
            on_evidence=self.record_evidence,
        )

    def serves(self, type_id: str) -> bool:
        return type_id in self.served

    def record_evidence(self, evidence: Evidence) -> None:
        """Keep a listing's completeness evidence in this sync's report."""
        self.scope.report.add_listing(evidence.fields())


class ResourceBuilder:
    """Base builder: a type with no entitlements or grants of its own."""

    type_id: str = ""

    def resource_type(self) -> resource_pb.ResourceType:
        raise NotImplementedError

    def list_resources(self, ctx: SyncContext, size: int, token: str) -> Page[resource_pb.Resource]:
        raise NotImplementedError

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource_pb.Resource:
        raise NotImplementedError

    def prefetch(self, ctx: SyncContext) -> None:
        """Start background reads this sync will need (`ctx.scope.start`); called when a sync
        starts listing resources. Default: nothing."""

    def list_entitlements(
        self, ctx: SyncContext, parent: resource_pb.Resource, size: int, token: str
    ) -> Page[entitlement_pb.Entitlement]:
        return Page([])

    def list_grants(
        self, ctx: SyncContext, parent: resource_pb.Resource, size: int, token: str
    ) -> Page[grant_pb.Grant]:
        return Page([])


def keyset_page(
    items: Sequence[T], key: Callable[[T], str], size: int, token: str, kind: str
) -> Page[T]:
    """Serve `items` (sorted by the unique string `key`) a page at a time.

    The token holds the last key served, not an index, so a list re-read between pages (for
    example after its cache expired) resumes at the right place: nothing is repeated, and only
    items that appeared in the meantime before that key are missed.
    """
    position = page_tokens.decode(token, kind)
    start = 0
    if position is not None:
        after = page_tokens.field(position, "after", str)
        start = bisect.bisect_right(items, after, key=key)
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    next_token = page_tokens.encode(kind, {"after": key(chunk[-1])}) if more and chunk else ""
    return Page(chunk, next_token)


def principal(type_id: str, object_id: str, display_name: str = "") -> resource_pb.Resource:
    """A resource as an entitlement or grant names it: id and display name only (the name cut
    to the protocol's limit, like the resource's own)."""
    return resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=type_id, resource=object_id),
        display_name=clip(
            display_name, MAX_NAME_BYTES, type_id=type_id, object_id=object_id, field="display_name"
        ),
    )
