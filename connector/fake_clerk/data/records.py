"""The fake Clerk instance's objects, stored compactly and immutably.

Records hold only what the fake needs to answer requests; `render.py` turns them into the spec's
JSON shapes on demand, so a 100,000-user instance costs one small object per row instead of one
JSON dict tree per row. Timestamps are integer Unix milliseconds, as Clerk sends them. Records are
frozen: change one with `dataclasses.replace` and hand the copy to a `Dataset` mutation helper.

Every class ends in `Record` (`UserRecord`, `RoleRecord`, ...): the Clerk client has its own
`User`, `Role` and so on, parsed from the JSON these render to, and the two must never be taken
for one another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# The range of a protobuf Timestamp, in Unix milliseconds (0001-01-01 to 9999-12-31T23:59:59.999).
# Clerk's int64 timestamps have no stated bounds, so values outside it are schema-valid.
TIMESTAMP_MIN_MS = -62_135_596_800_000
TIMESTAMP_MAX_MS = 253_402_300_799_999

# One shared, read-only empty mapping: most rows have no metadata, so they all point at this.
EMPTY_METADATA: Mapping[str, object] = MappingProxyType({})


def _no_metadata() -> Mapping[str, object]:
    return EMPTY_METADATA


@dataclass(frozen=True, slots=True)
class EmailAddressRecord:
    id: str
    email_address: str
    # None renders `verification: null` (an address Clerk never tried to verify).
    verification_status: str | None = "verified"
    # email_code → verification_otp, admin → verification_admin,
    # from_oauth_<provider> → verification_from_oauth
    verification_strategy: str = "email_code"
    reserved: bool = False


@dataclass(frozen=True, slots=True)
class PhoneNumberRecord:
    id: str
    phone_number: str
    verification_status: str | None = "verified"
    reserved_for_second_factor: bool = False


@dataclass(frozen=True, slots=True)
class ExternalAccountRecord:
    """An OAuth account (`provider` such as `oauth_google`, `oauth_github`)."""

    id: str
    provider: str
    provider_user_id: str
    email_address: str
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    verification_status: str = "verified"


@dataclass(frozen=True, slots=True)
class SamlAccountRecord:
    id: str
    provider: str  # e.g. saml_okta
    provider_user_id: str | None
    email_address: str
    connection_id: str
    connection_name: str
    active: bool = True
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class EnterpriseAccountRecord:
    id: str
    protocol: str  # saml | oauth
    provider: str  # e.g. saml_okta, oauth_custom_acme
    provider_user_id: str | None
    email_address: str
    connection_id: str
    connection_name: str
    active: bool = True
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class PasskeyRecord:
    id: str
    name: str
    last_used_at: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    created_at: int
    updated_at: int | None = None  # None: same as created_at
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    external_id: str | None = None
    email_addresses: tuple[EmailAddressRecord, ...] = ()
    # Joined to email_addresses[].id; may be None, and need not name the first address.
    primary_email_address_id: str | None = None
    phone_numbers: tuple[PhoneNumberRecord, ...] = ()
    primary_phone_number_id: str | None = None
    external_accounts: tuple[ExternalAccountRecord, ...] = ()
    saml_accounts: tuple[SamlAccountRecord, ...] = ()
    enterprise_accounts: tuple[EnterpriseAccountRecord, ...] = ()
    passkeys: tuple[PasskeyRecord, ...] = ()
    password_enabled: bool = True
    two_factor_enabled: bool = False
    totp_enabled: bool = False
    backup_code_enabled: bool = False
    banned: bool = False
    locked: bool = False
    # For a locked user: seconds until the lockout ends; None means it never ends.
    lockout_expires_in_seconds: int | None = None
    deprovisioned: bool = False
    last_sign_in_at: int | None = None
    last_active_at: int | None = None
    has_image: bool = False
    public_metadata: Mapping[str, object] = field(default_factory=_no_metadata)
    private_metadata: Mapping[str, object] = field(default_factory=_no_metadata)

    def email(self, email_id: str | None) -> EmailAddressRecord | None:
        """The address with id `email_id` (None when absent or when `email_id` is None)."""
        if email_id is None:
            return None
        return next((e for e in self.email_addresses if e.id == email_id), None)


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    id: str
    name: str
    slug: str
    created_at: int
    updated_at: int | None = None
    created_by: str | None = None
    # None: the organization uses the instance's initial role set.
    role_set_key: str | None = None
    max_allowed_memberships: int = 0  # 0 means unlimited
    admin_delete_enabled: bool = True
    has_image: bool = False
    public_metadata: Mapping[str, object] = field(default_factory=_no_metadata)
    private_metadata: Mapping[str, object] = field(default_factory=_no_metadata)


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    id: str
    organization_id: str
    user_id: str
    role: str  # a role KEY; it may match no role of the instance
    created_at: int
    updated_at: int | None = None
    public_metadata: Mapping[str, object] = field(default_factory=_no_metadata)
    private_metadata: Mapping[str, object] = field(default_factory=_no_metadata)
    # False: rendered without `public_user_data` (optional in the spec), so no user id at all.
    public_user_data: bool = True
    # What a read that raced a role rename shows: `role_name` / `permissions` as they were, not
    # as the catalog has them now. None: rendered from the role the key names (the usual case).
    stale_role_name: str | None = None
    stale_permissions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PermissionRecord:
    id: str
    key: str
    name: str
    created_at: int
    description: str = ""
    type: str = "user"  # "system" for the reserved org:sys_ permissions
    updated_at: int | None = None


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: str
    key: str
    name: str
    created_at: int
    permissions: tuple[str, ...] = ()  # permission keys, resolved when rendered
    description: str | None = None
    is_creator_eligible: bool = False
    updated_at: int | None = None


@dataclass(frozen=True, slots=True)
class RoleSetRecord:
    id: str
    key: str
    name: str
    created_at: int
    roles: tuple[str, ...] = ()  # role keys
    default_role: str | None = None
    creator_role: str | None = None
    type: str = "custom"  # "initial" for the instance's initial set
    description: str | None = None
    updated_at: int | None = None


@dataclass(frozen=True, slots=True)
class OrganizationSettingsRecord:
    enabled: bool = True
    max_allowed_memberships: int = 0
    max_allowed_roles: int = 10
    max_role_sets_allowed: int = 10
    max_allowed_domains: int = 10
    creator_role: str = "org:admin"
    admin_delete_enabled: bool = True
    domains_enabled: bool = False
    slug_disabled: bool = False
    domains_enrollment_modes: tuple[str, ...] = ("manual_invitation",)
    domains_default_role: str = "org:member"
    initial_role_set_key: str | None = "role_set:default"
