"""Imports point down: no circle anywhere in the package, and the gateway stays at the bottom.

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
# What the gateway may use of ours besides itself: the shared vocabulary below it.
BELOW_THE_GATEWAY = {
    "kitaru_mcp",
    "kitaru_mcp.errors",
    "kitaru_mcp.state",
    "kitaru_mcp.processes",
    "kitaru_mcp.statuses",
    "kitaru_mcp.settings",
    "kitaru_mcp.targets",
}


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


def test_the_gateway_imports_nothing_of_ours_above_it() -> None:
    graph = _graph()
    upward = {
        (name, target)
        for name, targets in graph.items()
        if name.startswith("kitaru_mcp.gateway")
        for target in targets
        if not target.startswith("kitaru_mcp.gateway") and target not in BELOW_THE_GATEWAY
    }
    assert upward == set()


def test_below_the_gateway_imports_only_below_the_gateway() -> None:
    graph = _graph()
    for name in BELOW_THE_GATEWAY - {"kitaru_mcp"}:
        assert graph[name] <= BELOW_THE_GATEWAY, (name, graph[name] - BELOW_THE_GATEWAY)
