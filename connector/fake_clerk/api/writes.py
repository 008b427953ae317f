"""The organization-membership writes, as the spec (2026-05-12) and Clerk's error index have them.

- `POST /organizations/{organization_id}/memberships` `{user_id, role, public_metadata?,
  private_metadata?}` → 200 with the new OrganizationMembership.
- `PATCH /organizations/{organization_id}/memberships/{user_id}` `{role}` → 200 with the updated
  membership (`updated_at` moves, `role_name` and `permissions` follow the role catalog).
- `DELETE /organizations/{organization_id}/memberships/{user_id}` → 200 with the removed membership.

Checks, in order: the organization (404 `resource_not_found`; by id only, the spec names no slug
here), the body (422 `form_param_missing` / `form_param_value_invalid`, `meta.param_name`), the
per-object write limit (429), then the user (404), the membership (400
`already_a_member_in_organization` on create, 404 on update and delete), the role (422
`form_param_value_invalid` on `role`, as Clerk's membership docs answer a role outside the
allowed values: a key no role has, or a role outside the organization's role set), the
organization's `max_allowed_memberships` (403 `organization_membership_quota_exceeded`; 0 means
no limit), and, when switched on, the last holder of a permission (400
`organization_minimum_permissions_needed`, see `faults.minimum_permissions_needed`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from connector.fake_clerk.api import errors, render
from connector.fake_clerk.api.errors import invalid_param
from connector.fake_clerk.api.request import Request
from connector.fake_clerk.behaviour.faults import Fault, FaultKind
from connector.fake_clerk.data.records import (
    EMPTY_METADATA,
    MembershipRecord,
    OrganizationRecord,
)
from connector.fake_clerk.data.store import Dataset

WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})


def create_membership(dataset: Dataset, request: Request) -> dict[str, Any]:
    organization = _organization(dataset, request)
    body = _json_body(request)
    user_id = _text(body, "user_id")
    role = _text(body, "role")
    public_metadata = _metadata(body, "public_metadata")
    private_metadata = _metadata(body, "private_metadata")
    request.throttle(organization.id, user_id)
    if dataset.user(user_id) is None:
        raise errors.not_found("user")
    if dataset.membership(organization.id, user_id) is not None:
        raise errors.already_a_member(user_id)
    _check_role(dataset, organization, role)
    quota = organization.max_allowed_memberships
    if quota > 0 and dataset.members_count(organization.id) >= quota:
        raise errors.membership_quota_exceeded(quota)
    stamp = dataset.stamp()
    membership = MembershipRecord(
        id=dataset.new_id("orgmem"),
        organization_id=organization.id,
        user_id=user_id,
        role=role,
        created_at=stamp,
        updated_at=stamp,
        public_metadata=public_metadata,
        private_metadata=private_metadata,
    )
    dataset.add_membership(membership)
    return render.membership_json(membership, dataset)


def update_membership(dataset: Dataset, request: Request) -> dict[str, Any]:
    organization = _organization(dataset, request)
    user_id = request.path_params[1]
    role = _text(_json_body(request), "role")
    request.throttle(organization.id, user_id)
    membership = _membership(dataset, organization, user_id)
    _check_role(dataset, organization, role)
    _keep_minimum_permissions(dataset, request, membership, role)
    updated = dataset.change_role(membership.id, role, updated_at=dataset.stamp())
    return render.membership_json(updated, dataset)


def delete_membership(dataset: Dataset, request: Request) -> dict[str, Any]:
    organization = _organization(dataset, request)
    user_id = request.path_params[1]
    request.throttle(organization.id, user_id)
    membership = _membership(dataset, organization, user_id)
    _keep_minimum_permissions(dataset, request, membership, None)
    removed = render.membership_json(membership, dataset)
    dataset.remove_membership(membership.id)
    return removed


# -- checks ------------------------------------------------------------------------------------


def _organization(dataset: Dataset, request: Request) -> OrganizationRecord:
    organization = dataset.organizations.get(request.path_params[0])
    if organization is None:
        raise errors.not_found("organization")
    return organization


def _membership(
    dataset: Dataset, organization: OrganizationRecord, user_id: str
) -> MembershipRecord:
    membership = dataset.membership(organization.id, user_id)
    if membership is None:
        raise errors.not_found("organization membership")
    return membership


def _json_body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        value = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_param("body", "is not a JSON object") from None
    if not isinstance(value, dict):
        raise invalid_param("body", "is not a JSON object")
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise errors.missing_param(name)
    if not isinstance(value, str):
        raise invalid_param(name, "must be a string")
    return value


def _metadata(body: Mapping[str, Any], name: str) -> Mapping[str, object]:
    value = body.get(name)
    if value is None:
        return EMPTY_METADATA
    if not isinstance(value, dict):
        raise invalid_param(name, "must be an object")
    return MappingProxyType(dict(value))


def _check_role(dataset: Dataset, organization: OrganizationRecord, role: str) -> None:
    if role not in dataset.roles:
        raise invalid_param("role", f"{role} does not match the allowed values for parameter role")
    role_set = dataset.role_set_of(organization)
    if role_set is not None and role not in role_set.roles:
        raise invalid_param(
            "role",
            f"{role} is not in the role set {role_set.key} of organization {organization.id}",
        )


def _keep_minimum_permissions(
    dataset: Dataset, request: Request, membership: MembershipRecord, new_role: str | None
) -> None:
    """Refuse (when switched on) a change that leaves no member holding the fault's permission.

    `new_role` None is a removal.
    """

    def leaves_none(fault: Fault) -> bool:
        return _leaves_no_holder(dataset, membership, new_role, fault.permission)

    if request.take({FaultKind.MINIMUM_PERMISSIONS}, leaves_none) is not None:
        raise errors.minimum_permissions_needed()


def _leaves_no_holder(
    dataset: Dataset, membership: MembershipRecord, new_role: str | None, permission: str
) -> bool:
    if permission not in render.membership_permissions(membership, dataset):
        return False
    if new_role is not None:
        role = dataset.roles.get(new_role)
        if role is not None and permission in role.permissions:
            return False
    others = dataset.organization_view(membership.organization_id).rows
    return not any(
        other.id != membership.id and permission in render.membership_permissions(other, dataset)
        for other in others
    )
