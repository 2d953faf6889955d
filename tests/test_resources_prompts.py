"""Resources (an execution and its logs) and prompts, through the official MCP client."""

from __future__ import annotations

import json

import pytest
from mcp_client import StdioClient


def _read(client: StdioClient, uri: str):
    return client._run(client.session.read_resource(uri))


def test_resource_templates_are_listed(mcp_server: StdioClient) -> None:
    result = mcp_server._run(mcp_server.session.list_resource_templates())
    templates = {t.uri_template for t in result.resource_templates}
    assert templates == {"kitaru://executions/{exec_id}", "kitaru://executions/{exec_id}/logs"}


def test_execution_resource_matches_the_get_tool(mcp_server: StdioClient, seeded) -> None:
    uri = f"kitaru://executions/{seeded['completed']}"
    contents = _read(mcp_server, uri).contents
    assert contents[0].mime_type == "application/json"
    assert json.loads(contents[0].text) == mcp_server.ok(
        "kitaru_executions_get", {"exec_id": seeded["completed"]}
    )


def test_logs_resource(mcp_server: StdioClient, seeded) -> None:
    contents = _read(mcp_server, f"kitaru://executions/{seeded['completed']}/logs").contents
    logs = json.loads(contents[0].text)
    assert logs["exec_id"] == seeded["completed"]
    assert logs["returned"] == len(logs["entries"]) > 0


def test_unknown_resources_are_clean_errors(mcp_server: StdioClient) -> None:
    with pytest.raises(Exception, match="No execution with exec_id"):
        _read(mcp_server, "kitaru://executions/00000000-0000-4000-8000-0000000000ee")
    with pytest.raises(Exception, match="templates"):
        _read(mcp_server, "kitaru://stacks/default")
    assert mcp_server.ok("kitaru_status")["connection"]["reachable"] is True


def test_prompts_guide_the_documented_workflows(mcp_server: StdioClient) -> None:
    listed = mcp_server._run(mcp_server.session.list_prompts()).prompts
    assert {p.name for p in listed} == {"review_pending_waits", "debug_failed_execution"}
    review = mcp_server._run(
        mcp_server.session.get_prompt("review_pending_waits", {"flow": "approval"})
    )
    text = review.messages[0].content.text
    assert "kitaru_executions_input" in text and "'approval'" in text
    debug = mcp_server._run(mcp_server.session.get_prompt("debug_failed_execution", {}))
    assert "kitaru_executions_latest" in debug.messages[0].content.text
    with pytest.raises(Exception, match="unknown: colour"):
        mcp_server._run(mcp_server.session.get_prompt("review_pending_waits", {"colour": "x"}))


def test_readme_names_every_resource_template_and_prompt() -> None:
    from conftest import ROOT

    from kitaru_mcp import prompts, resources

    readme = (ROOT / "README.md").read_text()
    for template in resources.TEMPLATES:
        assert f"`{template.uri_template}`" in readme
    for name in prompts.PROMPTS:
        assert f"`{name}`" in readme
