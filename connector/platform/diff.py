"""What changed between two syncs of the same instance, for the next access review.

Lists users and organizations that appeared or vanished, role changes of members (one change
each: the old role grant's removal and the new one's addition are folded into it), new and
removed admin-level holdings (the rule of connector.platform.access), and every other grant
added or removed. Text for people, JSON and HTML for tools; `changed` is what a scheduled job
alerts on (the command exits 1 then, like diff).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from connector.c1 import ids
from connector.c1.protocol import grant_pb
from connector.platform import schema
from connector.platform.access import Access, Membership, read_access
from connector.platform.page import esc, page, table
from connector.platform.syncfile import SyncFile

DIFF_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True)
class RoleChange:
    organization_id: str
    organization: str
    user_id: str
    user: str
    old_role: str
    new_role: str
    old_role_id: str
    new_role_id: str


@dataclass(frozen=True)
class AdminChange:
    organization_id: str
    organization: str
    user_id: str
    user: str
    role: str


@dataclass(frozen=True)
class GrantChange:
    id: str
    resource: str  # the entitlement's resource, by name
    entitlement: str  # `member`, a role's name, `granted`
    principal: str  # by name, with its type when it is not a user


@dataclass
class SyncDiff:
    old: SyncFile
    new: SyncFile
    users_appeared: list[Named] = field(default_factory=list)
    users_vanished: list[Named] = field(default_factory=list)
    organizations_appeared: list[Named] = field(default_factory=list)
    organizations_vanished: list[Named] = field(default_factory=list)
    role_changes: list[RoleChange] = field(default_factory=list)
    admins_added: list[AdminChange] = field(default_factory=list)
    admins_removed: list[AdminChange] = field(default_factory=list)
    grants_added: list[GrantChange] = field(default_factory=list)
    grants_removed: list[GrantChange] = field(default_factory=list)

    _LISTS = (
        "users_appeared",
        "users_vanished",
        "organizations_appeared",
        "organizations_vanished",
        "role_changes",
        "admins_added",
        "admins_removed",
        "grants_added",
        "grants_removed",
    )

    @property
    def changed(self) -> bool:
        return any(getattr(self, name) for name in self._LISTS)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": "clerk-connector-diff",
            "format_version": DIFF_FORMAT_VERSION,
            "old": _describe(self.old),
            "new": _describe(self.new),
            "changed": self.changed,
        }
        for name in self._LISTS:
            document[name] = [asdict(item) for item in getattr(self, name)]
        return document

    def to_text(self) -> str:
        lines = [f"old: {_line(self.old)}", f"new: {_line(self.new)}"]
        sections = {
            "Users appeared": [f"+ {u.name} ({u.id})" for u in self.users_appeared],
            "Users vanished": [f"- {u.name} ({u.id})" for u in self.users_vanished],
            "Organizations appeared": [f"+ {o.name} ({o.id})" for o in self.organizations_appeared],
            "Organizations vanished": [f"- {o.name} ({o.id})" for o in self.organizations_vanished],
            "Role changes": [
                f"~ {c.organization} · {c.user}: {c.old_role} → {c.new_role}"
                for c in self.role_changes
            ],
            "New admins": [f"+ {a.organization} · {a.user} ({a.role})" for a in self.admins_added],
            "Removed admins": [
                f"- {a.organization} · {a.user} ({a.role})" for a in self.admins_removed
            ],
            "Grants added": [f"+ {line}" for line in _grouped(self.grants_added)],
            "Grants removed": [f"- {line}" for line in _grouped(self.grants_removed)],
        }
        counts = {
            "Grants added": len(self.grants_added),
            "Grants removed": len(self.grants_removed),
        }
        for title, items in sections.items():
            if items:
                lines.append(f"\n{title} ({counts.get(title, len(items))}):")
                lines.extend(f"  {item}" for item in items)
        if not self.changed:
            lines.append("\nNo change in access.")
        return "\n".join(lines)

    def to_html(self) -> str:
        header = (
            "<h1>What changed</h1>"
            f'<p class="meta">old: {esc(_line(self.old))}</p>'
            f'<p class="meta">new: {esc(_line(self.new))}</p>'
        )
        parts = [] if self.changed else ['<p class="note">No change in access.</p>']

        def section(title: str, columns: list[str], rows: list[list[str]]) -> None:
            if rows:
                slug = title.lower().replace(" ", "-")
                parts.append(f"<h2>{esc(title)} ({len(rows):,})</h2>")
                parts.append(table(slug, columns, rows, limit=len(rows)))

        section("Users appeared", ["User", "Id"], [[u.name, u.id] for u in self.users_appeared])
        section("Users vanished", ["User", "Id"], [[u.name, u.id] for u in self.users_vanished])
        section(
            "Organizations appeared",
            ["Organization", "Id"],
            [[o.name, o.id] for o in self.organizations_appeared],
        )
        section(
            "Organizations vanished",
            ["Organization", "Id"],
            [[o.name, o.id] for o in self.organizations_vanished],
        )
        section(
            "Role changes",
            ["Organization", "User", "Old role", "New role"],
            [[c.organization, c.user, c.old_role, c.new_role] for c in self.role_changes],
        )
        for title, admins in (
            ("New admins", self.admins_added),
            ("Removed admins", self.admins_removed),
        ):
            section(
                title,
                ["Organization", "User", "Role"],
                [[a.organization, a.user, a.role] for a in admins],
            )
        for title, grants in (
            ("Grants added", self.grants_added),
            ("Grants removed", self.grants_removed),
        ):
            section(
                title,
                ["Resource", "Entitlement", "Principal", "Grant id"],
                [[g.resource, g.entitlement, g.principal, g.id] for g in grants],
            )
        return page("What changed", header, "".join(parts))


def diff_syncs(old: SyncFile, new: SyncFile) -> SyncDiff:
    before, after = read_access(old.result), read_access(new.result)
    diff = SyncDiff(old, new)
    diff.users_appeared, diff.users_vanished = _appeared(
        {u.id: u.name for u in before.users.values()}, {u.id: u.name for u in after.users.values()}
    )
    diff.organizations_appeared, diff.organizations_vanished = _appeared(
        {o.id: o.name for o in before.organizations.values()},
        {o.id: o.name for o in after.organizations.values()},
    )
    folded = _role_changes(diff, before, after)
    diff.admins_added = _admins(after, before)
    diff.admins_removed = _admins(before, after)
    old_grants = {g.id: g for g in old.result.grants}
    new_grants = {g.id: g for g in new.result.grants}
    diff.grants_added = [
        _grant(new_grants[gid]) for gid in sorted(new_grants.keys() - old_grants.keys() - folded)
    ]
    diff.grants_removed = [
        _grant(old_grants[gid]) for gid in sorted(old_grants.keys() - new_grants.keys() - folded)
    ]
    return diff


def _appeared(before: dict[str, str], after: dict[str, str]) -> tuple[list[Named], list[Named]]:
    def named(source: dict[str, str], keys: set[str]) -> list[Named]:
        return sorted((Named(k, source[k]) for k in keys), key=lambda n: (n.name.casefold(), n.id))

    return named(after, after.keys() - before.keys()), named(before, before.keys() - after.keys())


def _role_identity(membership: Membership) -> str:
    return membership.role.id if membership.role is not None else f"key:{membership.role_key}"


def _role_changes(diff: SyncDiff, before: Access, after: Access) -> set[str]:
    """Fill diff.role_changes; returns the grant ids the changes explain."""
    old = {(m.organization_id, m.user_id): m for m in before.memberships}
    folded: set[str] = set()
    for m in after.memberships:
        was = old.get((m.organization_id, m.user_id))
        if was is None or _role_identity(was) == _role_identity(m):
            continue
        org = after.organization(m.organization_id)
        user = after.user(m.user_id)
        diff.role_changes.append(
            RoleChange(
                org.id, org.name, user.id, user.name, was.role_label, m.role_label,
                was.role.id if was.role else "", m.role.id if m.role else "",
            )
        )  # fmt: skip
        for held in (was, m):
            if held.role is not None:
                entitlement = ids.entitlement_id(schema.ORGANIZATION, org.id, held.role.id)
                folded.add(ids.grant_id(entitlement, schema.USER, user.id))
    diff.role_changes.sort(key=lambda c: (c.organization.casefold(), c.user.casefold()))
    return folded


def _admins(side: Access, other: Access) -> list[AdminChange]:
    """Admin-level holdings of `side` that `other` lacks."""
    theirs = {(m.organization_id, m.user_id) for m in other.memberships if m.admin_level}
    found = []
    for m in side.memberships:
        if m.admin_level and (m.organization_id, m.user_id) not in theirs:
            org, user = side.organization(m.organization_id), side.user(m.user_id)
            found.append(AdminChange(org.id, org.name, user.id, user.name, m.role_label))
    return sorted(found, key=lambda a: (a.organization.casefold(), a.user.casefold()))


def _grant(item: grant_pb.Grant) -> GrantChange:
    ent = item.entitlement
    label = (
        ent.display_name if ent.slug not in (schema.MEMBER_SLUG, schema.GRANTED_SLUG) else ent.slug
    )
    # A role entitlement reads "{organization} {role}"; beside the organization, the role.
    label = label.removeprefix(f"{ent.resource.display_name} ")
    who = item.principal
    principal = who.display_name or who.id.resource
    if who.id.resource_type != schema.USER:
        principal = f"{who.id.resource_type.replace('_', ' ')} {principal}"
    resource_name = ent.resource.display_name or ent.resource.id.resource
    return GrantChange(item.id, resource_name, label or ent.slug, principal)


def _grouped(grants: list[GrantChange]) -> list[str]:
    """One line per resource and principal: `Kernel Hackers · Grace Hopper: member, Member`."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in grants:
        groups[(item.resource, item.principal)].append(item.entitlement)
    return [
        f"{resource} · {principal}: {', '.join(sorted(labels, key=_member_first))}"
        for (resource, principal), labels in sorted(groups.items())
    ]


def _member_first(label: str) -> tuple[bool, str]:
    return (label != schema.MEMBER_SLUG, label)


def _describe(sync: SyncFile) -> dict[str, Any]:
    return {
        "path": str(sync.path),
        "format": str(sync.format),
        "sync_id": sync.result.sync_id,
        "ended_at": sync.ended_at.isoformat() if sync.ended_at else None,
    }


def _line(sync: SyncFile) -> str:
    ended = f", ended {sync.ended_at:%Y-%m-%d %H:%M:%S}Z" if sync.ended_at else ""
    return f"{sync.path} (sync {sync.result.sync_id or '(no id)'}{ended})"


def dumps(diff: SyncDiff) -> str:
    return json.dumps(diff.to_json(), indent=2, ensure_ascii=False)
