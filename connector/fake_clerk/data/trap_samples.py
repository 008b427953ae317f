"""`traps()`: a small instance of schema-valid values a Clerk client tends to choke on, and
`sprinkle()`, which `generate(trap_rate=...)` uses to scatter the same traps through a big one.

Every value here is allowed by the spec; none is what a friendly fake would send. Tests refer to
rows by the constants below.

Emails (only the primary address must be verified; statuses from the spec's verification schemas)
- USER_UNVERIFIED: a verified primary (EMAIL_PRIMARY), a verified secondary (EMAIL_VERIFIED) and
  secondaries whose verification is `unverified` (EMAIL_UNVERIFIED), `failed` (EMAIL_FAILED),
  `expired` (EMAIL_EXPIRED), an OAuth-linked `unverified` one (EMAIL_OAUTH_UNVERIFIED) and one
  with `verification: null` (EMAIL_NEVER_VERIFIED).
- USER_ONLY_UNVERIFIED: one unverified address and `primary_email_address_id` null.
- USER_INVALID_EMAIL: a verified primary that is not an address at all (INVALID_PRIMARY) and a
  verified secondary with two @ signs (INVALID_SECONDARY): the schema says only "string".

Names of LONG_NAME_BYTES+ bytes of multi-byte UTF-8 (no length limit in the spec; the platform
caps display names at 1,024 bytes and descriptions at 2,048 or 4,096), built so that a cut at
1,024 bytes lands inside a character:
- USER_LONG_NAME (first and last name), ORG_LONG_NAME, ROLE_LONG_NAME and PERMISSION_LONG_NAME
  (name, and a description of LONG_TEXT_BYTES+ bytes).

Timestamps outside protobuf's Timestamp range (int64 milliseconds, no bounds in the spec):
BEFORE_YEAR_1 (one ms before 0001-01-01), AFTER_YEAR_9999 (one ms after 9999-12-31T23:59:59.999)
and the int64 extremes INT64_MIN / INT64_MAX:
- USER_EARLY: created_at, last_sign_in_at, last_active_at = BEFORE_YEAR_1.
- USER_LATE: created_at = AFTER_YEAR_9999, last_sign_in_at = INT64_MAX, last_active_at =
  AFTER_YEAR_9999.
- USER_INT64: created_at = INT64_MAX, last_sign_in_at = INT64_MIN, last_active_at = INT64_MIN.
- ORG_EARLY (BEFORE_YEAR_1), ORG_LATE (INT64_MAX), ROLE_LATE (AFTER_YEAR_9999),
  PERMISSION_EARLY (BEFORE_YEAR_1), MEMBERSHIP_LATE (AFTER_YEAR_9999).

Memberships
- MEMBERSHIP_NO_USER_DATA (in ORG_HIDDEN_MEMBER): no `public_user_data`, so no user id (optional
  in the spec); its user is USER_HIDDEN.
- Every membership carries `role_name` and `permissions[]` from its role, except in ORG_STALE:
  MEMBERSHIP_STALE_NAME holds `org:member` but shows the role's old name and permissions
  (STALE_NAME, STALE_PERMISSIONS), and MEMBERSHIP_RENAMED_KEY holds RENAMED_FROM, a key the
  catalog no longer has (the role is now ROLE_TEAM_LEAD, `org:team_lead`), with the old name and
  permissions: what a membership read shows when it raced a rename of the role.

Ties (a bulk import): BULK_USERS (12 users), BULK_ORGS (6 organizations) and the 12 memberships
of BULK_USERS in ORG_BULK_HOME all share one millisecond each (BULK_AT, BULK_AT, BULK_JOINED).

`include_members_count=true` counts every membership, MEMBERSHIP_NO_USER_DATA included.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from connector.fake_clerk.data.records import (
    TIMESTAMP_MAX_MS,
    TIMESTAMP_MIN_MS,
    EmailAddressRecord,
    MembershipRecord,
    OrganizationRecord,
    OrganizationSettingsRecord,
    PermissionRecord,
    RoleRecord,
    RoleSetRecord,
    UserRecord,
)
from connector.fake_clerk.data.store import Dataset

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
BULK_AT = T0 + 1_000 * MINUTE
BULK_JOINED = T0 + 2_000 * MINUTE

LONG_NAME_BYTES = 1_801
LONG_TEXT_BYTES = 4_097
BEFORE_YEAR_1 = TIMESTAMP_MIN_MS - 1  # -62_135_596_800_001
AFTER_YEAR_9999 = TIMESTAMP_MAX_MS + 1  # 253_402_300_800_000
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

USER_PLAIN = "user_trap_plain"
USER_UNVERIFIED = "user_trap_unverified"
USER_ONLY_UNVERIFIED = "user_trap_only_unverified"
USER_INVALID_EMAIL = "user_trap_invalid_email"
USER_LONG_NAME = "user_trap_long_name"
USER_EARLY = "user_trap_early"
USER_LATE = "user_trap_late"
USER_INT64 = "user_trap_int64"
USER_HIDDEN = "user_trap_hidden"
BULK_USERS = tuple(f"user_trap_bulk_{n:02d}" for n in range(12))

EMAIL_PRIMARY = "idn_trap_unverified_primary"
EMAIL_VERIFIED = "idn_trap_unverified_verified"
EMAIL_UNVERIFIED = "idn_trap_unverified_unverified"
EMAIL_FAILED = "idn_trap_unverified_failed"
EMAIL_EXPIRED = "idn_trap_unverified_expired"
EMAIL_OAUTH_UNVERIFIED = "idn_trap_unverified_oauth"
EMAIL_NEVER_VERIFIED = "idn_trap_unverified_never"
EMAIL_ONLY_UNVERIFIED = "idn_trap_only_unverified"
INVALID_PRIMARY = "not an email address"
INVALID_SECONDARY = "two@@example.com"

ORG_PLAIN = "org_trap_plain"
ORG_LONG_NAME = "org_trap_long_name"
ORG_EARLY = "org_trap_early"
ORG_LATE = "org_trap_late"
ORG_HIDDEN_MEMBER = "org_trap_hidden_member"
ORG_STALE = "org_trap_stale"
ORG_BULK_HOME = "org_trap_bulk_home"
BULK_ORGS = tuple(f"org_trap_bulk_{n:02d}" for n in range(6))

ROLE_ADMIN = "role_trap_admin"
ROLE_MEMBER = "role_trap_member"
ROLE_TEAM_LEAD = "role_trap_team_lead"
ROLE_LONG_NAME = "role_trap_long_name"
ROLE_LATE = "role_trap_late"
RENAMED_FROM = "org:project_lead"
STALE_NAME = "Member (before the rename)"
STALE_PERMISSIONS = ("org:sys_memberships:read", "org:reports:read")

PERMISSION_LONG_NAME = "org:trap:long_name"
PERMISSION_EARLY = "org:trap:early"

MEMBERSHIP_NO_USER_DATA = "orgmem_trap_no_user_data"
MEMBERSHIP_STALE_NAME = "orgmem_trap_stale_name"
MEMBERSHIP_RENAMED_KEY = "orgmem_trap_renamed_key"
MEMBERSHIP_LATE = "orgmem_trap_late"


def long_text(min_bytes: int, pattern: str = "名前", split_at: int = 1024) -> str:
    """At least `min_bytes` UTF-8 bytes of multi-byte `pattern` repeated, behind as many ASCII
    letters as it takes for byte `split_at` to fall inside a character."""
    for pad in range(4):
        text = "x" * pad + pattern * (-(-(min_bytes - pad) // len(pattern.encode())))
        try:
            text.encode()[:split_at].decode()
        except UnicodeDecodeError:
            return text
    raise ValueError(f"{pattern!r} has no multi-byte character to split")


def _email(
    email_id: str, address: str, status: str | None = "verified", strategy: str = "email_code"
) -> EmailAddressRecord:
    return EmailAddressRecord(
        email_id, address, verification_status=status, verification_strategy=strategy
    )


def _plain_user(user_id: str, at: int, first: str, **fields: object) -> UserRecord:
    email = _email(f"idn_{user_id}", f"{user_id.removeprefix('user_')}@example.com")
    user = UserRecord(
        user_id,
        at,
        first_name=first,
        last_name="Trap",
        email_addresses=(email,),
        primary_email_address_id=email.id,
    )
    return replace(user, **fields)  # type: ignore[arg-type]


def _users() -> list[UserRecord]:
    unverified = (
        _email(EMAIL_PRIMARY, "una@example.com"),
        _email(EMAIL_VERIFIED, "una.work@example.com"),
        _email(EMAIL_UNVERIFIED, "una.old@example.com", "unverified"),
        _email(EMAIL_FAILED, "una.typo@example.com", "failed"),
        _email(EMAIL_EXPIRED, "una.expired@example.com", "expired"),
        _email(EMAIL_OAUTH_UNVERIFIED, "una@gmail.example", "unverified", "from_oauth_google"),
        _email(EMAIL_NEVER_VERIFIED, "una.never@example.com", None),
    )
    invalid = (
        _email("idn_trap_invalid_primary", INVALID_PRIMARY),
        _email("idn_trap_invalid_secondary", INVALID_SECONDARY),
    )
    only = _email(EMAIL_ONLY_UNVERIFIED, "only.claimed@example.com", "unverified")
    return [
        _plain_user(USER_PLAIN, T0 + MINUTE, "Plain"),
        UserRecord(USER_UNVERIFIED, T0 + 2 * MINUTE, first_name="Una", last_name="Verified",
                   email_addresses=unverified, primary_email_address_id=EMAIL_PRIMARY),
        UserRecord(USER_ONLY_UNVERIFIED, T0 + 3 * MINUTE, first_name="Claim", last_name="Only",
                   email_addresses=(only,), primary_email_address_id=None),
        UserRecord(USER_INVALID_EMAIL, T0 + 4 * MINUTE, first_name="Inva", last_name="Lid",
                   email_addresses=invalid, primary_email_address_id="idn_trap_invalid_primary"),
        _plain_user(USER_LONG_NAME, T0 + 5 * MINUTE, long_text(LONG_NAME_BYTES),
                    last_name=long_text(LONG_NAME_BYTES, "🦄")),
        _plain_user(USER_EARLY, BEFORE_YEAR_1, "Early", last_sign_in_at=BEFORE_YEAR_1,
                    last_active_at=BEFORE_YEAR_1),
        _plain_user(USER_LATE, AFTER_YEAR_9999, "Late", last_sign_in_at=INT64_MAX,
                    last_active_at=AFTER_YEAR_9999),
        _plain_user(USER_INT64, INT64_MAX, "Extreme", last_sign_in_at=INT64_MIN,
                    last_active_at=INT64_MIN),
        _plain_user(USER_HIDDEN, T0 + 6 * MINUTE, "Hidden"),
        *(_plain_user(user_id, BULK_AT, f"Bulk {n}") for n, user_id in enumerate(BULK_USERS)),
    ]  # fmt: skip


def _permissions() -> list[PermissionRecord]:
    def permission(key: str, name: str, at: int, description: str = "") -> PermissionRecord:
        pid = "perm_trap_" + key.removeprefix("org:").replace(":", "_")
        system = "system" if key.startswith("org:sys_") else "user"
        return PermissionRecord(
            pid, key, name, at, description=description or f"{name}.", type=system
        )

    return [
        permission("org:sys_memberships:read", "Read members", T0),
        permission("org:sys_memberships:manage", "Manage members", T0 + 1),
        permission("org:reports:read", "Read reports", T0 + 2),
        permission("org:projects:manage", "Manage projects", T0 + 3),
        permission(PERMISSION_LONG_NAME, long_text(LONG_NAME_BYTES, "권한"), T0 + 4,
                   long_text(LONG_TEXT_BYTES, "説明")),
        permission(PERMISSION_EARLY, "Early permission", BEFORE_YEAR_1),
    ]  # fmt: skip


def _roles() -> list[RoleRecord]:
    read = "org:sys_memberships:read"
    return [
        RoleRecord(ROLE_ADMIN, "org:admin", "Admin", T0 + 10, is_creator_eligible=True,
                   permissions=(read, "org:sys_memberships:manage", "org:reports:read")),
        RoleRecord(ROLE_MEMBER, "org:member", "Member", T0 + 11, permissions=(read,)),
        RoleRecord(ROLE_TEAM_LEAD, "org:team_lead", "Team lead", T0 + 12,
                   permissions=("org:projects:manage", read),
                   description=f"Was {RENAMED_FROM} ('Project lead')."),
        RoleRecord(ROLE_LONG_NAME, "org:long_name", long_text(LONG_NAME_BYTES, "役割"), T0 + 13,
                   permissions=(PERMISSION_LONG_NAME, read),
                   description=long_text(LONG_TEXT_BYTES, "説明")),
        RoleRecord(ROLE_LATE, "org:late", "Late role", AFTER_YEAR_9999,
                   permissions=(PERMISSION_EARLY,)),
    ]  # fmt: skip


def _organizations() -> list[OrganizationRecord]:
    day = 86_400_000
    return [
        OrganizationRecord(ORG_PLAIN, "Plain Org", "plain", T0 + day),
        OrganizationRecord(
            ORG_LONG_NAME, long_text(LONG_NAME_BYTES, "組織"), "long-name", T0 + 2 * day
        ),
        OrganizationRecord(ORG_EARLY, "Early Org", "early", BEFORE_YEAR_1),
        OrganizationRecord(ORG_LATE, "Late Org", "late", INT64_MAX),
        OrganizationRecord(ORG_HIDDEN_MEMBER, "Hidden Member Org", "hidden-member", T0 + 3 * day),
        OrganizationRecord(ORG_STALE, "Stale Roles Org", "stale-roles", T0 + 4 * day),
        OrganizationRecord(ORG_BULK_HOME, "Bulk Home", "bulk-home", T0 + 5 * day),
        *(
            OrganizationRecord(org_id, f"Bulk Org {n}", f"bulk-{n}", BULK_AT)
            for n, org_id in enumerate(BULK_ORGS)
        ),
    ]


def _memberships() -> list[MembershipRecord]:
    joined = T0 + 10 * 86_400_000
    rows = [
        (ORG_PLAIN, USER_PLAIN, "org:admin"),
        (ORG_PLAIN, USER_UNVERIFIED, "org:member"),
        (ORG_PLAIN, USER_ONLY_UNVERIFIED, "org:member"),
        (ORG_PLAIN, USER_INVALID_EMAIL, "org:member"),
        (ORG_LONG_NAME, USER_LONG_NAME, "org:long_name"),
        (ORG_LONG_NAME, USER_PLAIN, "org:member"),
        (ORG_EARLY, USER_EARLY, "org:admin"),
        (ORG_LATE, USER_INT64, "org:late"),
        (ORG_HIDDEN_MEMBER, USER_PLAIN, "org:admin"),
        (ORG_STALE, USER_PLAIN, "org:admin"),
        (ORG_STALE, USER_UNVERIFIED, "org:team_lead"),
    ]
    memberships = [
        MembershipRecord(f"orgmem_trap_{n:02d}", org_id, user_id, role, joined + n * MINUTE)
        for n, (org_id, user_id, role) in enumerate(rows)
    ]
    end = joined + len(rows) * MINUTE
    memberships += [
        MembershipRecord(MEMBERSHIP_NO_USER_DATA, ORG_HIDDEN_MEMBER, USER_HIDDEN, "org:member", end,
                         public_user_data=False),
        MembershipRecord(MEMBERSHIP_STALE_NAME, ORG_STALE, USER_LONG_NAME, "org:member", end + 1,
                         stale_role_name=STALE_NAME, stale_permissions=STALE_PERMISSIONS),
        MembershipRecord(MEMBERSHIP_RENAMED_KEY, ORG_STALE, USER_HIDDEN, RENAMED_FROM, end + 2,
                         stale_role_name="Project lead",
                         stale_permissions=("org:projects:manage", "org:sys_memberships:read")),
        MembershipRecord(MEMBERSHIP_LATE, ORG_LATE, USER_LATE, "org:member", AFTER_YEAR_9999),
        *(
            MembershipRecord(f"orgmem_trap_bulk_{n:02d}", ORG_BULK_HOME, user_id, "org:member",
                             BULK_JOINED)
            for n, user_id in enumerate(BULK_USERS)
        ),
    ]  # fmt: skip
    return memberships


def traps() -> Dataset:
    """The trap instance described in this module's docstring."""
    roles = _roles()
    return Dataset(
        users=_users(),
        organizations=_organizations(),
        memberships=_memberships(),
        permissions=_permissions(),
        roles=roles,
        role_sets=[
            RoleSetRecord(
                "rs_trap_default",
                "role_set:default",
                "Default",
                T0 + 20,
                roles=tuple(role.key for role in roles),
                default_role="org:member",
                creator_role="org:admin",
                type="initial",
            )
        ],
        settings=OrganizationSettingsRecord(initial_role_set_key="role_set:default"),
    )


# -- scattered through a generated instance ---------------------------------------------------


USER_TRAPS = 5
ORGANIZATION_TRAPS = 3
MEMBERSHIP_TRAPS = 2


def _trap_user(kind: int, user: UserRecord) -> UserRecord:
    if kind == 0:  # unverified secondaries
        extra = tuple(
            _email(
                f"idn_trap_{user.id.removeprefix('user_')}_{n}",
                f"{status or 'never'}.{n}.{user.id[-6:].lower()}@example.net",
                status,
            )
            for n, status in enumerate(("unverified", "failed", "expired", None))
        )
        return replace(user, email_addresses=user.email_addresses + extra)
    if kind == 1:  # an invalid address, verified
        bad = _email(f"idn_trap_{user.id.removeprefix('user_')}_bad", f"{user.id}@@example.net")
        return replace(user, email_addresses=(*user.email_addresses, bad))
    if kind == 2:
        return replace(
            user, first_name=long_text(LONG_NAME_BYTES), last_name=long_text(LONG_NAME_BYTES, "🦄")
        )
    if kind == 3:
        return replace(
            user,
            created_at=BEFORE_YEAR_1,
            last_sign_in_at=BEFORE_YEAR_1,
            last_active_at=BEFORE_YEAR_1,
        )
    return replace(
        user, created_at=AFTER_YEAR_9999, last_sign_in_at=INT64_MAX, last_active_at=INT64_MIN
    )


def _trap_organization(kind: int, organization: OrganizationRecord) -> OrganizationRecord:
    if kind == 0:
        return replace(organization, name=long_text(LONG_NAME_BYTES, "組織"))
    return replace(organization, created_at=BEFORE_YEAR_1 if kind == 1 else INT64_MAX)


def _trap_membership(
    kind: int, membership: MembershipRecord, roles: dict[str, RoleRecord]
) -> MembershipRecord:
    if kind == 0:
        return replace(membership, public_user_data=False)
    role = roles.get(membership.role)
    name = "Renamed role" if role is None else f"{role.name} (before the rename)"
    return replace(
        membership, stale_role_name=name, stale_permissions=("org:sys_memberships:read",)
    )


def sprinkle(
    rate: float,
    seed: int,
    users: Sequence[UserRecord],
    organizations: Sequence[OrganizationRecord],
    memberships: Sequence[MembershipRecord],
    roles: Sequence[RoleRecord],
    permissions: Sequence[PermissionRecord],
) -> tuple[
    list[UserRecord],
    list[OrganizationRecord],
    list[MembershipRecord],
    list[RoleRecord],
    list[PermissionRecord],
]:
    """Give about `rate` of users, organizations and memberships one trap each (rows drawn from
    their own seeded generator, so the rest of the data is unchanged; traps taken in turn); with
    any rate > 0 the last role and the last permission also get long names and out-of-range
    creation times."""
    rng = random.Random(f"fake-clerk-traps-{seed}")
    by_key = {role.key: role for role in roles}
    # Which rows: drawn; which trap: the next in turn, so every kind shows up.
    turns = {"users": 0, "organizations": 0, "memberships": 0}

    def turn(table: str, kinds: int) -> int:
        turns[table] += 1
        return (turns[table] - 1) % kinds

    user_rows = [
        _trap_user(turn("users", USER_TRAPS), u) if rng.random() < rate else u for u in users
    ]
    org_rows = [
        _trap_organization(turn("organizations", ORGANIZATION_TRAPS), o)
        if rng.random() < rate
        else o
        for o in organizations
    ]
    member_rows = [
        _trap_membership(turn("memberships", MEMBERSHIP_TRAPS), m, by_key)
        if rng.random() < rate
        else m
        for m in memberships
    ]
    role_rows, permission_rows = list(roles), list(permissions)
    if rate > 0 and role_rows and permission_rows:
        role_rows[-1] = replace(
            role_rows[-1], name=long_text(LONG_NAME_BYTES, "役割"), created_at=AFTER_YEAR_9999
        )
        permission_rows[-1] = replace(
            permission_rows[-1],
            name=long_text(LONG_NAME_BYTES, "권한"),
            description=long_text(LONG_TEXT_BYTES, "説明"),
            created_at=BEFORE_YEAR_1,
        )
    return user_rows, org_rows, member_rows, role_rows, permission_rows
