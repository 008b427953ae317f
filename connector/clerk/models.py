"""Typed records of the Clerk Backend API objects a sync reads (API version 2026-05-12).

They are msgspec Structs, decoded straight from a response body by a compiled decoder
(`connector.clerk.decoding`): no dicts in between, and fields a model does not name are skipped
unread. Every model ignores unknown fields and is immutable. Fields the spec marks optional or
nullable accept both an absent key and ``null``; lists and flags read ``null`` as empty and
false. Fields the connector cannot work without (ids, keys, the ``created_at`` that orders a
listing) stay required, so a body that lacks them fails to decode instead of producing a
half-empty object; each of these is also required by the spec. Timestamps are integer Unix
milliseconds, as Clerk sends them, with no bounds (builders leave out those a protobuf Timestamp
cannot hold).

The ids of users, organizations, roles and permissions become protocol ids (alone and inside
entitlement and grant ids, which the platform caps at 1024 bytes), so they must be 1 to
`MAX_ID_BYTES` UTF-8 bytes. The spec sets no length (Clerk's ids are about 30 ASCII characters);
an id outside that range cannot be emitted faithfully (cutting it could merge two objects,
skipping it would hide access), so the body fails to decode and the call fails loudly.

Metadata (public, private, unsafe) is never read: the connector emits none of it, and private
metadata may hold a customer's secrets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeAlias, TypeVar

from msgspec import Meta, Struct, field
from msgspec.structs import force_setattr

# Bytes an object id may take: the longest composite id, a role grant
# `organization:{org}:{role}:user:{user}`, stays within the protocol's 1024 bytes.
MAX_ID_BYTES = 256

T = TypeVar("T")

# An object id that becomes a protocol id: 1 to MAX_ID_BYTES UTF-8 bytes (the decoder checks
# the characters, the model's `__post_init__` the bytes).
ObjectId = Annotated[str, Meta(min_length=1, max_length=MAX_ID_BYTES)]

if TYPE_CHECKING:
    # What a decoded object holds: its `__post_init__` has replaced every null.
    Items: TypeAlias = list[T]
    Flag: TypeAlias = bool
else:
    # What the decoder accepts: a list or null (an absent key is the default, empty).
    Items = list[T] | None
    # A flag that may be null (an absent key is the default, false).
    Flag = bool | None


def _check_id(value: str) -> None:
    # A character takes at most 4 bytes: only a long id needs encoding to be measured.
    if len(value) * 4 > MAX_ID_BYTES and len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise ValueError(f"an id longer than {MAX_ID_BYTES} UTF-8 bytes")


class ClerkModel(Struct, frozen=True, gc=False):
    """Base of every model: immutable, unknown fields ignored, keyword-only construction (each
    subclass repeats `frozen=True, kw_only=True`: msgspec does not inherit `kw_only`, and mypy
    reads a subclass without `frozen` as mutable).

    `gc=False`: the garbage collector does not track these objects (a sync holds hundreds of
    thousands); they form no cycles, being trees decoded from JSON that nothing links back.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Annotations are strings here (`from __future__ import annotations`).
        own: dict[str, str] = inspect.get_annotations(cls)
        ids = tuple(name for name, kind in own.items() if kind == "ObjectId")
        items = tuple(name for name, kind in own.items() if kind.startswith("Items["))
        flags = tuple(name for name, kind in own.items() if kind == "Flag")
        if ids or items or flags:
            # Only models with something to finish get a __post_init__: msgspec calls it for
            # every object decoded, and most nested objects have nothing to finish.
            cls.__post_init__ = _finisher(ids, items, flags)  # type: ignore[attr-defined]


def _finisher(
    ids: tuple[str, ...], items: tuple[str, ...], flags: tuple[str, ...]
) -> Callable[[ClerkModel], None]:
    """A `__post_init__` that checks the ids' bytes and reads null lists and flags as empty and
    false. A ValueError in it fails the decode (msgspec reports it with the object's location)."""

    def finish(model: ClerkModel) -> None:
        for name in ids:
            _check_id(getattr(model, name))
        for name in items:
            if getattr(model, name) is None:
                force_setattr(model, name, [])
        for name in flags:
            if getattr(model, name) is None:
                force_setattr(model, name, False)

    return finish


class Verification(ClerkModel, frozen=True, kw_only=True):
    """An identification's verification; Clerk's statuses are `unverified`, `verified`, `failed`,
    `expired` and `transferable` (by strategy). Only `verified` makes an address an identity."""

    status: str | None = None


class EmailAddress(ClerkModel, frozen=True, kw_only=True):
    id: str | None = None
    email_address: str
    # Required but nullable in the spec: null means Clerk never verified the address.
    verification: Verification | None = None

    @property
    def verified(self) -> bool:
        return self.verification is not None and self.verification.status == "verified"


class LinkedAccount(ClerkModel, frozen=True, kw_only=True):
    """An OAuth, SAML or enterprise account linked to a user; `provider` is e.g. `oauth_google`.

    OAuth accounts have no `active` flag; it reads as false there and is not used for them.
    """

    provider: str
    active: Flag = False


class Passkey(ClerkModel, frozen=True, kw_only=True):
    id: str | None = None


class User(ClerkModel, frozen=True, kw_only=True):
    id: ObjectId
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    external_id: str | None = None
    primary_email_address_id: str | None = None
    email_addresses: Items[EmailAddress] = field(default_factory=list)
    external_accounts: Items[LinkedAccount] = field(default_factory=list)
    saml_accounts: Items[LinkedAccount] = field(default_factory=list)
    enterprise_accounts: Items[LinkedAccount] = field(default_factory=list)
    passkeys: Items[Passkey] = field(default_factory=list)
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


class Organization(ClerkModel, frozen=True, kw_only=True):
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


class PublicUserData(ClerkModel, frozen=True, kw_only=True):
    user_id: str
    identifier: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class OrganizationRef(ClerkModel, frozen=True, kw_only=True):
    """The organization embedded in a membership: only its id is read (the rest is ignored,
    which also keeps parsing 500 memberships per page cheap)."""

    id: str


class OrganizationMembership(ClerkModel, frozen=True, kw_only=True):
    id: str
    role: str
    # What the role key meant when Clerk answered: a check on the connector's role catalog.
    role_name: str | None = None
    permissions: Items[str] = field(default_factory=list)
    organization: OrganizationRef
    public_user_data: PublicUserData | None = None
    created_at: int

    @property
    def user_id(self) -> str | None:
        """The member's user id; None when Clerk sent no public_user_data."""
        return None if self.public_user_data is None else self.public_user_data.user_id


class Permission(ClerkModel, frozen=True, kw_only=True):
    id: ObjectId
    key: str
    name: str | None = None
    description: str | None = None
    type: str | None = None
    created_at: int | None = None


class Role(ClerkModel, frozen=True, kw_only=True):
    id: ObjectId
    key: str
    name: str | None = None
    description: str | None = None
    is_creator_eligible: Flag = False
    permissions: Items[Permission] = field(default_factory=list)
    created_at: int | None = None


class RoleSetRole(ClerkModel, frozen=True, kw_only=True):
    """A role as listed in a role set (`RoleSetItem`): no permissions, join to Role by key."""

    id: str | None = None  # the join is by key, so an item without an id is still usable
    key: str
    name: str | None = None


class RoleSet(ClerkModel, frozen=True, kw_only=True):
    id: str
    key: str
    name: str | None = None
    description: str | None = None
    roles: Items[RoleSetRole] = field(default_factory=list)
    # The role new members of an organization with this set get (nullable in the spec).
    default_role: RoleSetRole | None = None
    type: str | None = None
    created_at: int | None = None


class OrganizationSettings(ClerkModel, frozen=True, kw_only=True):
    """The initial role set (when no role set says it is the initial one) and, for instances
    without role sets, the role new members get."""

    initial_role_set_key: str | None = None
    domains_default_role: str | None = None


class TotalCount(ClerkModel, frozen=True, kw_only=True):
    total_count: int


class OffsetPage(ClerkModel, Generic[T], frozen=True, kw_only=True):
    """One page of an offset-paginated list: `{data, total_count}`."""

    data: list[T]
    total_count: int
