"""The access report of real syncs: the findings a reviewer must see, and the CSVs behind them."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from connector.fake_clerk import Dataset, awkward, demo
from connector.fake_clerk.data import samples as awk
from connector.platform.findings import Finding, Thresholds
from connector.platform.report import Report, build_report, write_report
from connector.platform.syncer import SyncResult
from connector.platform.syncfile import load_sync_file
from tests.e2e.syncs import AS_OF, sync_of, write


def report_of(path: Path, result: SyncResult, **limits: int) -> Report:
    return build_report(load_sync_file(write(path, result)), Thresholds(as_of=AS_OF, **limits))


def rows(report: Report, finding_id: str) -> list[tuple[str, str, str, str]]:
    (finding,) = [f for f in report.findings if f.id == finding_id]
    return [(row.organization, row.user, row.role, row.detail) for row in finding.rows]


def counts(findings: list[Finding]) -> dict[str, int]:
    return {finding.id: finding.count for finding in findings}


@pytest.fixture(scope="module")
def demo_sync() -> SyncResult:
    return sync_of(demo())


@pytest.mark.parametrize("suffix", [".json", ".c1z"])
def test_demo_findings_from_either_file_format(
    tmp_path: Path, demo_sync: SyncResult, suffix: str
) -> None:
    report = report_of(tmp_path / f"demo{suffix}", demo_sync)
    assert counts(report.findings) == {
        "disabled_members": 1,
        "admin_without_mfa": 3,
        "stale_admins": 4,
        "organizations_without_admin": 1,
        "admins_in_many_organizations": 0,
        "unresolved_role_keys": 0,
        "permissions_beyond_role": 0,
    }
    assert rows(report, "disabled_members") == [
        ("Kernel Hackers", "Linus Torvalds", "Admin", "banned")
    ]
    perms = "org:sys_memberships:manage, org:sys_profile:manage; SSO off"
    assert rows(report, "admin_without_mfa") == [
        ("Analytical Engines", "Ada Lovelace", "Admin", perms),
        ("Analytical Engines", "Dennis Ritchie", "Admin (legacy)", perms),  # the legacy key
        ("Kernel Hackers", "Linus Torvalds", "Admin", perms),
    ]  # Margaret (Apollo's admin) has MFA
    assert [r[:2] for r in rows(report, "stale_admins")] == [
        ("Analytical Engines", "Ada Lovelace"),
        ("Analytical Engines", "Dennis Ritchie"),
        ("Apollo Guidance", "Margaret Hamilton"),
        ("Kernel Hackers", "Linus Torvalds"),
    ]
    assert rows(report, "stale_admins")[0][3] == "last signed in 2024-01-31 (122 days ago)"
    assert rows(report, "organizations_without_admin") == [
        (
            "Kernel Hackers",
            "",
            "",
            "3 members; every admin-level member is disabled: Linus Torvalds (banned)",
        )
    ]


def test_thresholds_change_what_is_stale_and_what_is_many(
    tmp_path: Path, demo_sync: SyncResult
) -> None:
    # Ada signed in on 2024-01-31, Dennis on 02-06, Margaret on 02-05, Linus on 02-04.
    report = report_of(tmp_path / "demo.c1z", demo_sync, stale_days=117)
    assert [r[1] for r in rows(report, "stale_admins")] == ["Ada Lovelace", "Linus Torvalds"]
    report = report_of(tmp_path / "demo.c1z", demo_sync, stale_days=200)
    assert rows(report, "stale_admins") == []
    report = report_of(tmp_path / "demo.c1z", demo_sync, many_organizations=1)
    assert [r[1] for r in rows(report, "admins_in_many_organizations")] == [
        "Ada Lovelace", "Dennis Ritchie", "Linus Torvalds", "Margaret Hamilton",
    ]  # fmt: skip


def test_awkward_findings(tmp_path: Path) -> None:
    report = report_of(tmp_path / "awkward.c1z", sync_of(awkward()), many_organizations=2)
    assert [(r[1], r[3]) for r in rows(report, "disabled_members")] == [
        ("Bart Banned", "banned"),
        ("Dee Provisioned", "deprovisioned"),
        ("Lockie Locked", f"locked (lockout expires in {awk.LOCKOUT_SECONDS} s)"),
        ("Forever Locked", "locked"),
    ]
    assert rows(report, "unresolved_role_keys") == [
        ("Acme Corp", "Sam Sso", "org:ghost (matches no role)",
         "role key 'org:ghost'; lists permissions: none"),
    ]  # fmt: skip
    # Tia holds the legacy `admin` key with TOTP: admin-level, but not without MFA.
    assert ("Acme Corp", "Tia Totp") not in [r[:2] for r in rows(report, "admin_without_mfa")]
    assert ("Acme Corp", "Tia Totp", "Admin (legacy)", "never signed in") in rows(
        report, "stale_admins"
    )
    assert [r[0] for r in rows(report, "organizations_without_admin")] == ["Empty Inc"]
    assert [(r[1], r[3]) for r in rows(report, "admins_in_many_organizations")] == [
        ("Alice Anders", "2 organizations: Acme Corp, Restricted Ltd")
    ]


def _with_stale_permissions() -> Dataset:
    """Demo data where memberships list permissions that no role explains (Clerk shows a stale
    list after a role was edited): Alan's `org:member` lists a manage permission, and Barbara
    holds `org:contractor`, a key no role has, whose membership lists one too."""
    data = demo()
    alan = data.membership("org_demo_analytical", "user_demo_alan")
    assert alan is not None
    data.remove_membership(alan.id)
    data.add_membership(
        replace(
            alan,
            stale_permissions=("org:sys_memberships:read", "org:sys_memberships:manage"),
        )
    )
    barbara = data.membership("org_demo_kernel", "user_demo_barbara")
    assert barbara is not None
    data.remove_membership(barbara.id)
    data.add_membership(
        replace(barbara, role="org:contractor", stale_permissions=("org:sys_profile:manage",))
    )
    return data


def test_permissions_beyond_the_resolved_role(tmp_path: Path) -> None:
    report = report_of(tmp_path / "stale.c1z", sync_of(_with_stale_permissions()))
    assert rows(report, "permissions_beyond_role") == [
        ("Analytical Engines", "Alan Turing", "Member",
         "lists beyond its role: org:sys_memberships:manage"),
        ("Kernel Hackers", "Barbara Liskov", "org:contractor (matches no role)",
         "no role explains: org:sys_profile:manage"),
    ]  # fmt: skip
    assert [r[1] for r in rows(report, "unresolved_role_keys")] == ["Barbara Liskov"]
    # An unresolved key is admin-level by what its membership lists: it is the only evidence.
    assert ("Kernel Hackers", "Barbara Liskov") in [
        r[:2] for r in rows(report, "admin_without_mfa")
    ]
    # A stale list beyond a resolved role does not make Alan an admin: his role decides.
    assert "Alan Turing" not in [r[1] for r in rows(report, "admin_without_mfa")]


def test_csv_files_hold_every_row(tmp_path: Path, demo_sync: SyncResult) -> None:
    report = report_of(tmp_path / "demo.c1z", demo_sync)
    write_report(report, tmp_path / "out", html_rows=2)

    def read(name: str) -> list[dict[str, str]]:
        with (tmp_path / "out" / name).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    orgs = read("organizations.csv")
    assert len(orgs) == 10  # every membership; every organization has members
    dennis = [r for r in orgs if r["user"] == "Dennis Ritchie"]
    assert [(r["organization"], r["role_key"], r["admin_level"]) for r in dennis] == [
        ("Analytical Engines", "admin", "yes"),
        ("Kernel Hackers", "org:release_manager", "no"),
    ]
    assert dennis[1]["role_permissions"] == "org:deployments:manage org:sys_memberships:read"
    users = read("users.csv")
    assert len(users) == 8
    linus = next(u for u in users if u["user"] == "Linus Torvalds")
    assert (linus["status"], linus["mfa"], linus["organizations"]) == ("banned", "no", "1")
    roles = {r["role_key"]: r for r in read("roles.csv")}
    assert roles["admin"]["admin_level"] == "yes"
    assert roles["org:member"]["admin_level"] == "no"
    assert roles["org:admin"]["memberships"] == "3"
    findings = read("findings.csv")
    assert len(findings) == sum(f.count for f in report.findings)
    page = (tmp_path / "out" / "access-report.html").read_text()
    assert "Showing the first 2 of 10 rows; every row is in organizations.csv" in page


def test_names_cannot_become_formulas_or_markup(tmp_path: Path) -> None:
    data = demo()
    ada = data.user("user_demo_ada")
    assert ada is not None
    data.replace_user(replace(ada, first_name='=HYPERLINK("http://x")', last_name="<b>Ada</b>"))
    report = report_of(tmp_path / "evil.json", sync_of(data))
    write_report(report, tmp_path / "out")
    users = (tmp_path / "out" / "users.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in users
    assert "\n=HYPERLINK" not in users
    assert ",=HYPERLINK" not in users
    page = (tmp_path / "out" / "access-report.html").read_text(encoding="utf-8")
    assert "<b>Ada</b>" not in page
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page


def test_a_failed_write_leaves_no_report_that_looks_complete(
    tmp_path: Path, demo_sync: SyncResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = report_of(tmp_path / "demo.c1z", demo_sync)
    out = tmp_path / "out"
    import connector.platform.report as module

    def broken(*_: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "render_html", broken)
    with pytest.raises(OSError, match="No space"):
        write_report(report, out)
    assert list(out.iterdir()) == []  # not even the CSVs written before the page failed
