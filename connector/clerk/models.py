"""Pydantic models of the Clerk Backend API objects a sync reads (API version 2026-05-12).

Every model ignores unknown fields and is immutable. Fields the spec marks optional or nullable
accept both an absent key and ``null``; lists read ``null`` as empty. Fields the connector
cannot work without (ids, keys, the ``created_at`` that orders a listing) stay required, so a body
that lacks them fails validation instead of producing a half-empty object; each of these is also
required by the spec. Timestamps are integer Unix milliseconds, as Clerk sends them, with no bounds
(builders leave out those a protobuf Timestamp cannot hold).

The ids of users, organizations, roles and permissions become protocol ids (alone and inside
entitlement and grant ids, which the platform caps at 1024 bytes), so they must be 1 to
`MAX_ID_BYTES` UTF-8 bytes. The spec sets no length (Clerk's ids are about 30 ASCII characters);
an id outside that range cannot be emitted faithfully (cutting it could merge two objects,
skipping it would hide access), so the body fails validation and the call fails loudly.

Metadata (public, private, unsafe) is never read: the connector emits none of it, and private
metadata may hold a customer's secrets.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def _none_as_empty_list(value: object) -> object:
    return [] if value is None else value


def _none_as_false(value: object) -> object:
    return False if value is None else value


# Bytes an object id may take: the longest composite id, a role grant
# `organization:{org}:{role}:user:{user}`, stays within the protocol's 1024 bytes.
MAX_ID_BYTES = 256


def _id_bytes(value: str) -> str:
    if len(value) * 4 > MAX_ID_BYTES and len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise ValueError(f"an id longer than {MAX_ID_BYTES} UTF-8 bytes")
    return value


T = TypeVar("T")

# An object id that becomes a protocol id: 1 to MAX_ID_BYTES UTF-8 bytes.
ObjectId = Annotated[str, Field(min_length=1), AfterValidator(_id_bytes)]

# A list that reads an absent key or `null` as empty.
Items = Annotated[list[T], BeforeValidator(_none_as_empty_list), Field(default_factory=list)]
# A flag that reads an absent key or `null` as false.
Flag = Annotated[bool, BeforeValidator(_none_as_false)]


class ClerkModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Verification(ClerkModel):
    """An identification's verification; Clerk's statuses are `unverified`, `verified`, `failed`,
    `expired` and `transferable` (by strategy). Only `verified` makes an address an identity."""

    status: str | None = None


class EmailAddress(ClerkModel):
    id: str | None = None
    email_address: str
    # Required but nullable in the spec: null means Clerk never verified the address.
    verification: Verification | None = None

    @property
    def verified(self) -> bool:
        return self.verification is not None and self.verification.status == "verified"


class LinkedAccount(ClerkModel):
    """An OAuth, SAML or enterprise account linked to a user; `provider` is e.g. `oauth_google`.

    OAuth accounts have no `active` flag; it reads as false there and is not used for them.
    """

    provider: str
    active: Flag = False


class Passkey(ClerkModel):
    id: str | None = None


class User(ClerkModel):
    id: ObjectId
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    external_id: str | None = None
    primary_email_address_id: str | None = None
    email_addresses: Items[EmailAddress]
    external_accounts: Items[LinkedAccount]
    saml_accounts: Items[LinkedAccount]
    enterprise_accounts: Items[LinkedAccount]
    passkeys: Items[Passkey]
    two_factor_enabled: Flag = False
    totp_enabled: Flag = False
    backup_code_enabled: Flag = False
    password_enabled: Flag = False
    banned: Flag = False
    locked: Flag = False
    deprovisioned: Flag = False
    lockout_expires_in_seconds: int | None = None
    last_sign_in_at: int | None = None
    last_active_at: int | None = None
    created_at: int

    @property
    def primary_email(self) -> EmailAddress | None:
        """The email address whose id is `primary_email_address_id` (not the first one listed)."""
        if self.primary_email_address_id is None:
            return None
        for email in self.email_addresses:
            if email.id == self.primary_email_address_id:
                return email
        return None


class Organization(ClerkModel):
    id: ObjectId
    name: str
    slug: str | None = None
    # Present only when asked for with include_members_count=true; None means "not reported",
    # never zero members.
    members_count: int | None = None
    max_allowed_memberships: int | None = None
    admin_delete_enabled: bool | None = None
    # None means the organization uses the instance's initial role set.
    role_set_key: str | None = None
    created_by: str | None = None
    created_at: int


class PublicUserData(ClerkModel):
    user_id: str
    identifier: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class OrganizationRef(ClerkModel):
    """The organization embedded in a membership: only its id is read (the rest is ignored,
    which also keeps parsing 500 memberships per page cheap)."""

    id: str


class OrganizationMembership(ClerkModel):
    id: str
    role: str
    # What the role key meant when Clerk answered: a check on the connector's role catalog.
    role_name: str | None = None
    permissions: Items[str]
    organization: OrganizationRef
    public_user_data: PublicUserData | None = None
    created_at: int

    @property
    def user_id(self) -> str | None:
        """The member's user id; None when Clerk sent no public_user_data."""
        return None if self.public_user_data is None else self.public_user_data.user_id


class Permission(ClerkModel):
    id: ObjectId
    key: str
    name: str | None = None
    description: str | None = None
    type: str | None = None
    created_at: int | None = None


class Role(ClerkModel):
    id: ObjectId
    key: str
    name: str | None = None
    description: str | None = None
    is_creator_eligible: Flag = False
    permissions: Items[Permission]
    created_at: int | None = None


class RoleSetRole(ClerkModel):
    """A role as listed in a role set (`RoleSetItem`): no permissions, join to Role by key."""

    id: str | None = None  # the join is by key, so an item without an id is still usable
    key: str
    name: str | None = None


class RoleSet(ClerkModel):
    id: str
    key: str
    name: str | None = None
    description: str | None = None
    roles: Items[RoleSetRole]
    # The role new members of an organization with this set get (nullable in the spec).
    default_role: RoleSetRole | None = None
    type: str | None = None
    created_at: int | None = None


class OrganizationSettings(ClerkModel):
    """The initial role set (when no role set says it is the initial one) and, for instances
    without role sets, the role new members get."""

    initial_role_set_key: str | None = None
    domains_default_role: str | None = None


class TotalCount(ClerkModel):
    total_count: int


class OffsetPage(ClerkModel, Generic[T]):
    """One page of an offset-paginated list: `{data, total_count}`."""

    data: list[T]
    total_count: int
