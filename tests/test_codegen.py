"""The generator: schemas validate, output is deterministic, drift and bad files are caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import codegen
from jsonschema import Draft202012Validator
from kitaru_mcp.codegen.handlers import check_handlers
from kitaru_mcp.codegen.loader import SchemaErrors, load
from kitaru_mcp.codegen.render import render_all

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parent.parent


def test_committed_output_matches_the_schemas() -> None:
    result = codegen("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stderr


def test_every_tool_file_and_example_is_valid() -> None:
    schemas = load(ROOT / "schemas")
    names = {tool.name for tool in schemas.tools}
    assert {"kitaru_executions_list", "kitaru_executions_get", "kitaru_status"} <= names
    contract = json.loads((ROOT / "generated" / "contract.json").read_text())
    assert {t["name"] for t in contract["tools"]} == names
    for tool in contract["tools"]:
        for example in tool["examples"]:
            Draft202012Validator(tool["inputSchema"]).validate(example["arguments"])
            Draft202012Validator(tool["outputSchema"]).validate(example["result"])
        assert "$ref" not in json.dumps(tool["inputSchema"]) + json.dumps(tool["outputSchema"])


def test_rendering_is_deterministic() -> None:
    first = render_all(load(ROOT / "schemas"))
    second = render_all(load(ROOT / "schemas"))
    assert first == second
    assert all(
        "generated" in text.splitlines()[0].lower() or path.endswith(".json")
        for path, text in first.items()
    )


def test_an_edited_description_without_regenerating_fails_the_check(repo_copy: Path) -> None:
    tool_file = repo_copy / "schemas" / "tools" / "kitaru_executions_get.yaml"
    tool_file.write_text(tool_file.read_text().replace("Get the full state", "Fetch the state"))
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 1
    assert "generated/contract.json" in result.stderr
    assert "docs/tools.md" in result.stderr
    regenerate = codegen("--root", str(repo_copy))
    assert regenerate.returncode == 0
    assert codegen("--check", "--root", str(repo_copy)).returncode == 0


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            lambda t: t.replace("readOnlyHint: true", "readOnlyHint: yes-please"),
            "annotations.readOnlyHint",
        ),
        (lambda t: t.replace("name: kitaru_executions_get", "name: Bad-Name"), "name"),
        (
            lambda t: t.replace('$ref: "#/$defs/ExecId"', '$ref: "#/$defs/NoSuchDef"'),
            "unknown reference #/$defs/NoSuchDef",
        ),
        (
            lambda t: t.replace("status: completed", "status: finished", 1),
            "examples[0].result.status",
        ),
    ],
)
def test_a_bad_tool_file_is_rejected_with_file_and_path(
    repo_copy: Path, mutation, expected
) -> None:
    tool_file = repo_copy / "schemas" / "tools" / "kitaru_executions_get.yaml"
    tool_file.write_text(mutation(tool_file.read_text()))
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 2
    assert "tools/kitaru_executions_get.yaml" in result.stderr
    assert expected in result.stderr
    with pytest.raises(SchemaErrors):
        load(repo_copy / "schemas")


def test_a_repeated_entry_that_requires_a_field_the_layout_leaves_out_is_refused(
    repo_copy: Path,
) -> None:
    """Entries leave out null, [] and {}: a schema requiring one there would be broken."""
    defs = repo_copy / "schemas" / "defs" / "artifact.yaml"
    defs.write_text(
        defs.read_text().replace(
            "required: [artifact_id, name, save_type]",
            "required: [artifact_id, name, save_type, checkpoint]",
        )
    )
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 2
    assert "tools/kitaru_artifacts_list.yaml: output.artifacts[]" in result.stderr
    assert "requires 'checkpoint'" in result.stderr


def test_every_schema_names_a_handler_with_the_stubs_signature() -> None:
    assert check_handlers(load(ROOT / "schemas"), ROOT / "handlers") == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s, h: (s.replace("executions.get_execution", "executions.fetch_execution"), h),
            "handlers/executions.py defines no function fetch_execution",
        ),
        (
            lambda s, h: (s.replace("executions.get_execution", "nowhere.get_execution"), h),
            "no module handlers/nowhere.py",
        ),
        (
            lambda s, h: (
                s,
                h.replace(
                    "def get_execution(gw: GatewayPort,",
                    "def get_execution(gw: GatewayPort, extra: int,",
                ),
            ),
            "takes (gw, extra, params)",
        ),
        (
            lambda s, h: (
                s,
                h.replace(
                    "def get_execution(gw: GatewayPort, params: models.KitaruExecutionsGetInput",
                    "def get_execution(gw: GatewayPort, params: models.KitaruExecutionsListInput",
                ),
            ),
            "expected models.KitaruExecutionsGetInput",
        ),
    ],
)
def test_a_handler_that_is_missing_or_does_not_fit_fails_naming_the_schema(
    repo_copy: Path, edit, expected
) -> None:
    shutil.copytree(ROOT / "handlers", repo_copy / "handlers")
    schema = repo_copy / "schemas" / "tools" / "kitaru_executions_get.yaml"
    handler = repo_copy / "handlers" / "executions.py"
    new_schema, new_handler = edit(schema.read_text(), handler.read_text())
    assert (new_schema, new_handler) != (schema.read_text(), handler.read_text()), "the edit missed"
    schema.write_text(new_schema)
    handler.write_text(new_handler)
    result = codegen("--check", "--root", str(repo_copy))
    assert result.returncode == 2
    assert "tools/kitaru_executions_get.yaml: handler:" in result.stderr
    assert expected in result.stderr
