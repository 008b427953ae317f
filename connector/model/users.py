"""Users: TRAIT_USER resources with emails, status, login, MFA and SSO facts.

Users carry no entitlements or grants of their own (their access is granted on
organizations): the builder lists no entitlements or grants, and the c1 layer tells the
platform to skip them.

A platform may match identities by email, so the trait's `emails` and `login_aliases` hold only
addresses Clerk verified (and that are valid addresses, as the protocol requires); the others are
listed in the profile as `unverified_emails` / `invalid_emails`, a claim and not an identity.
"""

from __future__ import annotations

from connector.c1.builders import Page, PageRequest
from connector.c1.protocol import (
    MAX_NAME_BYTES,
    MAX_STATUS_DETAILS_BYTES,
    clip,
    fill_struct,
    resource_pb,
    set_timestamp_ms,
    traits,
)
from connector.c1.rules import is_email_address
from connector.c1.stream import stream_page
from connector.clerk import EmailAddress, Evidence, Listing, User
from connector.model import types
from connector.model.context import SyncContext
from connector.model.principals import listed_users


class UserBuilder:
    """Users: resources only (their access is granted on organizations)."""

    type_id = types.USER

    def resource_type(self) -> resource_pb.ResourceType:
        return resource_pb.ResourceType(
            id=self.type_id,
            display_name="User",
            description="A Clerk user of this instance.",
            traits=[resource_pb.ResourceType.TRAIT_USER],
        )

    def list_resources(self, ctx: SyncContext, page: PageRequest) -> Page[resource_pb.Resource]:
        listed = listed_users(ctx.scope)

        def start() -> Listing[User]:
            def ended(evidence: Evidence) -> None:
                ctx.record_evidence(evidence)
                if evidence.complete:
                    listed.complete = True  # every user is now among those served

            return ctx.client.users_listing(on_evidence=ended)

        users, next_token = stream_page(
            kind=page.kind,
            token=page.token,
            size=page.size,
            scope=ctx.scope,
            cache=ctx.cache,
            start=start,
        )
        built = [user_resource(user) for user in users]
        listed.add(built)
        return Page(built, next_token)

    def get_resource(self, ctx: SyncContext, resource_id: str) -> resource_pb.Resource:
        return user_resource(ctx.client.get_user(resource_id))


def display_name(user: User) -> str:
    full = " ".join(part for part in (user.first_name, user.last_name) if part)
    primary = user.primary_email
    name = full or user.username or (primary.email_address if primary else "") or user.id
    return clip(name, MAX_NAME_BYTES, type_id=types.USER, object_id=user.id, field="display_name")


class Emails:
    """A user's addresses sorted for the trait: verified and valid ones are identities."""

    def __init__(self, user: User) -> None:
        primary = user.primary_email
        self.identities: list[EmailAddress] = []
        self.unverified: list[str] = []
        self.invalid: list[str] = []
        for email in user.email_addresses:
            if not email.verified:
                self.unverified.append(email.email_address)
            elif not is_email_address(email.email_address):
                self.invalid.append(email.email_address)
            else:
                self.identities.append(email)
        # The primary by identity, not by id: two addresses sharing an id are not both primary.
        self.primary = primary if any(e is primary for e in self.identities) else None


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
        status.details = clip(
            ", ".join(reasons),
            MAX_STATUS_DETAILS_BYTES,
            type_id=types.USER,
            object_id=user.id,
            field="status.details",
        )
    else:
        status.status = traits.UserTrait.Status.STATUS_ENABLED


def user_trait(user: User) -> traits.UserTrait:
    """The UserTrait, filled in place: a user is the most numerous resource, and building
    nested messages separately would copy each of them once more."""
    trait = traits.UserTrait(account_type=traits.UserTrait.ACCOUNT_TYPE_HUMAN)
    emails = Emails(user)
    primary = user.primary_email
    for email in emails.identities:
        trait.emails.add(address=email.email_address, is_primary=email is emails.primary)
    # Only a verified primary may stand in for a missing username.
    login = user.username or (emails.primary.email_address if emails.primary else "")
    trait.login = login
    trait.login_aliases.extend(
        e.email_address for e in emails.identities if e.email_address != login
    )
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
            "unverified_emails": emails.unverified or None,
            "invalid_emails": emails.invalid or None,
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
    set_timestamp_ms(
        trait.created_at, user.created_at, type_id=types.USER, object_id=user.id, field="created_at"
    )
    set_timestamp_ms(
        trait.last_login,
        user.last_sign_in_at,
        type_id=types.USER,
        object_id=user.id,
        field="last_sign_in_at",
    )
    return trait


# The two Status enums share their names and numbers.
_RESOURCE_STATUS = {
    traits.UserTrait.Status.STATUS_ENABLED: resource_pb.Resource.Status.STATUS_ENABLED,
    traits.UserTrait.Status.STATUS_DISABLED: resource_pb.Resource.Status.STATUS_DISABLED,
}


def user_resource(user: User) -> resource_pb.Resource:
    trait = user_trait(user)
    built = resource_pb.Resource(display_name=display_name(user))
    built.id.resource_type = types.USER
    built.id.resource = user.id
    built.annotations.add().Pack(trait)
    built.status.status = _RESOURCE_STATUS[trait.status.status]
    built.status.details = trait.status.details
    if trait.HasField("created_at"):
        built.created_at.CopyFrom(trait.created_at)
    return built
