"""Imports point down: no circle anywhere, wings in one order, and the gateway near the bottom.

Read from the source (every ``import``, those inside functions too), so a lazy
import that closes a circle is caught as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "kitaru_mcp": ROOT / "kitaru_mcp",
    "kitaru_mcp.handlers": ROOT / "handlers",
    "kitaru_mcp.generated": ROOT / "generated",
    "kitaru_mcp.codegen": ROOT / "codegen",
}
# The wings, bottom first: a module may import its own wing and the wings below it.
# The generated models sit below the handlers that fill them; the tool table above them.
WINGS = (
    "kitaru_mcp",  # the package itself: its version
    "kitaru_mcp.core",
    "kitaru_mcp.observe",
    "kitaru_mcp.auth",
    "kitaru_mcp.gateway",
    "kitaru_mcp.runs",
    "kitaru_mcp.calls",
    "kitaru_mcp.generated.models",
    "kitaru_mcp.handlers",
    "kitaru_mcp.generated",
    "kitaru_mcp.codegen",
    "kitaru_mcp.surface",
    "kitaru_mcp.clients",
    "kitaru_mcp.cli",
    "kitaru_mcp.__main__",
)
# What the gateway may use of ours besides itself: the package and the core below it.
BELOW_THE_GATEWAY = ("kitaru_mcp", "kitaru_mcp.core")


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            if "node_modules" not in path.parts:
                found[".".join([package, *parts])] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets |= {
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                }
        graph[name] = {t for t in map(owner, targets) if t and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_a_circle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def wing(module: str) -> str:
    """The most specific wing that holds ``module``."""
    held = [w for w in WINGS if module == w or module.startswith(w + ".")]
    return max(held, key=len)


def _upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    rank = {w: i for i, w in enumerate(WINGS)}
    return {
        (name, target)
        for name, targets in graph.items()
        for target in targets
        if rank[wing(target)] > rank[wing(name)]
    }


def test_every_module_belongs_to_a_wing_and_every_wing_has_a_module() -> None:
    modules = _modules()
    assert {wing(m) for m in modules} == set(WINGS)


def test_every_import_points_down_the_wings() -> None:
    assert _upward(_graph()) == set()


def test_an_upward_import_is_found_when_there_is_one() -> None:
    graph = {
        "kitaru_mcp.calls.budget": {"kitaru_mcp.surface.server"},
        "kitaru_mcp.surface.server": set(),
    }
    assert _upward(graph) == {("kitaru_mcp.calls.budget", "kitaru_mcp.surface.server")}


def test_the_gateway_imports_nothing_of_ours_above_it() -> None:
    graph = _graph()
    upward = {
        (name, target)
        for name, targets in graph.items()
        if wing(name) == "kitaru_mcp.gateway"
        for target in targets
        if wing(target) not in {"kitaru_mcp.gateway", *BELOW_THE_GATEWAY}
    }
    assert upward == set()


def test_each_wing_says_what_it_owns_and_what_it_may_import() -> None:
    modules = _modules()
    packages = [w for w in WINGS if modules[w].name == "__init__.py"]
    assert len(packages) >= 10
    for name in packages:
        doc = ast.get_docstring(ast.parse(modules[name].read_text())) or ""
        assert "may import" in doc, (name, doc)


def test_every_package_folder_is_installed() -> None:
    """A wing missing from pyproject's package list works in an editable install only."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {name for name, path in _modules().items() if path.name == "__init__.py"}
    assert found == listed - {"kitaru_mcp.schemas"}  # schemas/: package data, no modules
