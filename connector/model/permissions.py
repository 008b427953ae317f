"""Organization permissions, each with one `granted` entitlement held by organization roles.

A grant `organization_permission:{perm}:granted:organization_role:{role}` for every permission a
role carries lets reviewers see what each role allows.
"""

from __future__ import annotations

from connector.c1 import ids
from connector.c1.builders import Page, PageRequest, ResourceNotFound, reference
from connector.c1.keyset import keyset_page
from connector.c1.protocol import (
    MAX_DESCRIPTION_BYTES,
    MAX_NAME_BYTES,
    clip,
    entitlement_pb,
    grant_pb,
    resource_pb,
    set_timestamp_ms,
    struct,
)
from connector.clerk import Permission
from connector.model import types
from connector.model.context import SyncContext
from connector.model.roles import role_display_name

PERMISSION = entitlement_pb.Entitlement.PURPOSE_VALUE_PERMISSION


class OrganizationPermissionBuilder:
    type_id = types.ORGANIZATION_PERMISSION
    # What Grant / Revoke answer for a permission's entitlement (FAILED_PRECONDITION).
    not_provisioned_because = (
        "a permission is granted to a role, and changing a role changes it for every member "
        "holding it in every organization of the instance; change the role in Clerk's dashboard"
    )

    def resource_type(self) -> resource_pb.ResourceType:
        return resource_pb.ResourceType(
            id=self.type_id,
            display_name="Organization permission",
            description="A permission such as org:sys_memberships:manage, granted through roles.",
        )

    def prefetch(self, ctx: SyncContext) -> None:
        ctx.scope.start("catalog", ctx.load_catalog)

    def list_resources(self, ctx: SyncContext, page: PageRequest) -> Page[resource_pb.Resource]:
        permissions = ctx.catalog().permissions
        served = keyset_page(permissions, lambda perm: perm.id, page)
        return Page([permission_resource(perm) for perm in served.items], served.next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource_pb.Resource:
        permission = ctx.catalog().permission(resource_id)
        if permission is None:
            raise ResourceNotFound(f"no organization permission {resource_id}")
        return permission_resource(permission)

    def list_entitlements(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[entitlement_pb.Entitlement]:
        built = granted_entitlement(_bare(parent), _grantable_to(ctx))
        return keyset_page([built], lambda item: item.id, page)

    def list_grants(
        self, ctx: SyncContext, parent: resource_pb.Resource, page: PageRequest
    ) -> Page[grant_pb.Grant]:
        if not ctx.serves(types.ORGANIZATION_ROLE):
            return Page([])  # a switched-off type is never named by a grant
        catalog = ctx.catalog()
        permission = catalog.permission(parent.id.resource)
        if permission is None:
            return Page([])  # deleted since it was listed: it grants nothing now
        owner = _bare(parent)
        target = granted_entitlement(owner, [])
        roles = catalog.roles_with_permission(permission.key)
        served = keyset_page(roles, lambda role: role.id, page)
        return Page(
            [
                grant_pb.Grant(
                    id=ids.grant_id(target.id, types.ORGANIZATION_ROLE, role.id),
                    entitlement=target,
                    principal=reference(types.ORGANIZATION_ROLE, role.id, role_display_name(role)),
                )
                for role in served.items
            ],
            served.next_token,
        )


def permission_resource(permission: Permission) -> resource_pb.Resource:
    built = resource_pb.Resource(
        id=resource_pb.ResourceId(
            resource_type=types.ORGANIZATION_PERMISSION, resource=permission.id
        ),
        display_name=_clip(
            permission.name or permission.key, MAX_NAME_BYTES, permission.id, "display_name"
        ),
        description=_clip(
            permission.description or "", MAX_DESCRIPTION_BYTES, permission.id, "description"
        ),
        profile=struct(
            {
                "permission_id": permission.id,
                "key": permission.key,
                "name": permission.name,
                "type": permission.type,
            }
        ),
    )
    set_timestamp_ms(
        built.created_at,
        permission.created_at,
        type_id=types.ORGANIZATION_PERMISSION,
        object_id=permission.id,
        field="created_at",
    )
    return built


def _clip(text: str, most: int, permission_id: str, field: str) -> str:
    return clip(
        text, most, type_id=types.ORGANIZATION_PERMISSION, object_id=permission_id, field=field
    )


def _bare(permission: resource_pb.Resource) -> resource_pb.Resource:
    return reference(types.ORGANIZATION_PERMISSION, permission.id.resource, permission.display_name)


def _grantable_to(ctx: SyncContext) -> list[resource_pb.ResourceType]:
    role_type = ctx.resource_types.get(types.ORGANIZATION_ROLE)
    return [role_type] if role_type is not None else []


def granted_entitlement(
    permission: resource_pb.Resource, grantable: list[resource_pb.ResourceType]
) -> entitlement_pb.Entitlement:
    return entitlement_pb.Entitlement(
        resource=permission,
        id=ids.entitlement_id(
            types.ORGANIZATION_PERMISSION, permission.id.resource, types.GRANTED_SLUG
        ),
        display_name=_clip(
            f"{permission.display_name} granted",
            MAX_NAME_BYTES,
            permission.id.resource,
            "granted.display_name",
        ),
        description=_clip(
            f"Roles that carry the {permission.display_name} permission",
            MAX_DESCRIPTION_BYTES,
            permission.id.resource,
            "granted.description",
        ),
        grantable_to=grantable,
        purpose=PERMISSION,
        slug=types.GRANTED_SLUG,
    )
