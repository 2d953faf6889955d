"""Resources (an execution and its logs), prompts and completion, through the official MCP
client, in both protocol revisions (``era_server``)."""

from __future__ import annotations

import json

import mcp.types as types
import pytest
from mcp_client import StdioClient

pytestmark = pytest.mark.server


def _read(client: StdioClient, uri: str):
    return client.request("read_resource", uri)


def test_resource_templates_are_listed(era_server: StdioClient) -> None:
    result = era_server.request("list_resource_templates")
    templates = {t.uri_template for t in result.resource_templates}
    assert templates == {"kitaru://executions/{exec_id}", "kitaru://executions/{exec_id}/logs"}


def test_execution_resource_matches_the_get_tool(era_server: StdioClient, seeded) -> None:
    uri = f"kitaru://executions/{seeded['completed']}"
    contents = _read(era_server, uri).contents
    assert contents[0].mime_type == "application/json"
    assert json.loads(contents[0].text) == era_server.ok(
        "kitaru_executions_get", {"exec_id": seeded["completed"]}
    )


def test_logs_resource(era_server: StdioClient, seeded) -> None:
    contents = _read(era_server, f"kitaru://executions/{seeded['completed']}/logs").contents
    logs = json.loads(contents[0].text)
    assert logs["exec_id"] == seeded["completed"]
    assert logs["returned"] == len(logs["entries"]) > 0


def test_unknown_resources_are_clean_errors(era_server: StdioClient) -> None:
    with pytest.raises(Exception, match="No execution with exec_id"):
        _read(era_server, "kitaru://executions/00000000-0000-4000-8000-0000000000ee")
    with pytest.raises(Exception, match="templates"):
        _read(era_server, "kitaru://stacks/default")
    assert era_server.ok("kitaru_status")["connection"]["reachable"] is True


def test_prompts_guide_the_documented_workflows(era_server: StdioClient) -> None:
    listed = era_server.request("list_prompts").prompts
    assert {p.name for p in listed} == {"review_pending_waits", "debug_failed_execution"}
    review = era_server.request("get_prompt", "review_pending_waits", {"flow": "approval"})
    text = review.messages[0].content.text
    assert "kitaru_executions_input" in text and "'approval'" in text
    debug = era_server.request("get_prompt", "debug_failed_execution", {})
    assert "kitaru_executions_latest" in debug.messages[0].content.text
    with pytest.raises(Exception, match="unknown: colour"):
        era_server.request("get_prompt", "review_pending_waits", {"colour": "x"})


def test_completion_offers_ids_and_flows_from_the_store(
    era_server: StdioClient, example_ids: dict
) -> None:
    def complete(ref, name: str, value: str = "") -> list[str]:
        assert era_server.session.server_capabilities.completions is not None
        return era_server.request("complete", ref, {"name": name, "value": value}).completion.values

    logs = types.ResourceTemplateReference(uri="kitaru://executions/{exec_id}/logs")
    every = complete(logs, "exec_id")
    assert {example_ids["completed"], example_ids["waiting"], example_ids["failed"]} <= set(every)
    assert len(every) <= 100
    prefix = example_ids["completed"][:6]
    assert complete(logs, "exec_id", prefix) == [i for i in every if i.startswith(prefix)]
    failed = complete(types.PromptReference(name="debug_failed_execution"), "exec_id")
    assert example_ids["failed"] in failed and example_ids["completed"] not in failed
    flows = complete(types.PromptReference(name="review_pending_waits"), "flow")
    assert "approval" in flows and "two_steps" not in flows
    assert complete(types.PromptReference(name="review_pending_waits"), "flow", "zz") == []


def test_readme_names_every_resource_template_and_prompt() -> None:
    from conftest import ROOT

    from kitaru_mcp.surface import prompts, resources

    readme = (ROOT / "README.md").read_text()
    for template in resources.TEMPLATES:
        assert f"`{template.uri_template}`" in readme
    for name in prompts.PROMPTS:
        assert f"`{name}`" in readme
