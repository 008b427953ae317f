"""Users: TRAIT_USER resources with emails, status, login, MFA and SSO facts.

Users carry no entitlements or grants of their own (their access is granted on
organizations), so the type is annotated SkipEntitlementsAndGrants.
"""

from __future__ import annotations

from connector import ids
from connector.clerk import User
from connector.protocol import pack, resource, resource_tree, struct, timestamp_ms, traits
from connector.resources.base import Page, ResourceBuilder, SyncContext
from connector.resources.stream import advance, read_position

_KIND = "users"
_ROUTE = "/users"


class UserBuilder(ResourceBuilder):
    type_id = ids.USER

    def resource_type(self) -> resource.ResourceType:
        return resource.ResourceType(
            id=self.type_id,
            display_name="User",
            description="A Clerk user of this instance.",
            traits=[resource.ResourceType.TRAIT_USER],
            annotations=[pack(resource_tree.SkipEntitlementsAndGrants())],
        )

    def list_resources(self, ctx: SyncContext, size: int, token: str) -> Page[resource.Resource]:
        position = read_position(token, _KIND, str, "")
        raw = ctx.client.users_page(limit=size, starting_after=position.cursor or None)
        page = advance(
            route=_ROUTE,
            kind=_KIND,
            raw=raw,
            position=position,
            requested=size,
            exhausted=len(raw) < size,
            next_cursor=raw[-1].id if raw else "",
            created_at=lambda user: user.created_at,
            object_id=lambda user: user.id,
        )
        return Page([user_resource(user) for user in page.fresh], page.next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource.Resource:
        return user_resource(ctx.client.get_user(resource_id))


def display_name(user: User) -> str:
    full = " ".join(part for part in (user.first_name, user.last_name) if part)
    primary = user.primary_email
    return full or user.username or (primary.email_address if primary else "") or user.id


def user_status(user: User) -> traits.UserTrait.Status:
    reasons = []
    if user.banned:
        reasons.append("banned")
    if user.locked:
        expiry = user.lockout_expires_in_seconds
        reasons.append(f"locked (lockout expires in {expiry} s)" if expiry else "locked")
    if user.deprovisioned:
        reasons.append("deprovisioned")
    if reasons:
        return traits.UserTrait.Status(
            status=traits.UserTrait.Status.STATUS_DISABLED, details=", ".join(reasons)
        )
    return traits.UserTrait.Status(status=traits.UserTrait.Status.STATUS_ENABLED)


def user_trait(user: User) -> traits.UserTrait:
    primary = user.primary_email
    emails = [
        traits.UserTrait.Email(
            address=email.email_address, is_primary=primary is not None and email.id == primary.id
        )
        for email in user.email_addresses
    ]
    login = user.username or (primary.email_address if primary else "")
    aliases = [e.email_address for e in user.email_addresses if e.email_address != login]
    if user.username and user.username != login:
        aliases.insert(0, user.username)
    sso = any(a.active for a in user.saml_accounts) or any(
        a.active for a in user.enterprise_accounts
    )
    trait = traits.UserTrait(
        emails=emails,
        status=user_status(user),
        account_type=traits.UserTrait.ACCOUNT_TYPE_HUMAN,
        login=login,
        login_aliases=aliases,
        mfa_status=traits.UserTrait.MFAStatus(
            mfa_enabled=user.two_factor_enabled or user.totp_enabled
        ),
        sso_status=traits.UserTrait.SSOStatus(sso_enabled=sso),
        structured_name=traits.UserTrait.StructuredName(
            given_name=user.first_name or "", family_name=user.last_name or ""
        ),
        profile=struct(
            {
                "user_id": user.id,
                "username": user.username,
                "external_id": user.external_id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "primary_email": primary.email_address if primary else None,
                "banned": user.banned,
                "locked": user.locked,
                "deprovisioned": user.deprovisioned,
                "two_factor_enabled": user.two_factor_enabled,
                "totp_enabled": user.totp_enabled,
                "backup_code_enabled": user.backup_code_enabled,
                "password_enabled": user.password_enabled,
                "passkeys": len(user.passkeys),
                "last_active_at": user.last_active_at,
                "external_providers": sorted({a.provider for a in user.external_accounts}),
                "saml_providers": sorted({a.provider for a in user.saml_accounts}),
                "enterprise_providers": sorted({a.provider for a in user.enterprise_accounts}),
            }
        ),
    )
    for field_name, value in (
        ("created_at", timestamp_ms(user.created_at)),
        ("last_login", timestamp_ms(user.last_sign_in_at)),
    ):
        if value is not None:
            getattr(trait, field_name).CopyFrom(value)
    return trait


def user_resource(user: User) -> resource.Resource:
    trait = user_trait(user)
    built = resource.Resource(
        id=resource.ResourceId(resource_type=ids.USER, resource=user.id),
        display_name=display_name(user),
        annotations=[pack(trait)],
        status=resource.Resource.Status(
            # The two Status enums share their names and numbers.
            status=resource.Resource.Status.Status.Value(
                traits.UserTrait.Status.Status.Name(trait.status.status)
            ),
            details=trait.status.details,
        ),
    )
    built.created_at.FromMilliseconds(user.created_at)
    return built
