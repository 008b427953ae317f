"""Risk findings an access reviewer acts on, each with its count and the rows behind it.

The admin-level rule is `access.is_admin_permission` (a system permission `org:sys_…` with any
action but `read`). Findings, in the order the report shows them:

- disabled_members: users that are banned, locked or deprovisioned and still hold memberships
  (one row per membership);
- admin_without_mfa: admin-level memberships of users without MFA (SSO is shown, as an
  identity provider may enforce MFA of its own);
- stale_admins: admin-level memberships of users who have not signed in for `stale_days`
  (default 90) before the report's date, or never;
- organizations_without_admin: organizations with no enabled admin-level member (an
  organization whose admins are all disabled counts: nobody can act for it);
- admins_in_many_organizations: users holding admin-level roles in `many_organizations`
  (default 3) or more organizations;
- unresolved_role_keys: memberships whose role key matched no role of the instance;
- permissions_beyond_role: memberships listing permissions their resolved role does not carry,
  and memberships of unresolved keys that list permissions (no role explains them at all).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connector.platform.access import Access, Membership, User

DEFAULT_STALE_DAYS = 90
DEFAULT_MANY_ORGANIZATIONS = 3
_NAMES_SHOWN = 10


@dataclass(frozen=True)
class Thresholds:
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))
    stale_days: int = DEFAULT_STALE_DAYS
    many_organizations: int = DEFAULT_MANY_ORGANIZATIONS


@dataclass(frozen=True)
class Row:
    organization_id: str = ""
    organization: str = ""
    user_id: str = ""
    user: str = ""
    role: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    rule: str
    rows: list[Row]

    @property
    def count(self) -> int:
        return len(self.rows)


def find_risks(access: Access, thresholds: Thresholds) -> list[Finding]:
    ordered = sorted(
        access.memberships,
        key=lambda m: (
            access.organization(m.organization_id).name.casefold(),
            access.user(m.user_id).name.casefold(),
            m.organization_id,
            m.user_id,
        ),
    )
    admins = [m for m in ordered if m.admin_level]
    return [
        _disabled_members(access, ordered),
        _admin_without_mfa(access, admins),
        _stale_admins(access, admins, thresholds),
        _organizations_without_admin(access, admins),
        _admins_in_many(access, admins, thresholds.many_organizations),
        _unresolved(access, ordered),
        _beyond_role(access, ordered),
    ]


def _row(access: Access, membership: Membership, detail: str) -> Row:
    org = access.organization(membership.organization_id)
    user = access.user(membership.user_id)
    return Row(org.id, org.name, user.id, user.name, membership.role_label, detail)


def _disabled_members(access: Access, memberships: list[Membership]) -> Finding:
    rows = [
        _row(access, m, access.user(m.user_id).status)
        for m in memberships
        if not access.user(m.user_id).enabled
    ]
    return Finding(
        "disabled_members",
        "Disabled users who still hold memberships",
        "Banned, locked or deprovisioned users with a membership: one row per membership.",
        rows,
    )


def _admin_without_mfa(access: Access, admins: list[Membership]) -> Finding:
    rows = []
    for m in admins:
        user = access.user(m.user_id)
        if not user.mfa:
            sso = "SSO on" if user.sso else "SSO off"
            rows.append(_row(access, m, f"{', '.join(m.admin_permissions)}; {sso}"))
    return Finding(
        "admin_without_mfa",
        "Admin-level roles held without MFA",
        "Memberships whose role carries an admin-level permission (org:sys_… other than read) "
        "held by a user without MFA.",
        rows,
    )


def _stale_admins(access: Access, admins: list[Membership], thresholds: Thresholds) -> Finding:
    rows = []
    for m in admins:
        last = access.user(m.user_id).last_sign_in
        if last is None:
            rows.append(_row(access, m, "never signed in"))
            continue
        days = (thresholds.as_of - last).days
        if days > thresholds.stale_days:
            rows.append(_row(access, m, f"last signed in {last:%Y-%m-%d} ({days} days ago)"))
    return Finding(
        "stale_admins",
        f"Admin-level roles of users who have not signed in for {thresholds.stale_days} days",
        f"Admin-level memberships of users whose last sign-in is more than "
        f"{thresholds.stale_days} days before {thresholds.as_of:%Y-%m-%d}, or who never signed in.",
        rows,
    )


def _organizations_without_admin(access: Access, admins: list[Membership]) -> Finding:
    held: dict[str, list[User]] = defaultdict(list)
    for m in admins:
        held[m.organization_id].append(access.user(m.user_id))
    members = access.by_organization()
    rows = []
    for org in sorted(access.organizations.values(), key=lambda o: (o.name.casefold(), o.id)):
        holders = held.get(org.id, [])
        if any(user.enabled for user in holders):
            continue
        count = len(members.get(org.id, []))
        if holders:
            names = ", ".join(f"{user.name} ({user.status})" for user in holders)
            detail = f"{count} members; every admin-level member is disabled: {names}"
        else:
            detail = f"{count} members; no admin-level member"
        rows.append(Row(org.id, org.name, detail=detail))
    return Finding(
        "organizations_without_admin",
        "Organizations with no enabled admin-level member",
        "Organizations where no enabled member holds an admin-level role.",
        rows,
    )


def _admins_in_many(access: Access, admins: list[Membership], many: int) -> Finding:
    where: dict[str, list[str]] = defaultdict(list)
    for m in admins:
        where[m.user_id].append(access.organization(m.organization_id).name)
    many_held = sorted(
        (item for item in where.items() if len(item[1]) >= many),
        key=lambda item: (-len(item[1]), access.user(item[0]).name.casefold(), item[0]),
    )
    rows = []
    for user_id, names in many_held:
        user = access.user(user_id)
        shown = ", ".join(names[:_NAMES_SHOWN]) + (", …" if len(names) > _NAMES_SHOWN else "")
        rows.append(
            Row(user_id=user.id, user=user.name, detail=f"{len(names)} organizations: {shown}")
        )
    return Finding(
        "admins_in_many_organizations",
        f"Users holding admin-level roles in {many} or more organizations",
        f"Users whose admin-level memberships span at least {many} organizations.",
        rows,
    )


def _unresolved(access: Access, memberships: list[Membership]) -> Finding:
    rows = []
    for m in memberships:
        if m.role is None:
            listed = ", ".join(m.listed_permissions) or "none"
            rows.append(_row(access, m, f"role key {m.role_key!r}; lists permissions: {listed}"))
    return Finding(
        "unresolved_role_keys",
        "Unresolved role keys",
        "Memberships whose role key matches no role of the instance: the member grant is kept, "
        "no role grant explains what the member may do.",
        rows,
    )


def _beyond_role(access: Access, memberships: list[Membership]) -> Finding:
    rows = []
    for m in memberships:
        if m.role is not None and m.beyond_role:
            rows.append(_row(access, m, f"lists beyond its role: {', '.join(m.beyond_role)}"))
        elif m.role is None and m.listed_permissions:
            listed = ", ".join(m.listed_permissions)
            rows.append(_row(access, m, f"no role explains: {listed}"))
    return Finding(
        "permissions_beyond_role",
        "Memberships listing permissions beyond their resolved role",
        "Memberships whose permission list holds keys their resolved role does not carry, or "
        "whose unresolved role key still lists permissions.",
        rows,
    )
