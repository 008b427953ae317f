"""The access report: one self-contained HTML page and CSV files, from one sync file.

Files written to the output directory (every one whole, or none replaced):
- `organizations.csv`: one row per membership (organization, member, the role held and what
  it allows); an organization without members has one row with empty member columns;
- `users.csv`: one row per user (status, MFA, SSO, last sign-in, organizations and roles);
- `roles.csv`: one row per role (key, admin-level, permissions, memberships holding it);
- `findings.csv`: one row per row behind a risk finding (see connector.platform.findings);
- `access-report.html`: all of that for a browser, tables capped at `html_rows` rows each
  (the CSVs hold every row), filter and sort by a few lines of inline script; written last.

CSV cells that a spreadsheet would run as a formula (a user can name themselves `=HYPERLINK…`)
are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from connector import __version__
from connector.platform.access import Access, Membership, Organization, Role, User, read_access
from connector.platform.files import write_all
from connector.platform.findings import Finding, Thresholds, find_risks
from connector.platform.page import Cell, CellLike, esc, page, table
from connector.platform.syncfile import SyncFile

HTML_NAME = "access-report.html"
DEFAULT_HTML_ROWS = 5_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Report:
    source: SyncFile
    thresholds: Thresholds
    access: Access
    findings: list[Finding]

    @cached_property
    def members(self) -> list[tuple[Organization, list[Membership]]]:
        """Every organization by name, with its memberships by member name."""
        access = self.access
        by_org = access.by_organization()
        names = {uid: user.name.casefold() for uid, user in access.users.items()}
        orgs = sorted(by_org, key=lambda oid: (access.organization(oid).name.casefold(), oid))
        return [
            (
                access.organization(oid),
                sorted(by_org[oid], key=lambda m: (names.get(m.user_id, m.user_id), m.user_id)),
            )
            for oid in orgs
        ]

    @cached_property
    def users(self) -> list[tuple[User, list[str]]]:
        """Every user by name, with the `organization: role` they hold, sorted."""
        access = self.access
        by_user = access.by_user()
        return [
            (user, _held(access, by_user.get(user.id, [])))
            for user in sorted(access.users.values(), key=lambda u: (u.name.casefold(), u.id))
        ]

    @property
    def membership_rows(self) -> int:
        return sum(max(len(members), 1) for _, members in self.members)

    def summary(self) -> str:
        """The findings as the command line prints them: one line each, with its count."""
        lines = ["Risk findings:"]
        width = max(len(f"{finding.count:,}") for finding in self.findings)
        for finding in self.findings:
            lines.append(f"  {finding.count:>{width},}  {finding.title}")
        return "\n".join(lines)


def build_report(source: SyncFile, thresholds: Thresholds) -> Report:
    access = read_access(source.result)
    return Report(source, thresholds, access, find_risks(access, thresholds))


def write_report(report: Report, out_dir: Path, *, html_rows: int = DEFAULT_HTML_ROWS) -> Path:
    """Write the CSVs and then the page; returns the page's path."""
    page_path = out_dir / HTML_NAME
    writers: dict[Path, Callable[[BinaryIO], None]] = {
        out_dir / "organizations.csv": _csv(_organization_rows(report)),
        out_dir / "users.csv": _csv(_user_rows(report)),
        out_dir / "roles.csv": _csv(_role_rows(report.access)),
        out_dir / "findings.csv": _csv(_finding_rows(report.findings)),
        page_path: lambda handle: _write_text(handle, render_html(report, html_rows)),
    }
    write_all(writers)
    return page_path


def _write_text(handle: BinaryIO, text: str) -> None:
    handle.write(text.encode("utf-8"))


# -- CSV ---------------------------------------------------------------------------------------


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(rows: Iterable[Sequence[object]]) -> Callable[[BinaryIO], None]:
    def write(handle: BinaryIO) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        out = csv.writer(text)
        for row in rows:
            out.writerow([_safe(value) for value in row])
        text.flush()
        text.detach()

    return write


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else ""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _organization_rows(report: Report) -> Iterable[Sequence[object]]:
    yield (
        "organization_id", "organization", "slug", "user_id", "user", "user_status",
        "membership_id", "role_id", "role_key", "role", "admin_level", "role_permissions",
    )  # fmt: skip
    for org, members in report.members:
        if not members:
            yield (org.id, org.name, org.slug, "", "", "", "", "", "", "", "", "")
        for m in members:
            user = report.access.user(m.user_id)
            yield (
                org.id, org.name, org.slug, user.id, user.name, user.status, m.membership_id,
                m.role.id if m.role else "", m.role_key, m.role_label, _yes(m.admin_level),
                " ".join(m.permissions),
            )  # fmt: skip


def _user_rows(report: Report) -> Iterable[Sequence[object]]:
    yield (
        "user_id", "user", "email", "status", "mfa", "sso", "last_sign_in", "organizations",
        "memberships",
    )  # fmt: skip
    for user, held in report.users:
        yield (
            user.id, user.name, user.email, user.status, _yes(user.mfa), _yes(user.sso),
            _when(user.last_sign_in), len(held), "; ".join(held),
        )  # fmt: skip


def _held(access: Access, memberships: list[Membership]) -> list[str]:
    return sorted(
        f"{access.organization(m.organization_id).name}: {m.role_label}" for m in memberships
    )


def _sorted_roles(access: Access) -> list[Role]:
    return sorted(access.roles.values(), key=lambda r: (not r.admin_level, r.label.casefold()))


def _role_rows(access: Access) -> Iterable[Sequence[object]]:
    yield ("role_id", "role_key", "role", "admin_level", "admin_permissions", "permissions",
           "memberships")  # fmt: skip
    holders = access.holders()
    for role in _sorted_roles(access):
        yield (
            role.id, role.key, role.label, _yes(role.admin_level),
            " ".join(role.admin_permissions), " ".join(role.permissions), holders.get(role.id, 0),
        )  # fmt: skip


def _finding_rows(findings: list[Finding]) -> Iterable[Sequence[object]]:
    yield ("finding", "title", "organization_id", "organization", "user_id", "user", "role",
           "detail")  # fmt: skip
    for finding in findings:
        for row in finding.rows:
            yield (
                finding.id, finding.title, row.organization_id, row.organization, row.user_id,
                row.user, row.role, row.detail,
            )  # fmt: skip


# -- HTML --------------------------------------------------------------------------------------


def render_html(report: Report, html_rows: int = DEFAULT_HTML_ROWS) -> str:
    access, source = report.access, report.source
    synced = _when(source.ended_at) or "not recorded"
    header = (
        "<h1>Access report</h1>"
        f'<p class="meta">Sync file <b>{esc(source.path.name)}</b> ({esc(source.format)}), '
        f"sync {esc(source.result.sync_id or '(no id)')}, ended {esc(synced)}; "
        f"report as of {report.thresholds.as_of:%Y-%m-%d}.</p>"
        f'<p class="meta">{len(access.users):,} users · {len(access.organizations):,} '
        f"organizations · {len(access.memberships):,} memberships · {len(access.roles):,} "
        "roles</p>"
        '<nav><a href="#findings">Risk findings</a><a href="#organizations">Organizations</a>'
        '<a href="#users">Users</a><a href="#roles">Roles</a>'
        '<a href="#evidence">Completeness</a></nav>'
    )
    body = "".join(
        [
            _findings_html(report.findings, html_rows),
            _organizations_html(report, html_rows),
            _users_html(report, html_rows),
            _roles_html(access, html_rows),
            _evidence_html(report),
            f'<p class="note">Written by clerk-connector {esc(__version__)}. The CSV files '
            "beside this page hold every row.</p>",
        ]
    )
    return page(f"Access report: {source.path.name}", header, body)


def _findings_html(findings: list[Finding], limit: int) -> str:
    overview = table(
        "findings-overview",
        ["Finding", "Count"],
        [
            [
                Cell(f'<a href="#{esc(f.id)}">{esc(f.title)}</a>', f.title, markup=True),
                Cell(f"{f.count:,}", str(f.count), "bad" if f.count else ""),
            ]
            for f in findings
        ],
        limit=len(findings),
        numeric=["Count"],
    )
    parts = ['<section id="findings"><h2>Risk findings</h2>', overview]
    for finding in findings:
        zero = " zero" if not finding.count else ""
        parts.append(
            f'<details id="{esc(finding.id)}" open><summary><span class="count{zero}">'
            f"{finding.count:,}</span>{esc(finding.title)}</summary>"
            f'<p class="rule">{esc(finding.rule)}</p>'
        )
        if finding.rows:
            columns = [
                (name, attr)
                for name, attr in (
                    ("Organization", "organization"),
                    ("User", "user"),
                    ("Role", "role"),
                    ("Detail", "detail"),
                )
                if any(getattr(row, attr) for row in finding.rows)
            ]
            parts.append(
                table(
                    f"finding-{finding.id}",
                    [name for name, _ in columns],
                    [[getattr(row, attr) for _, attr in columns] for row in finding.rows],
                    limit=limit,
                    full_copy="findings.csv",
                )
            )
        parts.append("</details>")
    parts.append("</section>")
    return "".join(parts)


def _permissions(keys: Sequence[str]) -> Cell:
    text = " ".join(f'<span class="perm">{esc(key)}</span>' for key in keys)
    return Cell(text or "—", " ".join(keys), markup=True)


def _organization_cells(report: Report) -> Iterator[list[CellLike]]:
    for org, members in report.members:
        if not members:
            yield [org.name, Cell("(no members)", "", "note"), "", "", "", ""]
        for m in members:
            user = report.access.user(m.user_id)
            yield [
                org.name,
                user.name,
                Cell(user.status, css="" if user.enabled else "bad"),
                Cell(m.role_label, css="" if m.role else "bad"),
                Cell(_yes(m.admin_level), css="bad" if m.admin_level else ""),
                _permissions(m.permissions),
            ]


def _organizations_html(report: Report, limit: int) -> str:
    return (
        '<section id="organizations"><h2>Organizations</h2>'
        '<p class="note">Every member of every organization, the role each holds and what that '
        "role allows.</p>"
        + table(
            "organizations-table",
            ["Organization", "Member", "Status", "Role", "Admin-level", "Role allows"],
            list(islice(_organization_cells(report), limit)),
            limit=limit,
            total=report.membership_rows,
            full_copy="organizations.csv",
            filter_box=True,
        )
        + "</section>"
    )


def _users_html(report: Report, limit: int) -> str:
    rows: list[list[CellLike]] = [
        [
            user.name,
            user.email,
            Cell(user.status, css="" if user.enabled else "bad"),
            _yes(user.mfa),
            _yes(user.sso),
            Cell(_when(user.last_sign_in) or "never", _when(user.last_sign_in)),
            len(held),
            "; ".join(held),
        ]
        for user, held in report.users[:limit]
    ]
    return (
        '<section id="users"><h2>Users</h2>'
        + table(
            "users-table",
            ["User", "Email", "Status", "MFA", "SSO", "Last sign-in", "Orgs", "Organizations"],
            rows,
            limit=limit,
            total=len(report.users),
            full_copy="users.csv",
            filter_box=True,
            numeric=["Orgs"],
        )
        + "</section>"
    )


def _roles_html(access: Access, limit: int) -> str:
    holders = access.holders()
    rows: list[list[CellLike]] = [
        [
            role.label,
            Cell(role.key, css="perm"),
            Cell(_yes(role.admin_level), css="bad" if role.admin_level else ""),
            _permissions(role.permissions),
            holders.get(role.id, 0),
        ]
        for role in _sorted_roles(access)
    ]
    return (
        '<section id="roles"><h2>Roles</h2>'
        '<p class="note">Admin-level: the role carries a system permission (org:sys_…) whose '
        "action is not read.</p>"
        + table(
            "roles-table",
            ["Role", "Key", "Admin-level", "Permissions", "Memberships"],
            rows,
            limit=limit,
            full_copy="roles.csv",
            numeric=["Memberships"],
        )
        + "</section>"
    )


def _evidence_html(report: Report) -> str:
    result = report.source.result
    rows: list[list[CellLike]] = [
        [
            str(item.get("route", "")),
            int(item.get("read", 0)),
            int(item.get("expected", 0)),
            int(item.get("churn", 0)),
            int(item.get("repaired", 0)),
        ]
        for item in result.listings()
    ]
    events = ", ".join(f"{name} x{count}" for name, count in sorted(result.events().items()))
    skipped = "; ".join(result.skipped)
    listing = (
        table(
            "evidence-table",
            ["Clerk list", "Distinct rows read", "Clerk's total", "Churn", "Found by repair"],
            rows,
            limit=len(rows),
            numeric=["Distinct rows read", "Clerk's total", "Churn", "Found by repair"],
        )
        if rows
        else '<p class="note">The sync file carries no completeness evidence.</p>'
    )
    return (
        '<section id="evidence"><h2>Completeness</h2>'
        '<p class="note">What the sync rests on: each Clerk list read, against Clerk\'s own '
        "total.</p>"
        + listing
        + f'<p class="note">Events: {esc(events or "none")}.'
        + (f" Skipped: {esc(skipped)}." if skipped else "")
        + "</p></section>"
    )
