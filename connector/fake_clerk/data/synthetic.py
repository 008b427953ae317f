"""`generate()`: a large, deterministic, realistic-looking instance for paging tests and benchmarks.

Same arguments, same dataset: every choice comes from one seeded `random.Random`. Ids look like
Clerk's (`user_` plus 27 base62-ish characters) and carry no order, so a client cannot get away
with sorting by id. Creation times mostly increase strictly but about 2% of rows share their
predecessor's millisecond, which is what makes a `created_at`-only cursor or sort ambiguous.
`tie_rate` raises that share for users, organizations and memberships, and `bulk_import=n` gives
n rows of each one shared millisecond in the middle of the timeline (a bulk import or migration):
tie groups large enough to span pages, for the `shuffle_ties` fault.
Organization sizes are skewed (a few large ones, many small, some empty), as in real instances.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import itertools
import random

from connector.fake_clerk.data.records import (
    EmailAddressRecord,
    ExternalAccountRecord,
    MembershipRecord,
    OrganizationRecord,
    OrganizationSettingsRecord,
    PermissionRecord,
    PhoneNumberRecord,
    RoleRecord,
    RoleSetRecord,
    SamlAccountRecord,
    UserRecord,
)
from connector.fake_clerk.data.store import Dataset
from connector.fake_clerk.data.trap_samples import sprinkle

EPOCH_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z: the first generated row
DAY_MS = 86_400_000
TIE_RATE = 0.02
INITIAL_ROLE_SET = "role_set:default"
RESTRICTED_ROLE_SET = "role_set:restricted"

SYSTEM_PERMISSIONS = (
    ("org:sys_profile:manage", "Manage organization"),
    ("org:sys_profile:delete", "Delete organization"),
    ("org:sys_memberships:read", "Read members"),
    ("org:sys_memberships:manage", "Manage members"),
    ("org:sys_domains:read", "Read domains"),
    ("org:sys_domains:manage", "Manage domains"),
)
_FEATURES = ("invoices", "reports", "projects", "deployments", "audit_logs", "tickets", "secrets")
_ACTIONS = ("read", "manage")
_CUSTOM_ROLES = (
    ("org:billing_viewer", "Billing viewer"),
    ("org:auditor", "Auditor"),
    ("org:support_agent", "Support agent"),
    ("org:developer", "Developer"),
    ("org:finance_manager", "Finance manager"),
    ("org:project_lead", "Project lead"),
)
_FIRST = (
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Tim", "Hedy", "Donald", "Katherine", "John", "Sophie", "Yukihiro", "Guido", "Anita",
    "Zoë", "José", "Søren", "Chloé", "Łukasz", "Mei", "Priya", "Olúwaseun", "Ngozi", "Mateo",
)  # fmt: skip
_LAST = (
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Knuth", "Johnson", "McCarthy",
    "Wilson", "Matsumoto", "van Rossum", "Borg", "Müller", "García", "Kierkegaard", "Nowak",
    "Chen", "Patel", "Adeyemi", "Okafor", "Rossi", "Ångström",
)  # fmt: skip
_ORG_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Soylent", "Aperture", "Wonka", "Gringotts", "Oscorp", "Nakatomi",
)  # fmt: skip
_ORG_KINDS = ("Labs", "Analytics", "Robotics", "Health", "Capital", "Studios", "Systems", "Foods")

# base64's two non-alphanumeric characters, swapped for letters: ids stay URL-safe and base62-ish.
_ID_TABLE = bytes.maketrans(b"+/", b"xz")


class _Ids:
    """Unique random ids per prefix, drawn from their own seeded generator in bulk (fast)."""

    _BATCH = 4096

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"fake-clerk-ids-{seed}")
        self._tokens: list[str] = []
        self._seen: set[str] = set()

    def _refill(self) -> None:
        # 21 random bytes encode to exactly 28 base64 characters, so one encoding of a whole
        # batch splits into aligned 28-character tokens; each id keeps 27 of them.
        encoded = base64.b64encode(self._rng.randbytes(21 * self._BATCH)).translate(_ID_TABLE)
        text = encoded.decode("ascii")
        self._tokens = [text[i : i + 27] for i in range(len(text) - 28, -1, -28)]

    def __call__(self, prefix: str) -> str:
        while True:
            if not self._tokens:
                self._refill()
            candidate = f"{prefix}_{self._tokens.pop()}"
            if candidate not in self._seen:
                self._seen.add(candidate)
                return candidate


def _below(rng: random.Random, n: int) -> int:
    """A random int in [0, n): random.randrange is several times slower, and bias is irrelevant."""
    return int(rng.random() * n)


def _timeline(
    rng: random.Random, count: int, mean_gap_ms: int, tie_rate: float = TIE_RATE
) -> list[int]:
    """`count` non-decreasing timestamps: random gaps, with about `tie_rate` exact repeats."""
    stamps: list[int] = []
    now = EPOCH_MS
    for _ in range(count):
        if not stamps or rng.random() >= tie_rate:
            now += 1 + _below(rng, 2 * mean_gap_ms)
        stamps.append(now)
    return stamps


def _bulk(stamps: list[int], size: int) -> list[int]:
    """`size` consecutive stamps from the middle moved to the block's last one (order kept).

    Moving later, never earlier, keeps every "created after" relation the generator relies on.
    """
    size = min(size, len(stamps))
    if size < 2:
        return stamps
    start = (len(stamps) - size) // 2
    end = start + size
    return stamps[:start] + [stamps[end - 1]] * size + stamps[end:]


def _permissions(rng: random.Random) -> list[PermissionRecord]:
    stamps = iter(_timeline(rng, len(SYSTEM_PERMISSIONS) + len(_FEATURES) * len(_ACTIONS), 1000))
    perms = [
        PermissionRecord(
            id=f"perm_sys_{key.split(':')[1].removeprefix('sys_')}_{key.split(':')[2]}",
            key=key,
            name=name,
            description=f"System permission: {name.lower()}.",
            type="system",
            created_at=next(stamps),
        )
        for key, name in SYSTEM_PERMISSIONS
    ]
    for feature, action in itertools.product(_FEATURES, _ACTIONS):
        perms.append(
            PermissionRecord(
                id=f"perm_{feature}_{action}",
                key=f"org:{feature}:{action}",
                name=f"{action.capitalize()} {feature.replace('_', ' ')}",
                description=f"{action.capitalize()} the organization's {feature}.",
                created_at=next(stamps),
            )
        )
    return perms


def _roles(rng: random.Random, count: int, permissions: list[PermissionRecord]) -> list[RoleRecord]:
    if count < 2:
        raise ValueError("roles must be at least 2 (org:admin and org:member)")
    system = [p.key for p in permissions if p.type == "system"]
    features = [p.key for p in permissions if p.type != "system"]
    stamps = iter(_timeline(rng, count, 60_000))
    roles = [
        RoleRecord(
            id="role_admin",
            key="org:admin",
            name="Admin",
            description="Full access to the organization.",
            is_creator_eligible=True,
            permissions=tuple(system + [k for k in features if k.endswith(":manage")]),
            created_at=next(stamps),
        ),
        RoleRecord(
            id="role_member",
            key="org:member",
            name="Member",
            description="Reads the organization and its members.",
            permissions=("org:sys_memberships:read",),
            created_at=next(stamps),
        ),
    ]
    for index in range(count - 2):
        if index < len(_CUSTOM_ROLES):
            key, name = _CUSTOM_ROLES[index]
        else:
            key, name = f"org:custom_{index}", f"Custom role {index}"
        granted = [*sorted(rng.sample(features, 2)), "org:sys_memberships:read"]
        roles.append(
            RoleRecord(
                id=f"role_{key.removeprefix('org:')}",
                key=key,
                name=name,
                description=f"{name}: a custom role.",
                permissions=tuple(granted),
                created_at=next(stamps),
            )
        )
    return roles


def _role_sets(roles: list[RoleRecord]) -> list[RoleSetRecord]:
    first = min(role.created_at for role in roles)
    keys = tuple(role.key for role in roles)
    return [
        RoleSetRecord(
            id="rs_default",
            key=INITIAL_ROLE_SET,
            name="Default",
            roles=keys,
            default_role="org:member",
            creator_role="org:admin",
            type="initial",
            created_at=first,
        ),
        RoleSetRecord(
            id="rs_restricted",
            key=RESTRICTED_ROLE_SET,
            name="Restricted",
            description="Organizations that may not use custom roles.",
            roles=("org:admin", "org:member"),
            default_role="org:member",
            creator_role="org:admin",
            created_at=first + 1,
        ),
    ]


def _user(rng: random.Random, new_id: _Ids, index: int, created_at: int) -> UserRecord:
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    local = f"{first}.{last}".lower().replace(" ", "").encode("ascii", "ignore").decode()
    roll = rng.random()
    emails: tuple[EmailAddressRecord, ...] = ()
    if roll >= 0.03:  # 3% sign in with a username or phone only
        emails = (EmailAddressRecord(new_id("idn"), f"{local}.{index}@example.com"),)
        if roll < 0.11:  # 8% also have a second address
            emails += (
                EmailAddressRecord(
                    new_id("idn"),
                    f"{local}.{index}@work.example.org",
                    verification_status=rng.choice(("verified", "unverified")),
                ),
            )
    primary = rng.choice(emails).id if emails else None
    phones: tuple[PhoneNumberRecord, ...] = ()
    if rng.random() < 0.15 or not emails:
        phones = (PhoneNumberRecord(new_id("idn"), f"+1555{index:07d}"),)
    accounts: tuple[ExternalAccountRecord, ...] = ()
    if emails and rng.random() < 0.3:
        provider = "oauth_google" if rng.random() < 0.75 else "oauth_github"
        accounts = (
            ExternalAccountRecord(
                new_id("eac"),
                provider,
                str(10**15 + _below(rng, 9 * 10**15)),
                emails[0].email_address,
                first,
                last,
            ),
        )
    saml: tuple[SamlAccountRecord, ...] = ()
    if emails and rng.random() < 0.03:
        saml = (
            SamlAccountRecord(
                new_id("samlacc"),
                "saml_okta",
                f"00u{index:08d}",
                emails[0].email_address,
                "samlc_okta",
                "Okta Workforce",
                first_name=first,
                last_name=last,
            ),
        )
    locked = rng.random() < 0.005
    two_factor = rng.random() < 0.15
    signed_in = rng.random() < 0.85
    last_sign_in = created_at + _below(rng, DAY_MS * 200) if signed_in else None
    return UserRecord(
        id=new_id("user"),
        created_at=created_at,
        first_name=first,
        last_name=last,
        username=f"{local.replace('.', '_')}{index}" if rng.random() < 0.6 or not emails else None,
        email_addresses=emails,
        primary_email_address_id=primary,
        phone_numbers=phones,
        primary_phone_number_id=phones[0].id if phones else None,
        external_accounts=accounts,
        saml_accounts=saml,
        two_factor_enabled=two_factor,
        totp_enabled=two_factor,
        backup_code_enabled=two_factor and rng.random() < 0.5,
        banned=rng.random() < 0.01,
        locked=locked,
        lockout_expires_in_seconds=rng.choice((None, 900, 3600)) if locked else None,
        deprovisioned=rng.random() < 0.003,
        last_sign_in_at=last_sign_in,
        last_active_at=(last_sign_in // DAY_MS) * DAY_MS if last_sign_in is not None else None,
    )


def _organizations(
    rng: random.Random,
    new_id: _Ids,
    count: int,
    users: list[UserRecord],
    ties: tuple[float, int] = (TIE_RATE, 0),
) -> list[OrganizationRecord]:
    user_times = [user.created_at for user in users]
    organizations = []
    tie_rate, bulk = ties
    stamps = _bulk(_timeline(rng, count, 3 * DAY_MS // max(count // 100, 1), tie_rate), bulk)
    for index, created_at in enumerate(stamps):
        name = f"{rng.choice(_ORG_WORDS)} {rng.choice(_ORG_KINDS)} {index}"
        # The creator is someone who already existed when the organization was created.
        existing = bisect.bisect_right(user_times, created_at)
        creator = users[_below(rng, existing)].id if existing else None
        organizations.append(
            OrganizationRecord(
                id=new_id("org"),
                name=name,
                slug=name.lower().replace(" ", "-"),
                created_at=created_at,
                created_by=creator,
                role_set_key=RESTRICTED_ROLE_SET if rng.random() < 0.15 else None,
                max_allowed_memberships=rng.choice((0, 0, 0, 5, 100)),
            )
        )
    return organizations


def _pairs(rng: random.Random, count: int, users: int, organizations: int) -> list[int]:
    """`count` distinct grid cells `org_index * users + user_index`, organization sizes skewed."""
    capacity = users * organizations
    if count > capacity:
        raise ValueError(f"{count} memberships need more than {users} users x {organizations} orgs")
    if count * 2 > capacity:  # dense: sample the whole grid directly
        return rng.sample(range(capacity), count)
    # Zipf-like weights over a shuffled order, so big organizations are spread through time.
    ranks = list(range(organizations))
    rng.shuffle(ranks)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) ** 0.8 for rank in ranks))
    seen: set[int] = set()
    cells: list[int] = []
    org_indexes = range(organizations)
    while len(cells) < count:
        for org in rng.choices(org_indexes, cum_weights=cumulative, k=count - len(cells)):
            cell = org * users + _below(rng, users)
            if cell not in seen:
                seen.add(cell)
                cells.append(cell)
    return cells


def _memberships(
    rng: random.Random,
    new_id: _Ids,
    count: int,
    users: list[UserRecord],
    organizations: list[OrganizationRecord],
    roles_of: dict[str | None, list[str]],
    ties: tuple[float, int] = (TIE_RATE, 0),
) -> list[MembershipRecord]:
    # (joined, earliest allowed, cell): joined within 90 days after both org and user existed.
    drafts = []
    for cell in _pairs(rng, count, len(users), len(organizations)):
        org_index, user_index = divmod(cell, len(users))
        earliest = max(organizations[org_index].created_at, users[user_index].created_at)
        drafts.append((earliest + _below(rng, 90 * DAY_MS), earliest, cell))
    drafts.sort()
    tie_rate, bulk = ties
    memberships = []
    previous = 0
    for joined, earliest, cell in drafts:
        # Some memberships share their predecessor's millisecond (never before org or user).
        if previous >= earliest and rng.random() < tie_rate:
            joined = previous
        previous = joined
        org_index, user_index = divmod(cell, len(users))
        org, user = organizations[org_index], users[user_index]
        keys = roles_of[org.role_set_key]
        roll = rng.random()
        if roll < 0.12 or org.created_by == user.id:
            role = "org:admin"
        elif roll < 0.9 or len(keys) <= 2:
            role = "org:member"
        else:
            role = keys[2 + _below(rng, len(keys) - 2)]
        memberships.append(MembershipRecord(new_id("orgmem"), org.id, user.id, role, joined))
    stamps = _bulk([m.created_at for m in memberships], bulk)
    return [
        m if m.created_at == at else dataclasses.replace(m, created_at=at)
        for m, at in zip(memberships, stamps, strict=True)
    ]


def generate(
    *,
    users: int,
    organizations: int,
    memberships: int,
    seed: int = 0,
    roles: int = 5,
    tie_rate: float = TIE_RATE,
    bulk_import: int = 0,
    trap_rate: float = 0.0,
) -> Dataset:
    """A deterministic instance of the given size (100k users / 300k memberships: seconds).

    `roles` counts the instance's roles: `org:admin`, `org:member`, then custom ones
    (`org:billing_viewer`, `org:auditor`, ...). Two role sets exist: the initial
    `role_set:default` (every role) and `role_set:restricted` (admin and member), used by about
    15% of organizations; the others have `role_set_key` None. Memberships get roles from their
    organization's set: about 12% admin, most member, the rest custom roles.

    `tie_rate` (0-1) is the share of users, organizations and memberships created in their
    predecessor's millisecond; `bulk_import=n` puts n of each in one millisecond (see the module
    docstring). `trap_rate` (0-1) gives about that share of users, organizations and
    memberships one of `trap_samples`' traps each (unverified or invalid emails, long names,
    out-of-range timestamps, no `public_user_data`, a stale role name), and one role and one
    permission long names and out-of-range timestamps; creation times set out of range no longer
    respect "joined after both existed". The defaults give the same data as before these options
    existed.
    """
    if min(users, organizations, memberships, bulk_import) < 0:
        raise ValueError("sizes must not be negative")
    if not 0 <= tie_rate < 1:
        raise ValueError("tie_rate must be in [0, 1)")
    if not 0 <= trap_rate <= 1:
        raise ValueError("trap_rate must be in [0, 1]")
    ties = (tie_rate, bulk_import)
    rng = random.Random(seed)
    new_id = _Ids(seed)
    permission_rows = _permissions(rng)
    role_rows = _roles(rng, roles, permission_rows)
    role_set_rows = _role_sets(role_rows)
    user_times = _bulk(_timeline(rng, users, 5 * 60_000, tie_rate), bulk_import)
    user_rows = [
        _user(rng, new_id, index, created_at) for index, created_at in enumerate(user_times)
    ]
    org_rows = _organizations(rng, new_id, organizations, user_rows, ties)
    roles_of: dict[str | None, list[str]] = {None: [r.key for r in role_rows]}
    for role_set in role_set_rows:
        roles_of[role_set.key] = list(role_set.roles)
    membership_rows = _memberships(rng, new_id, memberships, user_rows, org_rows, roles_of, ties)
    if trap_rate > 0:
        user_rows, org_rows, membership_rows, role_rows, permission_rows = sprinkle(
            trap_rate, seed, user_rows, org_rows, membership_rows, role_rows, permission_rows
        )
    return Dataset(
        users=user_rows,
        organizations=org_rows,
        memberships=membership_rows,
        permissions=permission_rows,
        roles=role_rows,
        role_sets=role_set_rows,
        settings=OrganizationSettingsRecord(initial_role_set_key=INITIAL_ROLE_SET),
    )
