"""Users: TRAIT_USER resources with emails, status, login, MFA and SSO facts.

Users carry no entitlements or grants of their own (their access is granted on
organizations): the builder lists no entitlements or grants, and the c1 layer tells the
platform to skip them.

A platform may match identities by email, so the trait's `emails` and `login_aliases` hold only
addresses Clerk verified (and that are valid addresses, as the protocol requires); the others are
listed in the profile as `unverified_emails` / `invalid_emails`, a claim and not an identity.
"""

from __future__ import annotations

from connector.c1 import wire
from connector.c1.builders import Page, PageRequest, resource_id_bytes
from connector.c1.protocol import (
    MAX_NAME_BYTES,
    MAX_STATUS_DETAILS_BYTES,
    StructValue,
    clip,
    fill_struct,
    resource_pb,
    timestamp_fits,
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
        """The slow twin of `list_resources_wire`: the Resource messages."""
        users, next_token = self._next_users(ctx, page)
        built = [user_resource(user) for user in users]
        listed_users(ctx.scope).add((res.id.resource, res.display_name) for res in built)
        return Page(built, next_token)

    def list_resources_wire(self, ctx: SyncContext, page: PageRequest) -> Page[bytes]:
        """`list_resources`, each Resource serialized."""
        users, next_token = self._next_users(ctx, page)
        built = [user_resource_wire(user) for user in users]
        listed_users(ctx.scope).add(
            (user.id, name) for user, (_, name) in zip(users, built, strict=True)
        )
        return Page([data for data, _ in built], next_token)

    def _next_users(self, ctx: SyncContext, page: PageRequest) -> tuple[list[User], str]:
        listed = listed_users(ctx.scope)

        def start() -> Listing[User]:
            def ended(evidence: Evidence) -> None:
                ctx.record_evidence(evidence)
                if evidence.complete:
                    listed.complete = True  # every user is now among those served

            return ctx.client.users_listing(on_evidence=ended)

        return stream_page(
            kind=page.kind,
            token=page.token,
            size=page.size,
            scope=ctx.scope,
            cache=ctx.cache,
            start=start,
        )

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


def user_status(user: User) -> tuple[traits.UserTrait.Status.Status.ValueType, str]:
    """The UserTrait.Status value and details of a user (banned, locked, deprovisioned)."""
    reasons = []
    if user.banned:
        reasons.append("banned")
    if user.locked:
        expiry = user.lockout_expires_in_seconds
        reasons.append(f"locked (lockout expires in {expiry} s)" if expiry else "locked")
    if user.deprovisioned:
        reasons.append("deprovisioned")
    if not reasons:
        return traits.UserTrait.Status.STATUS_ENABLED, ""
    details = clip(
        ", ".join(reasons),
        MAX_STATUS_DETAILS_BYTES,
        type_id=types.USER,
        object_id=user.id,
        field="status.details",
    )
    return traits.UserTrait.Status.STATUS_DISABLED, details


def fill_status(status: traits.UserTrait.Status, user: User) -> None:
    status.status, details = user_status(user)
    if details:
        status.details = details


def login(user: User, emails: Emails) -> str:
    """Only a verified primary may stand in for a missing username."""
    return user.username or (emails.primary.email_address if emails.primary else "")


def user_profile(user: User, emails: Emails) -> dict[str, StructValue]:
    """The trait's profile: what reviewers see beside the trait's own fields (the id, given
    and family names are the resource's and the trait's, not repeated here)."""
    primary = user.primary_email
    return {
        "username": user.username,
        "external_id": user.external_id,
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
    }


def _sso_enabled(user: User) -> bool:
    return any(a.active for a in user.saml_accounts) or any(
        a.active for a in user.enterprise_accounts
    )


def _created_at(user: User) -> int | None:
    """Clerk's created_at when a Timestamp can hold it (else logged and left out)."""
    ms = user.created_at
    fits = ms is not None and timestamp_fits(
        ms, type_id=types.USER, object_id=user.id, field="created_at"
    )
    return ms if fits else None


def _last_login(user: User) -> int | None:
    ms = user.last_sign_in_at
    fits = ms is not None and timestamp_fits(
        ms, type_id=types.USER, object_id=user.id, field="last_sign_in_at"
    )
    return ms if fits else None


# -- the slow, obvious twin: protobuf messages ------------------------------------------------


def user_trait(user: User) -> traits.UserTrait:
    """The UserTrait, filled in place: building nested messages separately would copy each of
    them once more."""
    trait = traits.UserTrait(account_type=traits.UserTrait.ACCOUNT_TYPE_HUMAN)
    emails = Emails(user)
    for email in emails.identities:
        trait.emails.add(address=email.email_address, is_primary=email is emails.primary)
    trait.login = login(user, emails)
    trait.login_aliases.extend(
        e.email_address for e in emails.identities if e.email_address != trait.login
    )
    fill_status(trait.status, user)
    trait.mfa_status.mfa_enabled = user.two_factor_enabled or user.totp_enabled
    trait.sso_status.sso_enabled = _sso_enabled(user)
    trait.structured_name.given_name = user.first_name or ""
    trait.structured_name.family_name = user.last_name or ""
    fill_struct(trait.profile, user_profile(user, emails))
    created_at = _created_at(user)
    if created_at is not None:
        trait.created_at.FromMilliseconds(created_at)
    last_login = _last_login(user)
    if last_login is not None:
        trait.last_login.FromMilliseconds(last_login)
    return trait


# The two Status enums share their names and numbers.
_RESOURCE_STATUS = {
    traits.UserTrait.Status.STATUS_ENABLED: resource_pb.Resource.Status.STATUS_ENABLED,
    traits.UserTrait.Status.STATUS_DISABLED: resource_pb.Resource.Status.STATUS_DISABLED,
}


def user_resource(user: User) -> resource_pb.Resource:
    """A user's Resource (the slow twin of `user_resource_wire`)."""
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


# -- the fast path: the same Resource written as wire bytes -----------------------------------

# Field keys: UserTrait and its sub-messages, then Resource.
_EMAIL, _STATUS, _PROFILE = wire.key(1), wire.key(2), wire.key(3)
_LOGIN, _ALIAS, _CREATED_AT, _LAST_LOGIN = wire.key(6), wire.key(7), wire.key(8), wire.key(9)
_MFA, _SSO, _STRUCTURED_NAME = wire.key(10), wire.key(11), wire.key(12)
_ADDRESS, _DETAILS, _GIVEN_NAME, _FAMILY_NAME = wire.key(1), wire.key(2), wire.key(1), wire.key(2)
_ACCOUNT_HUMAN = wire.enum(5, traits.UserTrait.ACCOUNT_TYPE_HUMAN)
_RESOURCE_ID, _DISPLAY_NAME, _ANNOTATION = wire.key(1), wire.key(3), wire.key(4)
_RESOURCE_STATUS_FIELD, _RESOURCE_CREATED_AT = wire.key(11), wire.key(12)
_USER_TRAIT = traits.UserTrait.DESCRIPTOR.full_name


def user_trait_wire(user: User) -> tuple[bytes, bytes, int | None]:
    """`user_trait`'s bytes, with its Status's bytes and created_at (the resource repeats both)."""
    emails = Emails(user)
    user_login = login(user, emails)
    status, details = user_status(user)
    status_bytes = wire.enum(1, status) + wire.text(_DETAILS, details)
    created_at = _created_at(user)
    last_login = _last_login(user)
    parts = [
        wire.message(
            _EMAIL,
            wire.text(_ADDRESS, email.email_address) + wire.boolean(2, email is emails.primary),
        )
        for email in emails.identities
    ]
    parts += [
        wire.message(_STATUS, status_bytes),
        wire.message(_PROFILE, wire.struct(user_profile(user, emails))),
        _ACCOUNT_HUMAN,
        wire.text(_LOGIN, user_login),
    ]
    parts += [
        wire.message(_ALIAS, e.email_address.encode())
        for e in emails.identities
        if e.email_address != user_login
    ]
    if created_at is not None:
        parts.append(wire.timestamp_ms(_CREATED_AT, created_at))
    if last_login is not None:
        parts.append(wire.timestamp_ms(_LAST_LOGIN, last_login))
    parts += [
        wire.message(_MFA, wire.boolean(1, user.two_factor_enabled or user.totp_enabled)),
        wire.message(_SSO, wire.boolean(1, _sso_enabled(user))),
        wire.message(
            _STRUCTURED_NAME,
            wire.text(_GIVEN_NAME, user.first_name or "")
            + wire.text(_FAMILY_NAME, user.last_name or ""),
        ),
    ]
    return b"".join(parts), status_bytes, created_at


def user_resource_wire(user: User) -> tuple[bytes, str]:
    """`user_resource`'s bytes, written directly, and its display name (which the sync keeps
    for the grants that name the user)."""
    trait, status, created_at = user_trait_wire(user)
    name = display_name(user)
    parts = [
        wire.message(_RESOURCE_ID, resource_id_bytes(types.USER, user.id)),
        wire.text(_DISPLAY_NAME, name),
        wire.message(_ANNOTATION, wire.any_message(_USER_TRAIT, trait)),
        wire.message(_RESOURCE_STATUS_FIELD, status),
    ]
    if created_at is not None:
        parts.append(wire.timestamp_ms(_RESOURCE_CREATED_AT, created_at))
    return b"".join(parts), name
