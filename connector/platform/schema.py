"""The resource types and entitlement slugs of the syncs this connector writes, as the platform
side reads them back.

The platform side speaks only the protocol (it must not import the Clerk model), so the names
are stated here; they are the ids of connector.model.types, an external contract that never
changes (tests/platform/test_platform.py checks that both say the same).
"""

from __future__ import annotations

USER = "user"
ORGANIZATION = "organization"
ORGANIZATION_ROLE = "organization_role"
ORGANIZATION_PERMISSION = "organization_permission"

MEMBER_SLUG = "member"
GRANTED_SLUG = "granted"
