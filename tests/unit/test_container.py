"""`make image` and the Dockerfile build what the README promises.

No image is built here (that needs a container engine and a base image); instead `make -n`
shows the exact build command for a machine with podman, with docker only, or with neither,
and the Dockerfile and .dockerignore are checked against each other.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from connector.server.process import DRAIN_SECONDS

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
DOCKERFILE = (ROOT / "Dockerfile").read_text()

needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make_dry_run(
    tmp_path: Path, tools: list[str], *variables: str
) -> subprocess.CompletedProcess[str]:
    """`make -n image` with only `tools` (empty stand-ins) on PATH."""
    assert MAKE is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        path = bin_dir / tool
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    outer = ("CONTAINER_TOOL", "IMAGE", "IMAGE_BUILD_FLAGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in outer}
    env["PATH"] = str(bin_dir)
    return subprocess.run(
        [MAKE, "-n", "-C", str(ROOT), "image", *variables],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def build_line(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if " build " in line]
    assert len(lines) == 1, result.stdout
    return lines[0].split()


@needs_make
def test_podman_is_preferred_and_builds_the_docker_format(tmp_path: Path) -> None:
    # The OCI format would drop HEALTHCHECK with only a warning.
    command = build_line(make_dry_run(tmp_path, ["podman", "docker"]))
    assert command[:2] == ["podman", "build"]
    assert command[command.index("--format") + 1] == "docker"
    assert command[-3:] == ["-t", "clerk-connector:dev", "."]


@needs_make
def test_docker_alone_is_used_once_without_a_fallback(tmp_path: Path) -> None:
    result = make_dry_run(tmp_path, ["docker"])
    command = build_line(result)
    assert command[:2] == ["docker", "build"]
    assert "--format" not in command  # docker has no such flag: its images keep HEALTHCHECK
    assert "||" not in result.stdout
    assert "podman" not in result.stdout


@needs_make
def test_extra_flags_and_the_image_name_pass_through(tmp_path: Path) -> None:
    result = make_dry_run(
        tmp_path,
        ["podman"],
        "IMAGE_BUILD_FLAGS=--isolation chroot --pull=never",
        "IMAGE=registry.example.test/clerk-connector:0.1.0",
    )
    command = build_line(result)
    assert command[:4] == ["podman", "build", "--format", "docker"]
    assert command[4:7] == ["--isolation", "chroot", "--pull=never"]
    assert command[-3:] == ["-t", "registry.example.test/clerk-connector:0.1.0", "."]


@needs_make
def test_no_container_tool_is_one_clear_error(tmp_path: Path) -> None:
    result = make_dry_run(tmp_path, [])
    assert result.returncode != 0
    assert "make image needs podman or docker" in result.stderr
    assert " build " not in result.stdout


def test_the_build_context_is_only_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything out (.venv, .tools, .git, caches) ...
    included = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    copied: set[str] = set()
    for match in re.finditer(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.MULTILINE):
        copied |= set(match.group(1).split())
    assert included == copied  # ... except exactly what COPY needs
    assert "**/__pycache__" in patterns[patterns.index("!connector/") :]


def test_both_stages_share_one_base_named_by_debian_release() -> None:
    assert not DOCKERFILE.startswith("# syntax=")  # BuildKit would pull a frontend image
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-(bookworm|trixie)", base.group(1))
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    assert stages == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]


def test_the_runtime_stage_has_no_installer_and_no_system_user_warning() -> None:
    build, runtime = DOCKERFILE.split("\nFROM ${PYTHON_IMAGE}\n")
    assert "python -m venv --without-pip /opt/venv" in build
    assert "--python /opt/venv/bin/python install" in build
    assert "pip uninstall --yes --root-user-action=ignore pip setuptools wheel" in runtime
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert "--system" not in runtime  # uid 10001 is outside the system range
    assert "--uid 10001" in runtime
    assert "--no-log-init" in runtime


def test_every_documented_run_outlasts_the_drain() -> None:
    """docker's and podman's default 10 s stop timeout would cut the SIGTERM drain short."""
    readme = (ROOT / "README.md").read_text().replace("\\\n", " ")
    runs = re.findall(r"^(?:docker|podman) run .+$", readme, re.MULTILINE)
    assert len(runs) >= 3
    for command in runs:
        timeout = re.search(r"--stop-timeout (\d+)", command)
        assert timeout is not None, command
        assert int(timeout.group(1)) > DRAIN_SECONDS, command
        assert "--read-only" in command
        assert "--cap-drop ALL" in command
