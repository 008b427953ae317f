"""The resource types this connector serves, and their fixed entitlement slugs.

Platforms store ids built from these (see connector/c1/ids.py for the formats): never change them.
"""

from __future__ import annotations

USER = "user"
ORGANIZATION = "organization"
ORGANIZATION_ROLE = "organization_role"
ORGANIZATION_PERMISSION = "organization_permission"

MEMBER_SLUG = "member"
GRANTED_SLUG = "granted"
