"""Contract tests generated from generated/contract.json, through the real MCP server.

Every tool, present or added later, gets them without a line written here:
arguments broken in one place must come back as ``invalid_argument`` naming
that field, and the examples of read-only tools must run on the real store
and return results of their output schema.
"""

from __future__ import annotations

import json

import pytest
from conftest import StdioClient
from contract_cases import (
    CONTRACT,
    InvalidCase,
    invalid_cases,
    read_only_examples,
    substitute,
    tool_spec,
)
from jsonschema import Draft202012Validator

pytestmark = [pytest.mark.server, pytest.mark.slow]

CASES = invalid_cases()
EXAMPLES = read_only_examples()


def test_cases_were_generated_for_every_tool() -> None:
    print(f"\n{len(CASES)} invalid-argument cases over {len(CONTRACT['tools'])} tools")
    assert {case.tool for case in CASES} == {tool["name"] for tool in CONTRACT["tools"]}
    kinds = {case.kind for case in CASES}
    assert {"wrong_type", "missing_required", "unknown_enum", "extra_property"} <= kinds
    assert {"below_minimum", "above_maximum", "too_short", "too_long"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_arguments_are_refused_naming_the_field(
    mcp_server: StdioClient, case: InvalidCase
) -> None:
    error = mcp_server.error(case.tool, case.arguments)
    assert error["code"] == "invalid_argument", error
    assert error["field"] == case.field, error
    assert error["retryable"] is False
    assert "Traceback" not in json.dumps(error)
    assert mcp_server.list_tools(), "the server must keep answering"


def test_the_server_still_works_after_the_invalid_calls(mcp_server: StdioClient) -> None:
    assert mcp_server.ok("kitaru_executions_list", {"limit": 1})["count"] <= 1


@pytest.mark.parametrize(
    ("tool", "index"), EXAMPLES, ids=[f"{tool}:example{index}" for tool, index in EXAMPLES]
)
def test_read_only_examples_run_on_the_real_store(
    mcp_server: StdioClient, example_ids: dict[str, str], tool: str, index: int
) -> None:
    spec = tool_spec(tool)
    example = spec["examples"][index]
    arguments = substitute(example, example_ids)
    result = mcp_server.call(tool, arguments)  # the client checks the output schema too
    assert not result.is_error, f"{tool} {arguments}: {result.content[0].text}"
    Draft202012Validator(spec["outputSchema"]).validate(result.structured_content)
    found = result.structured_content
    for key in ("exec_id", "status"):  # a tool returning the object asked for returns that one
        if key in arguments and key in found and key in example["result"]:
            assert found[key] == arguments[key], (key, found)


@pytest.mark.parametrize(("tool", "index"), read_only_examples(needing_server=True))
def test_examples_needing_a_server_say_so_on_the_local_store(
    mcp_server: StdioClient, example_ids: dict[str, str], tool: str, index: int
) -> None:
    example = tool_spec(tool)["examples"][index]
    error = mcp_server.error(tool, substitute(example, example_ids))
    assert error["code"] == "unsupported"
    assert "server" in error["message"].lower()
