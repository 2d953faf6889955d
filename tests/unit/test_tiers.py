"""Every test module names exactly one tier, and the unit tier stays in tests/unit/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
TIERS = {"unit", "tooling", "store", "server", "local_server", "node", "browser"}
# A unit module that imports one of these starts our server or needs the store.
NOT_IN_UNIT = {"mcp_client", "conftest", "kitaru", "zenml", "node_clients", "procs"}


def _marks(path: Path) -> list[str]:
    """The `pytest.mark.<name>` names a module's `pytestmark` assigns."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return [
                n.attr
                for n in ast.walk(node.value)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Attribute)
                and n.value.attr == "mark"
            ]
    return []


UNIT = TESTS / "unit"
PACKAGE = ROOT / "kitaru_mcp"


def _modules() -> list[Path]:
    return sorted(TESTS.glob("test_*.py")) + sorted(UNIT.rglob("test_*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(TESTS)))
def test_module_names_one_tier(path: Path) -> None:
    tiers = [m for m in _marks(path) if m in TIERS]
    assert len(tiers) == 1, (
        f"{path.name}: pytestmark names tiers {tiers}, expected one of {sorted(TIERS)}"
    )
    assert (tiers[0] == "unit") == (UNIT in path.parents), (
        f"{path.name}: tier {tiers[0]!r}, but unit modules live in tests/unit/ and only there"
    )


def test_unit_tests_mirror_the_package() -> None:
    """tests/unit/<wing>/ holds the unit tests of kitaru_mcp/<wing>/ (handlers/ is installed
    as kitaru_mcp.handlers); the modules directly in tests/unit/ are about the project."""
    wings = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} | {"handlers"}
    folders = {p.name for p in UNIT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= wings, f"tests/unit/ folders that are no wing: {sorted(folders - wings)}"
    for folder in folders:
        assert (UNIT / folder / "__init__.py").is_file(), f"tests/unit/{folder}/ is no package"
        assert any((UNIT / folder).glob("test_*.py")), f"tests/unit/{folder}/ holds no tests"


@pytest.mark.parametrize("path", sorted(UNIT.rglob("*.py")), ids=lambda p: str(p.relative_to(UNIT)))
def test_unit_modules_start_nothing(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & NOT_IN_UNIT, f"{path.name} imports {sorted(imported & NOT_IN_UNIT)}"


def test_markers_are_registered() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for tier in TIERS | {"slow"}:
        assert f'"{tier}: ' in text, f"marker {tier} is not registered in pyproject.toml"
