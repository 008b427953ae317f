"""The entitlement and grant id formats: an external contract.

Platforms store these ids; changing a format silently re-creates every grant. Keep them
byte-identical to the c1 conventions:
  entitlement id = {resource_type}:{resource_id}:{slug}
  grant id       = {entitlement_id}:{principal_type}:{principal_id}
"""

from __future__ import annotations


def entitlement_id(resource_type: str, resource_id: str, slug: str) -> str:
    return f"{resource_type}:{resource_id}:{slug}"


def grant_id(entitlement: str, principal_type: str, principal_id: str) -> str:
    return f"{entitlement}:{principal_type}:{principal_id}"
