"""The breaking-change check, on fixture contracts and on the real one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import codegen
from kitaru_mcp.codegen.compat import compare

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "contracts"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def tool(contract: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in contract["tools"] if t["name"] == name)


def test_compatible_changes_pass_and_are_listed_as_additions() -> None:
    report = compare(fixture("released"), fixture("compatible"))
    assert report.breaking == []
    assert report.problems() == []
    assert "tool demo_new added" in report.additions
    assert "demo_list: input field offset added" in report.additions
    assert "demo_list: output field more added" in report.additions


def test_breaking_changes_fail_without_a_major_bump() -> None:
    report = compare(fixture("released"), fixture("breaking"))
    problems = "\n".join(report.problems())
    for expected in [
        "demo_get: tool removed",
        "demo_list: annotation readOnlyHint changed from True to False",
        "demo_list: input flow: input field removed or renamed",
        "demo_list: input limit: input field newly required",
        'demo_list: input status: no longer accepts "completed"',
        "demo_list: input filter.tag: no longer accepts type string",
        "demo_list: input limit: maximum changed from 200 to 100",
        "demo_list: input limit: minimum changed from 1 to 5",
        "demo_list: output items[].failure.message: output field removed",
        'demo_list: output items[].status: may now send "cancelled"',
        "demo_list: output count: output field no longer always present",
        'tool error code: may now send "conflict"',
    ]:
        assert expected in problems


def test_breaking_changes_pass_with_a_new_major_version() -> None:
    current = fixture("breaking")
    current["contract_version"] = "2.0.0"
    report = compare(fixture("released"), current)
    assert len(report.breaking) >= 12
    assert report.problems() == []


def test_a_version_going_backwards_fails() -> None:
    current = fixture("released")
    current["contract_version"] = "0.9.0"
    assert "older than the released" in compare(fixture("released"), current).problems()[0]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted path inside tool demo_list."""

    def mutate(contract: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = tool(contract, "demo_list")
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(contract: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = tool(contract, "demo_list")
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


IN = "inputSchema.properties"
OUT = "outputSchema.properties"
ITEM = f"{OUT}.items.items.properties"

ONE_CHANGE = {
    "removed tool": (
        lambda c: c["tools"].pop(0),
        "demo_list: tool removed",
    ),
    "removed input field": (_drop(f"{IN}.flow"), "input flow: input field removed or renamed"),
    "newly required input": (
        _set("inputSchema.required", ["status"]),
        "status: input field newly required",
    ),
    "narrowed input type": (
        _set(f"{IN}.flow.type", "integer"),
        "flow: no longer accepts type string",
    ),
    "narrowed input enum": (
        _set(f"{IN}.status.enum", ["running"]),
        'no longer accepts "completed"',
    ),
    "input enum added": (_set(f"{IN}.filter.properties.tag.enum", ["a"]), 'now limited to ["a"]'),
    "lowered maximum": (_set(f"{IN}.limit.maximum", 50), "maximum changed from 200 to 50"),
    "raised minimum": (_set(f"{IN}.limit.minimum", 2), "minimum changed from 1 to 2"),
    "lowered maxLength": (_set(f"{IN}.flow.maxLength", 20), "maxLength changed from 200 to 20"),
    "new pattern": (_set(f"{IN}.flow.pattern", "^[a-z]+$"), "pattern changed"),
    "closed input": (
        _set(f"{IN}.filter.additionalProperties", False),
        "filter: unknown fields newly rejected",
    ),
    "removed output field": (_drop(f"{OUT}.count"), "output count: output field removed"),
    "output field optional": (
        _set("outputSchema.required", ["items"]),
        "count: output field no longer always present",
    ),
    "widened output enum": (
        _set(f"{ITEM}.status.enum", ["running", "completed", "failed"]),
        'items[].status: may now send "failed"',
    ),
    "widened output type": (_set(f"{ITEM}.id.type", ["string", "null"]), "may now send type null"),
    "relaxed output bound": (
        _drop(f"{OUT}.count.minimum"),
        "count: minimum changed from 0 to none",
    ),
    "no longer idempotent": (
        _set("annotations.idempotentHint", False),
        "annotation idempotentHint changed from True to False",
    ),
}


@pytest.mark.parametrize("change", list(ONE_CHANGE))
def test_each_kind_of_breaking_change_is_caught(change: str) -> None:
    mutate, expected = ONE_CHANGE[change]
    current = copy.deepcopy(fixture("released"))
    mutate(current)
    report = compare(fixture("released"), current)
    assert len(report.breaking) == 1, report.breaking
    assert expected in report.breaking[0]
    assert report.problems() == report.breaking


def test_the_current_contract_is_compatible_with_the_released_one() -> None:
    released = json.loads((ROOT / "contract" / "released.json").read_text())
    current = json.loads((ROOT / "generated" / "contract.json").read_text())
    report = compare(released, current)
    assert report.problems() == [], report.problems()


def _release_extra_tool(root: Path, version: str) -> None:
    released_file = root / "contract" / "released.json"
    released = json.loads(released_file.read_text())
    extra = copy.deepcopy(released["tools"][0])
    extra["name"] = "kitaru_retired_tool"
    released["tools"].append(extra)
    released["contract_version"] = version
    released_file.write_text(json.dumps(released))


def test_check_fails_on_a_breaking_change_against_the_released_file(repo_copy: Path) -> None:
    current = json.loads((ROOT / "generated" / "contract.json").read_text())["contract_version"]
    _release_extra_tool(repo_copy, current)
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 1
    assert "kitaru_retired_tool: tool removed" in result.stderr
    assert "contract_version in schemas/contract.yaml" in result.stderr
    refused = codegen("--release", "--root", str(repo_copy))
    assert refused.returncode == 1
    assert "kitaru_retired_tool" in (repo_copy / "contract" / "released.json").read_text()


def test_check_passes_when_the_major_version_moved_on(repo_copy: Path) -> None:
    _release_extra_tool(repo_copy, "0.9.0")
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 0, result.stderr
    assert "allowed by the new major" in result.stderr


def test_release_records_the_current_contract(repo_copy: Path) -> None:
    (repo_copy / "contract" / "released.json").unlink()
    assert "check skipped" in codegen("--check", "--root", str(repo_copy)).stderr
    assert codegen("--release", "--root", str(repo_copy)).returncode == 0
    released = (repo_copy / "contract" / "released.json").read_text()
    assert released == (ROOT / "generated" / "contract.json").read_text()
