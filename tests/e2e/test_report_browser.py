"""The report and the diff as a reviewer opens them: Debian's chromium, headless, from file://.

Each page must load with no console message at all (no script error, no refused fetch: the
page's policy forbids every fetch, so one would show here), run its script to the end, and
show the findings of the fake's data. Without chromium the tests are skipped with the reason;
CI sets REQUIRE_BROWSER=1 (after `make browser`), so there a missing browser fails instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from connector.fake_clerk import FakeClerk, awkward, demo
from connector.platform.diff import diff_syncs
from connector.platform.findings import Thresholds
from connector.platform.report import build_report, write_report
from connector.platform.syncfile import load_sync_file
from tests.e2e import browser
from tests.e2e.syncs import AS_OF, TEST_KEY, sync_fake, sync_of, write

if browser.CHROMIUM is None and os.environ.get("REQUIRE_BROWSER") == "1":
    raise RuntimeError("REQUIRE_BROWSER=1 but chromium is not on PATH (run make browser)")
pytestmark = pytest.mark.skipif(
    browser.CHROMIUM is None,
    reason="no chromium on PATH: `make browser` installs Debian's chromium (as root)",
)


def _report_page(tmp_path: Path, dataset_name: str) -> Path:
    dataset = demo() if dataset_name == "demo" else awkward()
    source = load_sync_file(write(tmp_path / f"{dataset_name}.c1z", sync_of(dataset)))
    return write_report(build_report(source, Thresholds(as_of=AS_OF)), tmp_path / "report")


def _loaded_cleanly(page: browser.Rendered) -> None:
    assert page.console == []
    assert page.html_attribute("data-error") is None
    assert page.html_attribute("data-ready") == "1"


def _count(dom: str, title: str) -> int:
    found = re.search(rf'<span class="count[^"]*">([\d,]+)</span>{re.escape(title)}</summary>', dom)
    assert found is not None, title
    return int(found.group(1).replace(",", ""))


def test_demo_report_loads_cleanly_and_shows_its_findings(tmp_path: Path) -> None:
    page = browser.render(_report_page(tmp_path, "demo").as_uri())
    _loaded_cleanly(page)
    assert _count(page.dom, "Disabled users who still hold memberships") == 1
    assert _count(page.dom, "Admin-level roles held without MFA") == 3
    assert _count(page.dom, "Organizations with no enabled admin-level member") == 1
    assert _count(page.dom, "Unresolved role keys") == 0
    assert "3 members; every admin-level member is disabled: Linus Torvalds (banned)" in page.dom
    users = page.dom[page.dom.index('id="users-table"') : page.dom.index('id="roles"')]
    assert users.count("<tr") == 9  # header and the 8 users, none hidden


def test_the_filter_script_runs_in_the_browser(tmp_path: Path) -> None:
    """`#q=` fills the filter boxes: only Linus's rows stay visible in the tables."""
    page = browser.render(_report_page(tmp_path, "demo").as_uri() + "#q=linus")
    _loaded_cleanly(page)
    table = page.dom[page.dom.index('id="organizations-table"') : page.dom.index('id="users"')]
    assert table.count("<tr hidden") == 9
    assert re.search(r'id="organizations-table-count"[^>]*>1 of 10 rows<', page.dom)
    assert re.search(r'id="users-table-count"[^>]*>1 of 8 rows<', page.dom)


def test_awkward_report_shows_the_unresolved_key_and_the_empty_organization(
    tmp_path: Path,
) -> None:
    page = browser.render(_report_page(tmp_path, "awkward").as_uri())
    _loaded_cleanly(page)
    assert _count(page.dom, "Unresolved role keys") == 1
    assert "role key 'org:ghost'; lists permissions: none" in page.dom
    assert "0 members; no admin-level member" in page.dom
    assert "Ünïcødé Ørg 日本" in page.dom


def test_report_prints_to_pdf(tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    browser.print_to_pdf(_report_page(tmp_path, "demo").as_uri(), out)
    assert out.read_bytes().startswith(b"%PDF")


def test_diff_page_loads_cleanly(tmp_path: Path) -> None:
    data = demo()
    with FakeClerk(data, secret_key=TEST_KEY) as fake:
        before = load_sync_file(write(tmp_path / "before.c1z", sync_fake(fake)))
        barbara = data.membership("org_demo_kernel", "user_demo_barbara")
        assert barbara is not None
        data.change_role(barbara.id, "org:admin")
        after = load_sync_file(write(tmp_path / "after.c1z", sync_fake(fake)))
    page_path = tmp_path / "diff.html"
    page_path.write_text(diff_syncs(before, after).to_html(), encoding="utf-8")
    page = browser.render(page_path.as_uri())
    _loaded_cleanly(page)
    assert "Role changes (1)" in page.dom
    assert "Barbara Liskov" in page.dom
