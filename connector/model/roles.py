"""Organization roles: TRAIT_ROLE resources, one per role of the instance.

Who holds a role is reported on the organization (the role grants); what a role allows is
reported on the permissions. A role has no entitlements of its own.
"""

from __future__ import annotations

from connector.c1.builders import Page, PageRequest, ResourceNotFound
from connector.c1.keyset import keyset_page
from connector.c1.protocol import (
    MAX_DESCRIPTION_BYTES,
    MAX_NAME_BYTES,
    clip,
    pack,
    resource_pb,
    set_timestamp_ms,
    struct,
    traits,
)
from connector.clerk import Role
from connector.model import types
from connector.model.context import SyncContext


class OrganizationRoleBuilder:
    type_id = types.ORGANIZATION_ROLE

    def resource_type(self) -> resource_pb.ResourceType:
        return resource_pb.ResourceType(
            id=self.type_id,
            display_name="Organization role",
            description="A role that organization members can hold, such as org:admin.",
            traits=[resource_pb.ResourceType.TRAIT_ROLE],
        )

    def prefetch(self, ctx: SyncContext) -> None:
        ctx.scope.start("catalog", ctx.load_catalog)

    def list_resources(self, ctx: SyncContext, page: PageRequest) -> Page[resource_pb.Resource]:
        served = keyset_page(ctx.catalog().roles, lambda role: role.id, page)
        return Page([role_resource(role) for role in served.items], served.next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource_pb.Resource:
        role = ctx.catalog().role(resource_id)
        if role is None:
            raise ResourceNotFound(f"no organization role {resource_id}")
        return role_resource(role)


def role_resource(role: Role) -> resource_pb.Resource:
    profile = struct(
        {
            "role_id": role.id,
            "key": role.key,
            "name": role.name,
            "description": role.description,
            "is_creator_eligible": role.is_creator_eligible,
            "permissions": sorted(permission.key for permission in role.permissions),
        }
    )
    built = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type=types.ORGANIZATION_ROLE, resource=role.id),
        display_name=role_display_name(role),
        description=clip(
            role.description or "",
            MAX_DESCRIPTION_BYTES,
            type_id=types.ORGANIZATION_ROLE,
            object_id=role.id,
            field="description",
        ),
        annotations=[pack(traits.RoleTrait(profile=profile))],
    )
    set_timestamp_ms(
        built.created_at,
        role.created_at,
        type_id=types.ORGANIZATION_ROLE,
        object_id=role.id,
        field="created_at",
    )
    return built


def role_display_name(role: Role) -> str:
    """The role resource's display name (also its name as a grant principal)."""
    return clip(
        role.name or role.key,
        MAX_NAME_BYTES,
        type_id=types.ORGANIZATION_ROLE,
        object_id=role.id,
        field="display_name",
    )
