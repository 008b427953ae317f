"""Debian's chromium, headless: load a page from a file:// URL, keep the DOM it ends with and
every console message, take a screenshot or print it to PDF.

`python -m tests.e2e.browser OUT.png` renders the demo instance's report (the README's
screenshot, docs/access-report.png).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# No sandbox (root in CI), and none of the background traffic this closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


@dataclass(frozen=True)
class Rendered:
    dom: str
    console: list[str]  # every console message the page produced (errors, CSP refusals, logs)

    def html_attribute(self, name: str) -> str | None:
        tag = re.search(r"<html\b[^>]*>", self.dom)
        found = re.search(rf'\b{name}="([^"]*)"', tag.group(0)) if tag else None
        return found.group(1) if found else None


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def render(url: str) -> Rendered:
    done = _run(["--enable-logging=stderr", "--v=0", "--dump-dom", url])
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return Rendered(done.stdout, _CONSOLE.findall(done.stderr))


def screenshot(url: str, out: Path, *, width: int = 1280, height: int = 1700) -> None:
    _run([f"--window-size={width},{height}", f"--screenshot={out}", url])
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {out}")


def print_to_pdf(url: str, out: Path) -> None:
    _run(["--no-pdf-header-footer", f"--print-to-pdf={out}", url])
    if not out.exists():
        raise RuntimeError(f"chromium wrote no PDF to {out}")


def _demo_screenshot(out: Path) -> None:
    from connector.fake_clerk import demo
    from connector.platform.findings import Thresholds
    from connector.platform.report import build_report, write_report
    from connector.platform.syncfile import load_sync_file
    from tests.e2e.syncs import AS_OF, sync_of, write

    with tempfile.TemporaryDirectory() as tmp:
        source = load_sync_file(write(Path(tmp) / "demo.c1z", sync_of(demo())))
        page = write_report(build_report(source, Thresholds(as_of=AS_OF)), Path(tmp) / "report")
        screenshot(page.as_uri(), out)


if __name__ == "__main__":
    if CHROMIUM is None:
        sys.exit("no chromium on PATH (make browser installs Debian's)")
    _demo_screenshot(Path(sys.argv[1]))
