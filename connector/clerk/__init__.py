"""Read-only client of Clerk's Backend API (version 2026-05-12), as a sync needs it."""

from connector.clerk.client import ClerkClient, ValidationSummary
from connector.clerk.errors import (
    ClerkAuthenticationError,
    ClerkError,
    ClerkNotFoundError,
    ClerkPagingError,
    ClerkPermissionError,
    ClerkRateLimitedError,
    ClerkRequestError,
    ClerkResponseError,
    ClerkUnavailableError,
)
from connector.clerk.models import (
    EmailAddress,
    LinkedAccount,
    OffsetPage,
    Organization,
    OrganizationMembership,
    OrganizationSettings,
    Passkey,
    Permission,
    PublicUserData,
    Role,
    RoleSet,
    RoleSetRole,
    User,
)
from connector.clerk.paging import iter_offset_pages
from connector.clerk.ratelimit import InstanceKind, RequestBudget, instance_kind
from connector.clerk.transport import API_VERSION, ClerkHttp, ClientStats

__all__ = [
    "API_VERSION",
    "ClerkAuthenticationError",
    "ClerkClient",
    "ClerkError",
    "ClerkHttp",
    "ClerkNotFoundError",
    "ClerkPagingError",
    "ClerkPermissionError",
    "ClerkRateLimitedError",
    "ClerkRequestError",
    "ClerkResponseError",
    "ClerkUnavailableError",
    "ClientStats",
    "EmailAddress",
    "InstanceKind",
    "LinkedAccount",
    "OffsetPage",
    "Organization",
    "OrganizationMembership",
    "OrganizationSettings",
    "Passkey",
    "Permission",
    "PublicUserData",
    "RequestBudget",
    "Role",
    "RoleSet",
    "RoleSetRole",
    "User",
    "ValidationSummary",
    "instance_kind",
    "iter_offset_pages",
]
