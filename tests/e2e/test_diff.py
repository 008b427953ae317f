"""What changed between two real syncs of one fake Clerk, edited in between as Clerk allows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connector.fake_clerk import FakeClerk, demo
from connector.fake_clerk.data import EmailAddressRecord, UserRecord
from connector.platform.diff import SyncDiff, diff_syncs
from connector.platform.syncfile import load_sync_file
from tests.e2e.syncs import STARTED, TEST_KEY, sync_fake, write

CLI = [sys.executable, "-m", "connector"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(before, after, before again): JSON, then c1z, then JSON of unchanged data."""
    tmp = tmp_path_factory.mktemp("diff")
    data = demo()
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        before = write(tmp / "before.json", sync_fake(fake))
        again = write(tmp / "again.json", sync_fake(fake), started=STARTED.replace(hour=14))
        barbara = data.membership("org_demo_kernel", "user_demo_barbara")
        assert barbara is not None
        data.change_role(barbara.id, "org:admin")  # Member -> Admin: one change, a new admin
        ada = data.membership("org_demo_analytical", "user_demo_ada")
        assert ada is not None
        data.change_role(ada.id, "org:member")  # Admin -> Member: an admin removed
        alan = data.membership("org_demo_analytical", "user_demo_alan")
        assert alan is not None
        data.remove_membership(alan.id)
        data.create_membership("org_demo_apollo", "user_demo_alan", "org:member")
        hedy = EmailAddressRecord("idn_demo_hedy", "hedy@radio.example")
        data.add_user(
            UserRecord(
                "user_demo_hedy",
                data.next_created_at(),
                first_name="Hedy",
                last_name="Lamarr",
                email_addresses=(hedy,),
                primary_email_address_id=hedy.id,
            )
        )
        data.remove_organization("org_demo_apollo")  # Alan's new membership goes with it
        after = write(tmp / "after.c1z", sync_fake(fake), started=STARTED.replace(hour=15))
    return before, after, again


def diff(old: Path, new: Path) -> SyncDiff:
    return diff_syncs(load_sync_file(old), load_sync_file(new))


def test_role_changes_are_one_change_each_and_admins_follow(
    files: tuple[Path, Path, Path],
) -> None:
    before, after, _ = files
    changes = diff(before, after)
    assert [(c.organization, c.user, c.old_role, c.new_role) for c in changes.role_changes] == [
        ("Analytical Engines", "Ada Lovelace", "Admin", "Member"),
        ("Kernel Hackers", "Barbara Liskov", "Member", "Admin"),
    ]
    assert [(a.organization, a.user, a.role) for a in changes.admins_added] == [
        ("Kernel Hackers", "Barbara Liskov", "Admin")
    ]
    assert [(a.organization, a.user) for a in changes.admins_removed] == [
        ("Analytical Engines", "Ada Lovelace"),
        ("Apollo Guidance", "Margaret Hamilton"),  # the organization vanished
    ]
    # The role grants behind a role change are not listed again as a removal plus an addition.
    listed = {g.id for g in [*changes.grants_added, *changes.grants_removed]}
    assert not any("user_demo_barbara" in gid or "user_demo_ada" in gid for gid in listed)


def test_users_organizations_and_grants_that_came_and_went(
    files: tuple[Path, Path, Path],
) -> None:
    before, after, _ = files
    changes = diff(before, after)
    assert [(u.id, u.name) for u in changes.users_appeared] == [("user_demo_hedy", "Hedy Lamarr")]
    assert changes.users_vanished == []
    assert [o.name for o in changes.organizations_vanished] == ["Apollo Guidance"]
    assert changes.organizations_appeared == []
    assert changes.grants_added == []
    removed = sorted(g.id for g in changes.grants_removed)
    assert removed == sorted(
        [
            "organization:org_demo_analytical:member:user:user_demo_alan",
            "organization:org_demo_analytical:role_demo_member:user:user_demo_alan",
            *(
                f"organization:org_demo_apollo:{ent}:user:user_demo_{who}"
                for who, role in (("margaret", "admin"), ("katherine", "billing_viewer"),
                                  ("grace", "member"))
                for ent in ("member", f"role_demo_{role}")
            ),
        ]
    )  # fmt: skip
    text = changes.to_text()
    assert "~ Kernel Hackers · Barbara Liskov: Member → Admin" in text
    assert "- Analytical Engines · Alan Turing: member, Member" in text
    assert "+ Hedy Lamarr (user_demo_hedy)" in text


def test_no_change_between_two_syncs_of_the_same_data(files: tuple[Path, Path, Path]) -> None:
    before, _, again = files
    changes = diff(before, again)
    assert not changes.changed
    assert changes.to_text().endswith("No change in access.")


def test_exit_status_and_formats(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    before, after, again = files
    same = subprocess.run([*CLI, "diff", str(before), str(again)], capture_output=True, text=True)
    assert (same.returncode, same.stderr) == (0, "")
    changed = subprocess.run(
        [*CLI, "diff", str(before), str(after), "--json"], capture_output=True, text=True
    )
    assert changed.returncode == 1, changed.stderr
    document = json.loads(changed.stdout)
    assert document["changed"] is True
    assert document["old"]["format"] == "json"
    assert document["new"]["format"] == "c1z"
    assert [c["user"] for c in document["role_changes"]] == ["Ada Lovelace", "Barbara Liskov"]
    page = tmp_path / "diff.html"
    written = subprocess.run(
        [*CLI, "diff", str(before), str(after), "--html", "--out", str(page)],
        capture_output=True,
        text=True,
    )
    assert (written.returncode, written.stdout) == (1, "")
    html = page.read_text(encoding="utf-8")
    assert "Role changes (2)" in html
    assert "Barbara Liskov" in html
