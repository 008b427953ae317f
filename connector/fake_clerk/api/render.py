"""Records → the spec's JSON objects (Backend API version 2026-05-12).

Field names, `object` values and nullability follow the OpenAPI components (User, Organization,
OrganizationMembership, Role, Permission, RoleSet, OrganizationSettings, ClerkErrors). Fields the
spec marks required are always present, with `null` where the record has no value; optional
fields are present only when the real API would send them (e.g. `members_count` only when asked).
"""

from __future__ import annotations

from typing import Any

from connector.fake_clerk.data.records import (
    EmailAddressRecord,
    EnterpriseAccountRecord,
    ExternalAccountRecord,
    MembershipRecord,
    OrganizationRecord,
    OrganizationSettingsRecord,
    PasskeyRecord,
    PermissionRecord,
    PhoneNumberRecord,
    RoleRecord,
    RoleSetRecord,
    SamlAccountRecord,
    UserRecord,
)
from connector.fake_clerk.data.store import Dataset

JsonObject = dict[str, Any]

IMAGE_HOST = "https://img.clerk.com"


def _image_url(object_id: str) -> str:
    # Clerk always sends an image URL; without an uploaded image it points at a generated avatar.
    return f"{IMAGE_HOST}/{object_id}"


def _verification(status: str | None, strategy: str) -> JsonObject | None:
    if status is None:
        return None
    if strategy == "admin":
        kind = "verification_admin"
    elif strategy.startswith("from_oauth"):
        kind = "verification_from_oauth"
    else:
        kind = "verification_otp"
    return {
        "object": kind,
        "status": status,
        "strategy": strategy,
        "attempts": None,
        "expire_at": None,
    }


def email_json(email: EmailAddressRecord, user: UserRecord) -> JsonObject:
    linked = [
        {"type": account.provider, "id": account.id}
        for account in user.external_accounts
        if account.email_address == email.email_address
    ]
    return {
        "id": email.id,
        "object": "email_address",
        "email_address": email.email_address,
        "reserved": email.reserved,
        "verification": _verification(email.verification_status, email.verification_strategy),
        "linked_to": linked,
        "matches_sso_connection": False,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


def phone_json(phone: PhoneNumberRecord, user: UserRecord) -> JsonObject:
    return {
        "id": phone.id,
        "object": "phone_number",
        "phone_number": phone.phone_number,
        "reserved_for_second_factor": phone.reserved_for_second_factor,
        "default_second_factor": phone.reserved_for_second_factor,
        "reserved": False,
        "verification": _verification(phone.verification_status, "phone_code"),
        "linked_to": [],
        "backup_codes": None,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


def external_account_json(account: ExternalAccountRecord, user: UserRecord) -> JsonObject:
    linked_email = next(
        (e for e in user.email_addresses if e.email_address == account.email_address), None
    )
    identification_id = linked_email.id if linked_email else f"idn_{account.id.partition('_')[2]}"
    return {
        "object": "external_account",
        "id": account.id,
        "provider": account.provider,
        "identification_id": identification_id,
        "provider_user_id": account.provider_user_id,
        "approved_scopes": "email profile openid",
        "email_address": account.email_address,
        "email_address_verified": account.verification_status == "verified",
        "first_name": account.first_name,
        "last_name": account.last_name,
        "avatar_url": _image_url(account.id),
        "image_url": _image_url(account.id),
        "username": account.username,
        "phone_number": None,
        "public_metadata": {},
        "label": None,
        "created_at": user.created_at,
        "updated_at": user.created_at,
        "verification": {
            "object": "verification_oauth",
            "status": account.verification_status,
            "strategy": account.provider,
            "attempts": None,
            "expire_at": None,
        },
    }


def _connection_json(connection_id: str, name: str, provider: str, user: UserRecord) -> JsonObject:
    return {
        "id": connection_id,
        "name": name,
        "domains": [],
        "active": True,
        "provider": provider,
        "sync_user_attributes": True,
        "allow_subdomains": False,
        "allow_idp_initiated": False,
        "disable_additional_identifications": False,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


def _sso_verification(strategy: str) -> JsonObject:
    kind = "verification_saml" if strategy == "saml" else "verification_oauth"
    return {
        "object": kind,
        "status": "verified",
        "strategy": strategy,
        "attempts": None,
        "expire_at": None,
    }


def saml_account_json(account: SamlAccountRecord, user: UserRecord) -> JsonObject:
    return {
        "id": account.id,
        "object": "saml_account",
        "provider": account.provider,
        "active": account.active,
        "email_address": account.email_address,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "provider_user_id": account.provider_user_id,
        "last_authenticated_at": user.last_sign_in_at,
        "public_metadata": {},
        "verification": _sso_verification("saml"),
        "saml_connection": _connection_json(
            account.connection_id, account.connection_name, account.provider, user
        ),
    }


def enterprise_account_json(account: EnterpriseAccountRecord, user: UserRecord) -> JsonObject:
    connection = _connection_json(
        account.connection_id, account.connection_name, account.provider, user
    )
    connection.update({"protocol": account.protocol, "logo_public_url": None})
    strategy = "saml" if account.protocol == "saml" else account.provider
    return {
        "id": account.id,
        "object": "enterprise_account",
        "protocol": account.protocol,
        "provider": account.provider,
        "active": account.active,
        "email_address": account.email_address,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "provider_user_id": account.provider_user_id,
        "enterprise_connection_id": account.connection_id,
        "public_metadata": {},
        "verification": _sso_verification(strategy),
        "enterprise_connection": connection,
        "last_authenticated_at": user.last_sign_in_at,
    }


def passkey_json(passkey: PasskeyRecord) -> JsonObject:
    return {
        "id": passkey.id,
        "object": "passkey",
        "name": passkey.name,
        "last_used_at": passkey.last_used_at,
        "verification": {
            "object": "verification_passkey",
            "status": "verified",
            "strategy": "passkey",
            "attempts": None,
            "expire_at": None,
        },
    }


def user_json(user: UserRecord) -> JsonObject:
    updated_at = user.updated_at if user.updated_at is not None else user.created_at
    mfa = user.two_factor_enabled
    return {
        "id": user.id,
        "object": "user",
        "external_id": user.external_id,
        "primary_email_address_id": user.primary_email_address_id,
        "primary_phone_number_id": user.primary_phone_number_id,
        "primary_web3_wallet_id": None,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "locale": None,
        "profile_image_url": _image_url(user.id),
        "image_url": _image_url(user.id),
        "has_image": user.has_image,
        "public_metadata": dict(user.public_metadata),
        "private_metadata": dict(user.private_metadata),
        "unsafe_metadata": {},
        "email_addresses": [email_json(e, user) for e in user.email_addresses],
        "phone_numbers": [phone_json(p, user) for p in user.phone_numbers],
        "web3_wallets": [],
        "passkeys": [passkey_json(p) for p in user.passkeys],
        "password_enabled": user.password_enabled,
        "two_factor_enabled": user.two_factor_enabled,
        "totp_enabled": user.totp_enabled,
        "backup_code_enabled": user.backup_code_enabled,
        "mfa_enabled_at": user.created_at if mfa else None,
        "mfa_disabled_at": None,
        "password_last_updated_at": user.created_at if user.password_enabled else None,
        "external_accounts": [external_account_json(a, user) for a in user.external_accounts],
        "saml_accounts": [saml_account_json(a, user) for a in user.saml_accounts],
        "enterprise_accounts": [enterprise_account_json(a, user) for a in user.enterprise_accounts],
        "last_sign_in_at": user.last_sign_in_at,
        "banned": user.banned,
        "locked": user.locked,
        "deprovisioned": user.deprovisioned,
        "lockout_expires_in_seconds": user.lockout_expires_in_seconds if user.locked else None,
        "verification_attempts_remaining": 100,
        "updated_at": updated_at,
        "created_at": user.created_at,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "create_organizations_limit": None,
        "last_active_at": user.last_active_at,
        "legal_accepted_at": None,
        "bypass_client_trust": False,
    }


def organization_json(
    organization: OrganizationRecord, members_count: int | None = None
) -> JsonObject:
    """An Organization; `members_count` is added only when given (include_members_count=true)."""
    body: JsonObject = {
        "object": "organization",
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "image_url": _image_url(organization.id),
        "has_image": organization.has_image,
        "max_allowed_memberships": organization.max_allowed_memberships,
        "admin_delete_enabled": organization.admin_delete_enabled,
        "public_metadata": dict(organization.public_metadata),
        "private_metadata": dict(organization.private_metadata),
        "created_by": organization.created_by,
        "role_set_key": organization.role_set_key,
        "created_at": organization.created_at,
        "updated_at": (
            organization.updated_at
            if organization.updated_at is not None
            else organization.created_at
        ),
    }
    if members_count is not None:
        body["members_count"] = members_count
    return body


def _identifier(user: UserRecord) -> str | None:
    """A member's identifier: the primary email, else the primary phone, else the username."""
    email = user.email(user.primary_email_address_id)
    if email is not None:
        return email.email_address
    phone = next((p for p in user.phone_numbers if p.id == user.primary_phone_number_id), None)
    if phone is not None:
        return phone.phone_number
    return user.username


def public_user_data_json(user: UserRecord) -> JsonObject:
    return {
        "user_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "profile_image_url": _image_url(user.id),
        "image_url": _image_url(user.id),
        "has_image": user.has_image,
        "identifier": _identifier(user),
        "username": user.username,
        "banned": user.banned,
        "deprovisioned": user.deprovisioned,
    }


def membership_permissions(membership: MembershipRecord, dataset: Dataset) -> tuple[str, ...]:
    """The permission keys a membership lists: its stale copy, else its role's, else none."""
    if membership.stale_permissions is not None:
        return membership.stale_permissions
    role = dataset.roles.get(membership.role)
    return role.permissions if role is not None else ()


def membership_json(membership: MembershipRecord, dataset: Dataset) -> JsonObject:
    """An OrganizationMembership embedding its Organization (without members_count).

    `role_name` and `permissions` come from the role the key names, unless the record carries a
    stale copy; a key that matches no role has no name and no permissions (role_name is
    optional, permissions required). `public_user_data` is left out when the record says so.
    """
    organization = organization_json(dataset.organizations[membership.organization_id])
    role = dataset.roles.get(membership.role)
    name = membership.stale_role_name
    if name is None and role is not None:
        name = role.name
    permissions = membership_permissions(membership, dataset)
    body: JsonObject = {
        "id": membership.id,
        "object": "organization_membership",
        "role": membership.role,
        "permissions": list(permissions),
        "public_metadata": dict(membership.public_metadata),
        "private_metadata": dict(membership.private_metadata),
        "organization": organization,
        "public_user_data": public_user_data_json(dataset.users[membership.user_id]),
        "created_at": membership.created_at,
        "updated_at": (
            membership.updated_at if membership.updated_at is not None else membership.created_at
        ),
    }
    if not membership.public_user_data:
        del body["public_user_data"]
    if name is not None:
        body["role_name"] = name
    return body


def permission_json(permission: PermissionRecord) -> JsonObject:
    return {
        "object": "permission",
        "id": permission.id,
        "name": permission.name,
        "key": permission.key,
        "description": permission.description,
        "type": permission.type,
        "created_at": permission.created_at,
        "updated_at": (
            permission.updated_at if permission.updated_at is not None else permission.created_at
        ),
    }


def role_json(role: RoleRecord, dataset: Dataset) -> JsonObject:
    return {
        "object": "role",
        "id": role.id,
        "name": role.name,
        "key": role.key,
        "description": role.description,
        "is_creator_eligible": role.is_creator_eligible,
        "permissions": [permission_json(dataset.permissions[key]) for key in role.permissions],
        "created_at": role.created_at,
        "updated_at": role.updated_at if role.updated_at is not None else role.created_at,
    }


def _role_set_item(key: str, dataset: Dataset, role_set: RoleSetRecord) -> JsonObject:
    role = dataset.roles.get(key)
    if role is None:
        # A role set naming a key no role has: Clerk would not allow it, but stay renderable.
        return {
            "object": "role_set_item",
            "name": key,
            "key": key,
            "description": None,
            "created_at": role_set.created_at,
            "updated_at": role_set.created_at,
        }
    return {
        "object": "role_set_item",
        "id": role.id,
        "name": role.name,
        "key": role.key,
        "description": role.description,
        "created_at": role.created_at,
        "updated_at": role.updated_at if role.updated_at is not None else role.created_at,
    }


def role_set_json(role_set: RoleSetRecord, dataset: Dataset) -> JsonObject:
    def item(key: str | None) -> JsonObject | None:
        return None if key is None else _role_set_item(key, dataset, role_set)

    return {
        "object": "role_set",
        "id": role_set.id,
        "name": role_set.name,
        "key": role_set.key,
        "description": role_set.description,
        "roles": [_role_set_item(key, dataset, role_set) for key in role_set.roles],
        "default_role": item(role_set.default_role),
        "creator_role": item(role_set.creator_role),
        "type": role_set.type,
        "role_set_migration": None,
        "created_at": role_set.created_at,
        "updated_at": (
            role_set.updated_at if role_set.updated_at is not None else role_set.created_at
        ),
    }


def settings_json(settings: OrganizationSettingsRecord) -> JsonObject:
    return {
        "object": "organization_settings",
        "enabled": settings.enabled,
        "max_allowed_memberships": settings.max_allowed_memberships,
        "max_allowed_roles": settings.max_allowed_roles,
        "max_role_sets_allowed": settings.max_role_sets_allowed,
        "max_allowed_domains": settings.max_allowed_domains,
        "creator_role": settings.creator_role,
        "admin_delete_enabled": settings.admin_delete_enabled,
        "domains_enabled": settings.domains_enabled,
        "slug_disabled": settings.slug_disabled,
        "domains_enrollment_modes": list(settings.domains_enrollment_modes),
        "domains_default_role": settings.domains_default_role,
        "initial_role_set_key": settings.initial_role_set_key,
    }


def errors_json(
    code: str, message: str, long_message: str, trace_id: str, meta: JsonObject | None = None
) -> JsonObject:
    """A ClerkErrors body with one error."""
    return {
        "errors": [
            {"message": message, "long_message": long_message, "code": code, "meta": meta or {}}
        ],
        "meta": {},
        "clerk_trace_id": trace_id,
    }
