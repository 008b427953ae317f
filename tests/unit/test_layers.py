"""The layers' import direction (pyproject's import-linter contracts) holds, and the check
would catch an arrow that runs the wrong way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(config: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(LINT_IMPORTS), "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_layer_contract_is_kept() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_way_arrow_is_caught(tmp_path: Path) -> None:
    # The Clerk model does import the c1 layer: a contract forbidding it must break.
    config = tmp_path / "wrong-way.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["connector"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "model may not use c1"\n'
        'type = "forbidden"\n'
        'source_modules = ["connector.model"]\n'
        'forbidden_modules = ["connector.c1"]\n'
    )
    result = lint(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
