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


def _modules() -> list[Path]:
    return sorted(TESTS.glob("test_*.py")) + sorted((TESTS / "unit").glob("test_*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(TESTS)))
def test_module_names_one_tier(path: Path) -> None:
    tiers = [m for m in _marks(path) if m in TIERS]
    assert len(tiers) == 1, (
        f"{path.name}: pytestmark names tiers {tiers}, expected one of {sorted(TIERS)}"
    )
    assert (tiers[0] == "unit") == (path.parent.name == "unit"), (
        f"{path.name}: tier {tiers[0]!r}, but unit modules live in tests/unit/ and only there"
    )


@pytest.mark.parametrize("path", sorted((TESTS / "unit").glob("*.py")), ids=lambda p: p.name)
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
