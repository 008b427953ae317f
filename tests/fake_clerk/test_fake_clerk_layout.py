"""The fake Clerk's layout: three parts importing one way, and nothing from the connector.

`data` must not know how it is served or bent, `behaviour` must not know HTTP, and the fake as a
whole must not borrow the connector's code (a fake that shares the client's models could only
agree with them). Read from the source, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connector.clerk import models as client_models
from connector.fake_clerk.data import records

PACKAGE = "connector.fake_clerk"
ROOT = Path(__file__).resolve().parents[2] / "connector" / "fake_clerk"
# The other parts each part may import; the package root (the public surface) may import all.
ALLOWED: dict[str, set[str]] = {
    "data": set(),
    "behaviour": {"data"},
    "api": {"data", "behaviour"},
}
SOURCES = sorted(ROOT.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def imports_of(source: str, module: str, *, is_package: bool) -> set[str]:
    """Every module (or module.name) `source` imports, relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def part_of(module: str) -> str | None:
    """The part (`data`, `behaviour`, `api`) a module of the fake is in; None for the root."""
    return module.removeprefix(PACKAGE).lstrip(".").split(".")[0] or None


def violations(module: str, imports: set[str]) -> list[str]:
    own = part_of(module)
    found = []
    for target in sorted(imports):
        if not (target == "connector" or target.startswith("connector.")):
            continue
        if not target.startswith(PACKAGE + "."):
            found.append(f"{module} imports the connector's {target}")
        elif own is not None and part_of(target) not in {own, *ALLOWED[own]}:
            found.append(f"{module} ({own}) imports {target}")
    return found


def test_every_module_sits_in_a_part() -> None:
    assert {part_of(module_name(path)) for path in SOURCES} == {None, *ALLOWED}


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_imports_run_one_way_and_stay_inside_the_fake(path: Path) -> None:
    module = module_name(path)
    source = path.read_text(encoding="utf-8")
    assert violations(module, imports_of(source, module, is_package=path.stem == "__init__")) == []


def test_the_check_sees_wrong_way_and_outside_imports() -> None:
    source = (
        "from connector.fake_clerk.api import server\n"
        "from ..behaviour.faults import Faults\n"
        "from .records import UserRecord\n"
        "def late() -> None:\n"
        "    import connector.clerk.models\n"
    )
    module = "connector.fake_clerk.data.probe"
    assert violations(module, imports_of(source, module, is_package=False)) == [
        f"{module} imports the connector's connector.clerk.models",
        f"{module} (data) imports connector.fake_clerk.api.server",
        f"{module} (data) imports connector.fake_clerk.behaviour.faults.Faults",
    ]


def test_record_names_do_not_repeat_the_client_models() -> None:
    # A reader meeting `User` should never have to ask whose: the fake's rows end in Record.
    def classes(module: object) -> set[str]:
        own = getattr(module, "__name__", "")
        return {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == own
        }

    fake = classes(records)
    assert fake
    assert [name for name in sorted(fake) if not name.endswith("Record")] == []
    assert not fake & classes(client_models)
