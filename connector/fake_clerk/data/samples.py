"""Small hand-written instances: `awkward()` for edge-case tests and `demo()` for the demo.

`awkward()` holds one of every case a Clerk client tends to get wrong. Tests refer to its rows by
the constants below (ids are readable but keep Clerk's prefixes). The cases:

Users
- USER_ALICE: the plain case (one verified primary email, a username, member of ACME as org:admin).
- USER_NO_EMAIL: no email address at all (`primary_email_address_id` null); signs in with a
  username and a phone number; the membership identifier is the phone number.
- USER_PRIMARY_SECOND: two addresses, the primary is the SECOND one (EMAIL_PRIMARY_SECOND);
  the first (EMAIL_NOT_PRIMARY) is unverified.
- USER_NULL_PRIMARY: has an email address but `primary_email_address_id` is null.
- USER_BANNED: banned; member of ACME.
- USER_LOCKED: locked with `lockout_expires_in_seconds` = LOCKOUT_SECONDS.
- USER_LOCKED_FOREVER: locked with `lockout_expires_in_seconds` null (never expires).
- USER_DEPROVISIONED: deprovisioned (`deprovisioned: true`), still a member of ACME.
- USER_TOTP: two-factor with TOTP and backup codes, plus a passkey.
- USER_OAUTH: external accounts oauth_google and oauth_github (the google one is linked to the
  primary email).
- USER_SSO: one saml_accounts entry and one enterprise_accounts entry (saml protocol).
- USER_ZOE: "Zoë" "Ångström"; USER_LI: first name "李雷", last name null;
  USER_EMOJI: "🦄 Uni" "Corn 🌈" with username "emoji_fan".
- USER_NO_NAME: first and last name null (identifier falls back to the email address).
- USER_LONELY: member of no organization.
- USER_TIE_A / USER_TIE_B / USER_TIE_C: three users created in the same millisecond (TIE_AT).

Organizations
- ORG_ACME: `role_set_key` null (uses the initial set ROLE_SET_DEFAULT); most members; a legacy
  `admin` member, a legacy `basic_member` member and MEMBERSHIP_GHOST, whose role `org:ghost`
  matches no role.
- ORG_RESTRICTED: custom role set ROLE_SET_RESTRICTED (org:admin, org:member, org:observer);
  MEMBERSHIP_OUTSIDE_SET holds org:billing_viewer, a role outside that set.
- ORG_EMPTY: zero members.
- ORG_UNICODE: name "Ünïcødé Ørg 日本", slug "unicode-org"; created in the same millisecond as
  ORG_EMPTY.

Roles (instance-level, all listed by /organization_roles)
- ROLE_ADMIN `org:admin` (all system permissions incl. `org:sys_memberships:manage`, plus
  invoices), ROLE_MEMBER `org:member`, ROLE_BILLING_VIEWER `org:billing_viewer` (custom, several
  permissions), ROLE_OBSERVER `org:observer` (no permissions at all), and the legacy keys
  ROLE_LEGACY_ADMIN `admin` and ROLE_LEGACY_BASIC_MEMBER `basic_member` with their own ids.
- PERMISSION_UNUSED (`org:unused:feature`) is granted by no role.
"""

from __future__ import annotations

from types import MappingProxyType

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

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
TIE_AT = T0 + 500 * MINUTE
LOCKOUT_SECONDS = 1800

USER_ALICE = "user_awk_alice"
USER_NO_EMAIL = "user_awk_no_email"
USER_PRIMARY_SECOND = "user_awk_primary_second"
USER_NULL_PRIMARY = "user_awk_null_primary"
USER_BANNED = "user_awk_banned"
USER_LOCKED = "user_awk_locked"
USER_LOCKED_FOREVER = "user_awk_locked_forever"
USER_DEPROVISIONED = "user_awk_deprovisioned"
USER_TOTP = "user_awk_totp"
USER_OAUTH = "user_awk_oauth"
USER_SSO = "user_awk_sso"
USER_ZOE = "user_awk_zoe"
USER_LI = "user_awk_li"
USER_EMOJI = "user_awk_emoji"
USER_NO_NAME = "user_awk_no_name"
USER_LONELY = "user_awk_lonely"
USER_TIE_A = "user_awk_tie_a"
USER_TIE_B = "user_awk_tie_b"
USER_TIE_C = "user_awk_tie_c"

EMAIL_NOT_PRIMARY = "idn_awk_primary_second_1"
EMAIL_PRIMARY_SECOND = "idn_awk_primary_second_2"

ORG_ACME = "org_awk_acme"
ORG_RESTRICTED = "org_awk_restricted"
ORG_EMPTY = "org_awk_empty"
ORG_UNICODE = "org_awk_unicode"

ROLE_ADMIN = "role_awk_admin"
ROLE_MEMBER = "role_awk_member"
ROLE_BILLING_VIEWER = "role_awk_billing_viewer"
ROLE_OBSERVER = "role_awk_observer"
ROLE_LEGACY_ADMIN = "role_awk_legacy_admin"
ROLE_LEGACY_BASIC_MEMBER = "role_awk_legacy_basic_member"
ROLE_SET_DEFAULT = "role_set:default"
ROLE_SET_RESTRICTED = "role_set:restricted"
PERMISSION_UNUSED = "org:unused:feature"

MEMBERSHIP_GHOST = "orgmem_awk_ghost"
MEMBERSHIP_OUTSIDE_SET = "orgmem_awk_outside_set"
MEMBERSHIP_LEGACY_ADMIN = "orgmem_awk_legacy_admin"
MEMBERSHIP_LEGACY_BASIC_MEMBER = "orgmem_awk_legacy_basic_member"


def _email(user_key: str, address: str, *, number: int = 1) -> EmailAddressRecord:
    return EmailAddressRecord(f"idn_awk_{user_key}_{number}", address)


def _permission(key: str, name: str, at: int) -> PermissionRecord:
    system = key.startswith("org:sys_")
    return PermissionRecord(
        id="perm_awk_" + key.removeprefix("org:").replace(":", "_"),
        key=key,
        name=name,
        description=f"{name}.",
        type="system" if system else "user",
        created_at=at,
    )


def _awkward_permissions() -> list[PermissionRecord]:
    specs = [
        ("org:sys_profile:manage", "Manage organization"),
        ("org:sys_profile:delete", "Delete organization"),
        ("org:sys_memberships:read", "Read members"),
        ("org:sys_memberships:manage", "Manage members"),
        ("org:sys_domains:read", "Read domains"),
        ("org:sys_domains:manage", "Manage domains"),
        ("org:invoices:read", "Read invoices"),
        ("org:reports:export", "Export reports"),
        (PERMISSION_UNUSED, "Unused feature"),
    ]
    return [_permission(key, name, T0 + index) for index, (key, name) in enumerate(specs)]


def _awkward_roles() -> list[RoleRecord]:
    system = (
        "org:sys_profile:manage",
        "org:sys_profile:delete",
        "org:sys_memberships:read",
        "org:sys_memberships:manage",
        "org:sys_domains:read",
        "org:sys_domains:manage",
    )
    at = T0 + 100
    return [
        RoleRecord(ROLE_LEGACY_ADMIN, "admin", "Admin (legacy)", at, permissions=system[:4],
                   description="Created before role keys were namespaced.",
                   is_creator_eligible=True),
        RoleRecord(ROLE_LEGACY_BASIC_MEMBER, "basic_member", "Member (legacy)", at + 1,
                   permissions=("org:sys_memberships:read",)),
        RoleRecord(ROLE_ADMIN, "org:admin", "Admin", at + 2,
                   permissions=(*system, "org:invoices:read"),
                   description="Full access.", is_creator_eligible=True),
        RoleRecord(ROLE_MEMBER, "org:member", "Member", at + 3,
                   permissions=("org:sys_memberships:read",)),
        RoleRecord(ROLE_BILLING_VIEWER, "org:billing_viewer", "Billing viewer", at + 4,
                   permissions=("org:invoices:read", "org:reports:export",
                                "org:sys_memberships:read"),
                   description="Sees invoices and exports reports."),
        RoleRecord(ROLE_OBSERVER, "org:observer", "Observer", at + 5, permissions=(),
                   description="A role without any permission."),
    ]  # fmt: skip


def _awkward_users() -> list[UserRecord]:
    def at(minutes: int) -> int:
        return T0 + minutes * MINUTE

    primary_second = (
        EmailAddressRecord(
            EMAIL_NOT_PRIMARY, "old.address@example.com", verification_status="unverified"
        ),
        EmailAddressRecord(EMAIL_PRIMARY_SECOND, "current.address@example.com"),
    )
    oauth_email = _email("oauth", "octo.cat@example.com")
    sso_email = _email("sso", "sam.sso@corp.example.com", number=1)
    return [
        UserRecord(USER_ALICE, at(1), first_name="Alice", last_name="Anders", username="alice",
                   email_addresses=(_email("alice", "alice@example.com"),),
                   primary_email_address_id="idn_awk_alice_1", last_sign_in_at=at(2000),
                   last_active_at=T0 + 86_400_000,
                   public_metadata=MappingProxyType({"team": "core"})),
        UserRecord(USER_NO_EMAIL, at(2), first_name="Nobody", last_name="Mailer",
                   username="no_email_user",
                   phone_numbers=(PhoneNumberRecord("idn_awk_no_email_phone", "+15550000001"),),
                   primary_phone_number_id="idn_awk_no_email_phone", password_enabled=False),
        UserRecord(USER_PRIMARY_SECOND, at(3), first_name="Pat", last_name="Second",
                   email_addresses=primary_second, primary_email_address_id=EMAIL_PRIMARY_SECOND),
        UserRecord(USER_NULL_PRIMARY, at(4), first_name="Nell", last_name="Nullprimary",
                   email_addresses=(_email("null_primary", "nell@example.com"),),
                   primary_email_address_id=None),
        UserRecord(USER_BANNED, at(5), first_name="Bart", last_name="Banned", banned=True,
                   email_addresses=(_email("banned", "bart@example.com"),),
                   primary_email_address_id="idn_awk_banned_1"),
        UserRecord(USER_LOCKED, at(6), first_name="Lockie", last_name="Locked", locked=True,
                   lockout_expires_in_seconds=LOCKOUT_SECONDS,
                   email_addresses=(_email("locked", "lockie@example.com"),),
                   primary_email_address_id="idn_awk_locked_1"),
        UserRecord(USER_LOCKED_FOREVER, at(7), first_name="Forever", last_name="Locked",
                   locked=True, lockout_expires_in_seconds=None,
                   email_addresses=(_email("locked_forever", "forever@example.com"),),
                   primary_email_address_id="idn_awk_locked_forever_1"),
        UserRecord(USER_DEPROVISIONED, at(8), first_name="Dee", last_name="Provisioned",
                   deprovisioned=True,
                   email_addresses=(_email("deprovisioned", "dee@example.com"),),
                   primary_email_address_id="idn_awk_deprovisioned_1"),
        UserRecord(USER_TOTP, at(9), first_name="Tia", last_name="Totp", two_factor_enabled=True,
                   totp_enabled=True, backup_code_enabled=True,
                   passkeys=(PasskeyRecord("pk_awk_totp", "YubiKey 5C", at(100)),),
                   email_addresses=(_email("totp", "tia@example.com"),),
                   primary_email_address_id="idn_awk_totp_1"),
        UserRecord(USER_OAUTH, at(10), first_name="Octo", last_name="Cat", username="octocat",
                   email_addresses=(oauth_email,), primary_email_address_id=oauth_email.id,
                   password_enabled=False,
                   external_accounts=(
                       ExternalAccountRecord("eac_awk_google", "oauth_google",
                                             "104857600000000000001", "octo.cat@example.com",
                                             "Octo", "Cat"),
                       ExternalAccountRecord("eac_awk_github", "oauth_github", "583231",
                                             "octocat@users.noreply.github.com", "Octo", "Cat",
                                             username="octocat"),
                   )),
        UserRecord(USER_SSO, at(11), first_name="Sam", last_name="Sso",
                   email_addresses=(sso_email,), primary_email_address_id=sso_email.id,
                   password_enabled=False,
                   saml_accounts=(SamlAccountRecord("samlacc_awk_sso", "saml_okta", "00u1sso",
                                                    sso_email.email_address, "samlc_awk_okta",
                                                    "Corp Okta", first_name="Sam",
                                                    last_name="Sso"),),
                   enterprise_accounts=(
                       EnterpriseAccountRecord("entacc_awk_sso", "saml", "saml_okta", "00u1sso",
                                               sso_email.email_address, "entconn_awk_okta",
                                               "Corp Okta", first_name="Sam", last_name="Sso"),
                   )),
        UserRecord(USER_ZOE, at(12), first_name="Zoë", last_name="Ångström", username="zoe",
                   email_addresses=(_email("zoe", "zoe@example.com"),),
                   primary_email_address_id="idn_awk_zoe_1"),
        UserRecord(USER_LI, at(13), first_name="李雷", last_name=None,
                   email_addresses=(_email("li", "lilei@example.cn"),),
                   primary_email_address_id="idn_awk_li_1"),
        UserRecord(USER_EMOJI, at(14), first_name="🦄 Uni", last_name="Corn 🌈",
                   username="emoji_fan",
                   email_addresses=(_email("emoji", "unicorn@example.com"),),
                   primary_email_address_id="idn_awk_emoji_1"),
        UserRecord(USER_NO_NAME, at(15),
                   email_addresses=(_email("no_name", "anonymous@example.com"),),
                   primary_email_address_id="idn_awk_no_name_1"),
        UserRecord(USER_LONELY, at(16), first_name="Lonely", last_name="Loner",
                   email_addresses=(_email("lonely", "lonely@example.com"),),
                   primary_email_address_id="idn_awk_lonely_1"),
        *(
            UserRecord(user_id, TIE_AT, first_name="Tie", last_name=suffix.upper(),
                       email_addresses=(_email(f"tie_{suffix}", f"tie.{suffix}@example.com"),),
                       primary_email_address_id=f"idn_awk_tie_{suffix}_1")
            for user_id, suffix in ((USER_TIE_B, "b"), (USER_TIE_A, "a"), (USER_TIE_C, "c"))
        ),
    ]  # fmt: skip


def awkward() -> Dataset:
    """The edge-case instance described in this module's docstring."""
    day = 86_400_000
    organizations = [
        OrganizationRecord(ORG_ACME, "Acme Corp", "acme", T0 + day, created_by=USER_ALICE,
                           public_metadata=MappingProxyType({"plan": "enterprise"})),
        OrganizationRecord(ORG_RESTRICTED, "Restricted Ltd", "restricted", T0 + 2 * day,
                           role_set_key=ROLE_SET_RESTRICTED, max_allowed_memberships=5),
        OrganizationRecord(ORG_EMPTY, "Empty Inc", "empty", T0 + 3 * day),
        OrganizationRecord(ORG_UNICODE, "Ünïcødé Ørg 日本", "unicode-org", T0 + 3 * day,
                           created_by=USER_ZOE),
    ]  # fmt: skip
    members = [
        (ORG_ACME, USER_ALICE, "org:admin"),
        (ORG_ACME, USER_NO_EMAIL, "org:member"),
        (ORG_ACME, USER_PRIMARY_SECOND, "org:billing_viewer"),
        (ORG_ACME, USER_NULL_PRIMARY, "org:member"),
        (ORG_ACME, USER_BANNED, "org:member"),
        (ORG_ACME, USER_LOCKED, "org:member"),
        (ORG_ACME, USER_DEPROVISIONED, "org:member"),
        (ORG_ACME, USER_TOTP, "admin"),
        (ORG_ACME, USER_OAUTH, "basic_member"),
        (ORG_ACME, USER_SSO, "org:ghost"),
        (ORG_ACME, USER_EMOJI, "org:member"),
        (ORG_ACME, USER_NO_NAME, "org:member"),
        (ORG_ACME, USER_TIE_A, "org:member"),
        (ORG_ACME, USER_TIE_B, "org:member"),
        (ORG_RESTRICTED, USER_ALICE, "org:admin"),
        (ORG_RESTRICTED, USER_LOCKED_FOREVER, "org:observer"),
        (ORG_RESTRICTED, USER_ZOE, "org:billing_viewer"),
        (ORG_RESTRICTED, USER_OAUTH, "org:member"),
        (ORG_UNICODE, USER_ZOE, "org:admin"),
        (ORG_UNICODE, USER_LI, "org:member"),
        (ORG_UNICODE, USER_EMOJI, "org:member"),
        (ORG_UNICODE, USER_TIE_C, "org:member"),
    ]
    named = {
        (ORG_ACME, USER_SSO): MEMBERSHIP_GHOST,
        (ORG_RESTRICTED, USER_ZOE): MEMBERSHIP_OUTSIDE_SET,
        (ORG_ACME, USER_TOTP): MEMBERSHIP_LEGACY_ADMIN,
        (ORG_ACME, USER_OAUTH): MEMBERSHIP_LEGACY_BASIC_MEMBER,
    }
    memberships = []
    joined = T0 + 4 * day
    for index, (org_id, user_id, role) in enumerate(members):
        # Every fourth membership shares its predecessor's millisecond.
        if index % 4 != 3:
            joined += MINUTE
        membership_id = named.get((org_id, user_id), f"orgmem_awk_{index:02d}")
        memberships.append(MembershipRecord(membership_id, org_id, user_id, role, joined))
    return Dataset(
        users=_awkward_users(),
        organizations=organizations,
        memberships=memberships,
        permissions=_awkward_permissions(),
        roles=_awkward_roles(),
        role_sets=[
            RoleSetRecord(
                "rs_awk_default",
                ROLE_SET_DEFAULT,
                "Default",
                T0 + 200,
                roles=("org:admin", "org:member", "org:billing_viewer", "admin", "basic_member"),
                default_role="org:member",
                creator_role="org:admin",
                type="initial",
            ),
            RoleSetRecord(
                "rs_awk_restricted",
                ROLE_SET_RESTRICTED,
                "Restricted",
                T0 + 201,
                roles=("org:admin", "org:member", "org:observer"),
                default_role="org:member",
                creator_role="org:admin",
                description="No custom billing roles here.",
            ),
        ],
        settings=OrganizationSettingsRecord(
            creator_role="org:admin",
            domains_default_role="org:member",
            initial_role_set_key=ROLE_SET_DEFAULT,
        ),
    )


# -- demo --------------------------------------------------------------------------------------

_DEMO_PEOPLE = (
    # id suffix, first name, last name, email address
    ("ada", "Ada", "Lovelace", "ada@analytical.example"),
    ("grace", "Grace", "Hopper", "grace@cobol.example"),
    ("alan", "Alan", "Turing", "alan@bletchley.example"),
    ("katherine", "Katherine", "Johnson", "katherine@nasa.example"),
    ("linus", "Linus", "Torvalds", "linus@kernel.example"),
    ("margaret", "Margaret", "Hamilton", "margaret@apollo.example"),
    ("dennis", "Dennis", "Ritchie", "dennis@bell.example"),
    ("barbara", "Barbara", "Liskov", "barbara@mit.example"),
)


def demo() -> Dataset:
    """A small readable instance for the demo command.

    Eight people and three organizations: Analytical Engines (initial role set, where Dennis still
    holds the legacy `admin` key), Apollo Guidance (a custom `org:billing_viewer` for Katherine)
    and Kernel Hackers (custom role set `role_set:engineering`). Linus is banned.
    """
    t0 = T0
    day = 86_400_000
    users = [
        UserRecord(
            f"user_demo_{key}",
            t0 + index * day,
            first_name=first,
            last_name=last,
            username=key,
            email_addresses=(EmailAddressRecord(f"idn_demo_{key}", email),),
            primary_email_address_id=f"idn_demo_{key}",
            banned=key == "linus",
            two_factor_enabled=key in ("grace", "margaret"),
            totp_enabled=key in ("grace", "margaret"),
            last_sign_in_at=t0 + (index + 30) * day,
        )
        for index, (key, first, last, email) in enumerate(_DEMO_PEOPLE)
    ]
    permissions = [
        _permission("org:sys_profile:manage", "Manage organization", t0),
        _permission("org:sys_memberships:read", "Read members", t0 + 1),
        _permission("org:sys_memberships:manage", "Manage members", t0 + 2),
        _permission("org:invoices:read", "Read invoices", t0 + 3),
        _permission("org:deployments:manage", "Manage deployments", t0 + 4),
    ]
    member_perms = ("org:sys_memberships:read",)
    roles = [
        RoleRecord("role_demo_admin", "org:admin", "Admin", t0 + 10, is_creator_eligible=True,
                   permissions=("org:sys_profile:manage", "org:sys_memberships:read",
                                "org:sys_memberships:manage")),
        RoleRecord("role_demo_member", "org:member", "Member", t0 + 11, permissions=member_perms),
        RoleRecord("role_demo_billing_viewer", "org:billing_viewer", "Billing viewer", t0 + 12,
                   permissions=("org:invoices:read", *member_perms)),
        RoleRecord("role_demo_release_manager", "org:release_manager", "Release manager", t0 + 13,
                   permissions=("org:deployments:manage", *member_perms)),
        RoleRecord("role_demo_legacy_admin", "admin", "Admin (legacy)", t0 + 14,
                   permissions=("org:sys_profile:manage", "org:sys_memberships:manage")),
    ]  # fmt: skip
    role_sets = [
        RoleSetRecord("rs_demo_default", "role_set:default", "Default", t0 + 20,
                      roles=("org:admin", "org:member", "org:billing_viewer", "admin"),
                      default_role="org:member", creator_role="org:admin", type="initial"),
        RoleSetRecord("rs_demo_engineering", "role_set:engineering", "Engineering", t0 + 21,
                      roles=("org:admin", "org:member", "org:release_manager"),
                      default_role="org:member", creator_role="org:admin"),
    ]  # fmt: skip
    organizations = [
        OrganizationRecord("org_demo_analytical", "Analytical Engines", "analytical-engines",
                           t0 + 10 * day, created_by="user_demo_ada"),
        OrganizationRecord("org_demo_apollo", "Apollo Guidance", "apollo-guidance", t0 + 11 * day,
                           created_by="user_demo_margaret"),
        OrganizationRecord("org_demo_kernel", "Kernel Hackers", "kernel-hackers", t0 + 12 * day,
                           created_by="user_demo_linus", role_set_key="role_set:engineering"),
    ]  # fmt: skip
    grants = [
        ("analytical", "ada", "org:admin"),
        ("analytical", "alan", "org:member"),
        ("analytical", "grace", "org:member"),
        ("analytical", "dennis", "admin"),
        ("apollo", "margaret", "org:admin"),
        ("apollo", "katherine", "org:billing_viewer"),
        ("apollo", "grace", "org:member"),
        ("kernel", "linus", "org:admin"),
        ("kernel", "dennis", "org:release_manager"),
        ("kernel", "barbara", "org:member"),
    ]
    memberships = [
        MembershipRecord(
            f"orgmem_demo_{org}_{person}",
            f"org_demo_{org}",
            f"user_demo_{person}",
            role,
            t0 + (13 + index) * day,
        )
        for index, (org, person, role) in enumerate(grants)
    ]
    return Dataset(
        users=users,
        organizations=organizations,
        memberships=memberships,
        permissions=permissions,
        roles=roles,
        role_sets=role_sets,
        settings=OrganizationSettingsRecord(initial_role_set_key="role_set:default"),
    )
