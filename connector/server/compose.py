"""The composition root: the Clerk client, the builders the settings switch on, and the c1
service over them. Nothing here runs a process (see process.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from connector.c1.builders import ResourceSyncer
from connector.c1.service import C1Service, ConnectorInfo, Provisioning
from connector.c1.sync_cache import SyncCache, SyncScope
from connector.clerk import ClerkClient
from connector.model import types
from connector.model.context import SyncContext
from connector.model.organizations import OrganizationBuilder
from connector.model.permissions import OrganizationPermissionBuilder
from connector.model.provisioning import MembershipProvisioner
from connector.model.roles import OrganizationRoleBuilder
from connector.model.users import UserBuilder
from connector.server.errors import failure_for
from connector.settings import Settings

log = structlog.get_logger(__name__)

INFO = ConnectorInfo(
    display_name="Clerk",
    description="Users, organizations, organization roles and permissions of a Clerk instance.",
    help_url="https://clerk.com/docs/organizations/overview",
)
# Types whose listings need the role catalog (roles, permissions, role sets).
CATALOG_TYPES = frozenset(
    {types.ORGANIZATION, types.ORGANIZATION_ROLE, types.ORGANIZATION_PERMISSION}
)

PROVISIONING_OFF = (
    "provisioning is off: set CONNECTOR_PROVISIONING=true to let Grant and Revoke change "
    "organization memberships in Clerk"
)


def _organizations(settings: Settings) -> OrganizationBuilder:
    return OrganizationBuilder(
        MembershipProvisioner(protect_last_admin=settings.protect_last_admin)
    )


# Every type the connector can serve, with the setting that switches it on: the one place a
# new type is added.
BUILDERS: tuple[
    tuple[Callable[[Settings], bool], Callable[[Settings], ResourceSyncer[SyncContext]]], ...
] = (
    (lambda s: s.sync_users, lambda _: UserBuilder()),
    (lambda s: s.sync_organizations, _organizations),
    (lambda s: s.sync_organization_roles, lambda _: OrganizationRoleBuilder()),
    (lambda s: s.sync_organization_permissions, lambda _: OrganizationPermissionBuilder()),
)


def enabled_builders(settings: Settings) -> list[ResourceSyncer[SyncContext]]:
    return [make(settings) for enabled, make in BUILDERS if enabled(settings)]


def clerk_client(settings: Settings) -> ClerkClient:
    """The Clerk client every command builds from settings (raises SettingsError without a key)."""
    return ClerkClient(
        settings.clerk_api_url,
        settings.secret_key(),
        rate_limit_share=settings.rate_limit_share,
        timeout=settings.clerk_timeout_seconds,
    )


@dataclass
class Connector:
    """The composed connector: the c1 service over the Clerk builders, and their client."""

    service: C1Service[SyncContext]
    client: ClerkClient

    @property
    def cache(self) -> SyncCache:
        return self.service.cache


def connector_over(
    client: ClerkClient,
    builders: Iterable[ResourceSyncer[SyncContext]],
    cache: SyncCache,
    provisioning: bool = False,
) -> Connector:
    builders = list(builders)
    served = frozenset(builder.type_id for builder in builders)
    # Validate's credential check reads the first roles page when the sync will need the
    # catalog, and hands it to that sync (one request saved).
    read_roles = bool(served & CATALOG_TYPES)
    service: C1Service[SyncContext]

    def context(scope: SyncScope) -> SyncContext:
        return SyncContext(
            client=client,
            scope=scope,
            served=served,
            resource_types=service.resource_types,
            cache=cache,
        )

    def validate() -> None:
        client.check_key(read_roles=read_roles)
        log.info("validated", instance=client.instance_kind)

    service = C1Service(
        builders,
        cache=cache,
        context=context,
        validate=validate,
        info=INFO,
        failure_for=failure_for,
        provisioning=Provisioning(enabled=provisioning, off_message=PROVISIONING_OFF),
    )
    return Connector(service, client)


def build_connector(settings: Settings, client: ClerkClient) -> Connector:
    return connector_over(
        client,
        enabled_builders(settings),
        SyncCache(settings.sync_cache_idle_seconds),
        provisioning=settings.provisioning,
    )
