"""What every Clerk builder gets for one call (`SyncContext`), and the Clerk model's one error.

The builder contracts themselves are the c1 layer's (connector/c1/builders.py): a builder
here is a plain class that implements them with `SyncContext` as its context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from connector.c1.protocol import resource_pb
from connector.c1.sync_cache import SyncCache, SyncScope
from connector.clerk import ClerkClient, Evidence
from connector.model import types
from connector.model.catalog import RoleCatalog, load_catalog

log = structlog.get_logger(__name__)

_REFRESHED_CATALOG = "catalog_refreshed"


class AccessNotAttributable(RuntimeError):
    """Clerk's data holds access the connector cannot attribute to a principal (for example a
    membership without a user): emitting the rest would present part of the access as all."""


@dataclass
class SyncContext:
    """What a builder needs for one call: Clerk, this sync's memo scope, and the served types."""

    client: ClerkClient
    scope: SyncScope
    served: frozenset[str]
    resource_types: dict[str, resource_pb.ResourceType] = field(default_factory=dict)
    # Where listings of calls without a sync id are kept between pages (see connector/c1/stream.py).
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
            with_permissions=self.serves(types.ORGANIZATION_PERMISSION),
            on_evidence=self.record_evidence,
        )

    def serves(self, type_id: str) -> bool:
        return type_id in self.served

    def record_evidence(self, evidence: Evidence) -> None:
        """Keep a listing's completeness evidence in this sync's report."""
        self.scope.report.add_listing(evidence.fields())
