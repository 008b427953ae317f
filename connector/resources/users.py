"""Users: TRAIT_USER resources with emails, status, login, MFA and SSO facts.

Users carry no entitlements or grants of their own (their access is granted on
organizations), so the type is annotated SkipEntitlementsAndGrants.
"""

from __future__ import annotations

from connector import ids
from connector.clerk import Evidence, Listing, User
from connector.protocol import fill_struct, pack, resource, resource_tree, traits
from connector.resources.base import Page, ResourceBuilder, SyncContext
from connector.resources.principals import listed_users
from connector.resources.stream import stream_page

_KIND = "users"


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
        listed = listed_users(ctx.scope)

        def start() -> Listing[User]:
            def ended(evidence: Evidence) -> None:
                ctx.record_evidence(evidence)
                if evidence.complete:
                    listed.complete = True  # every user is now among those served

            return ctx.client.users_listing(on_evidence=ended)

        users, next_token = stream_page(
            kind=_KIND, token=token, size=size, scope=ctx.scope, cache=ctx.cache, start=start
        )
        built = [user_resource(user) for user in users]
        listed.add(built)
        return Page(built, next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource.Resource:
        return user_resource(ctx.client.get_user(resource_id))


def display_name(user: User) -> str:
    full = " ".join(part for part in (user.first_name, user.last_name) if part)
    primary = user.primary_email
    return full or user.username or (primary.email_address if primary else "") or user.id


def fill_status(status: traits.UserTrait.Status, user: User) -> None:
    reasons = []
    if user.banned:
        reasons.append("banned")
    if user.locked:
        expiry = user.lockout_expires_in_seconds
        reasons.append(f"locked (lockout expires in {expiry} s)" if expiry else "locked")
    if user.deprovisioned:
        reasons.append("deprovisioned")
    if reasons:
        status.status = traits.UserTrait.Status.STATUS_DISABLED
        status.details = ", ".join(reasons)
    else:
        status.status = traits.UserTrait.Status.STATUS_ENABLED


def user_trait(user: User) -> traits.UserTrait:
    """The UserTrait, filled in place: a user is the most numerous resource, and building
    nested messages separately would copy each of them once more."""
    trait = traits.UserTrait(account_type=traits.UserTrait.ACCOUNT_TYPE_HUMAN)
    primary = user.primary_email
    for email in user.email_addresses:
        trait.emails.add(
            address=email.email_address, is_primary=primary is not None and email.id == primary.id
        )
    login = user.username or (primary.email_address if primary else "")
    aliases = [e.email_address for e in user.email_addresses if e.email_address != login]
    if user.username and user.username != login:
        aliases.insert(0, user.username)
    trait.login = login
    trait.login_aliases.extend(aliases)
    fill_status(trait.status, user)
    trait.mfa_status.mfa_enabled = user.two_factor_enabled or user.totp_enabled
    trait.sso_status.sso_enabled = any(a.active for a in user.saml_accounts) or any(
        a.active for a in user.enterprise_accounts
    )
    trait.structured_name.given_name = user.first_name or ""
    trait.structured_name.family_name = user.last_name or ""
    fill_struct(
        trait.profile,
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
        },
    )
    trait.created_at.FromMilliseconds(user.created_at)
    if user.last_sign_in_at is not None:
        trait.last_login.FromMilliseconds(user.last_sign_in_at)
    return trait


# The two Status enums share their names and numbers.
_RESOURCE_STATUS = {
    traits.UserTrait.Status.STATUS_ENABLED: resource.Resource.Status.STATUS_ENABLED,
    traits.UserTrait.Status.STATUS_DISABLED: resource.Resource.Status.STATUS_DISABLED,
}


def user_resource(user: User) -> resource.Resource:
    trait = user_trait(user)
    built = resource.Resource(display_name=display_name(user))
    built.id.resource_type = ids.USER
    built.id.resource = user.id
    built.annotations.add().Pack(trait)
    built.status.status = _RESOURCE_STATUS[trait.status.status]
    built.status.details = trait.status.details
    built.created_at.FromMilliseconds(user.created_at)
    return built
