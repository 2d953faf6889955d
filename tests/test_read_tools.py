"""The five read tools, through the official MCP client over stdio, on real executions."""

from __future__ import annotations

import json

import pytest
from conftest import StdioClient, run_example

pytestmark = pytest.mark.server

READ_TOOLS = {
    "kitaru_status",
    "kitaru_stacks_list",
    "kitaru_executions_list",
    "kitaru_executions_get",
    "kitaru_executions_latest",
}


def test_tools_list_serves_schemas_and_annotations(era_server: StdioClient) -> None:
    tools = {tool.name: tool for tool in era_server.list_tools()}
    assert set(tools) >= READ_TOOLS
    for tool in tools.values():
        assert tool.output_schema["type"] == "object"
        assert tool.input_schema["type"] == "object"
        assert tool.annotations is not None and tool.title
    for name in READ_TOOLS:
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.destructive_hint is False


def test_list_finds_both_seeded_executions(era_server: StdioClient, seeded: dict) -> None:
    listed = era_server.ok("kitaru_executions_list", {"limit": 50})
    by_id = {e["exec_id"]: e for e in listed["executions"]}
    assert listed["count"] == len(listed["executions"])
    assert by_id[seeded["completed"]]["status"] == "completed"
    assert by_id[seeded["completed"]]["flow"] == "two_steps"
    assert by_id[seeded["waiting"]]["status"] == "waiting"
    starts = [e["started_at"] for e in listed["executions"] if e["started_at"]]
    assert starts == sorted(starts, reverse=True), "newest first"


def test_list_filters_by_status_and_flow(era_server: StdioClient, seeded: dict) -> None:
    waiting = era_server.ok("kitaru_executions_list", {"status": "waiting"})
    assert seeded["waiting"] in {e["exec_id"] for e in waiting["executions"]}
    assert {e["status"] for e in waiting["executions"]} == {"waiting"}
    by_flow = era_server.ok("kitaru_executions_list", {"flow": "two_steps"})
    assert {e["flow"] for e in by_flow["executions"]} == {"two_steps"}
    one = era_server.ok("kitaru_executions_list", {"limit": 1})
    assert one["count"] == 1


def test_get_completed_execution_has_both_checkpoints(era_server: StdioClient, seeded) -> None:
    execution = era_server.ok("kitaru_executions_get", {"exec_id": seeded["completed"]})
    assert execution["exec_id"] == seeded["completed"]
    assert execution["status"] == "completed"
    assert [c["name"] for c in execution["checkpoints"]] == ["greet", "shout"]
    assert {c["status"] for c in execution["checkpoints"]} == {"completed"}
    assert {a["checkpoint"] for a in execution["artifacts"]} == {"greet", "shout"}
    assert execution["pending_wait"] is None
    assert execution["stack"] == "default"


def test_get_waiting_execution_shows_the_pending_wait(era_server: StdioClient, seeded) -> None:
    execution = era_server.ok("kitaru_executions_get", {"exec_id": seeded["waiting"]})
    wait = execution["pending_wait"]
    assert execution["status"] == "waiting"
    assert wait["name"] == "approve"
    assert wait["question"] == "Publish this draft?"
    assert wait["schema"]["type"] == "boolean"


def test_latest_with_filters(era_server: StdioClient, seeded) -> None:
    latest = era_server.ok("kitaru_executions_latest", {"flow": "approval", "status": "waiting"})
    assert latest["exec_id"] == seeded["waiting"]
    missing = era_server.error("kitaru_executions_latest", {"flow": "no_such_flow"})
    assert missing["code"] == "not_found"
    assert "no_such_flow" in missing["message"]


def test_get_unknown_execution_is_not_found(era_server: StdioClient, seeded) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    error = era_server.error("kitaru_executions_get", {"exec_id": unknown})
    assert error["code"] == "not_found"
    assert unknown in error["message"]
    assert error["field"] == "exec_id"


def test_status_reports_the_local_store(era_server: StdioClient, kitaru_home) -> None:
    status = era_server.ok("kitaru_status")
    assert status["connection"]["kind"] == "local_store"
    assert status["connection"]["reachable"] is True
    assert str(kitaru_home) in status["connection"]["url"]
    assert status["stack"] == "default"
    assert status["versions"]["kitaru"].startswith("0.21.")


def test_stacks_list_shows_the_default_stack(era_server: StdioClient) -> None:
    stacks = era_server.ok("kitaru_stacks_list")
    assert stacks["active"] == "default"
    default = next(s for s in stacks["stacks"] if s["name"] == "default")
    assert default["active"] is True
    assert {c["type"] for c in default["components"]} >= {"orchestrator", "artifact_store"}


def test_statistics_asked_again_follow_a_run_of_another_process(
    era_server: StdioClient, seeded: dict
) -> None:
    """The answer kept for an unchanged store is dropped as soon as another process writes."""

    def completed_two_steps() -> int:
        stats = era_server.ok("kitaru_executions_statistics", {"group_by": ["flow", "status"]})
        counts = {(g.get("flow"), g.get("status")): g["count"] for g in stats["groups"]}
        return counts.get(("two_steps", "completed"), 0)

    before = completed_two_steps()
    assert before >= 1 and completed_two_steps() >= before
    run_example("two_steps.py", "two_steps", name="statistics")
    assert completed_two_steps() >= before + 1


def test_bad_arguments_name_the_field_and_server_keeps_answering(era_server: StdioClient) -> None:
    cases = [
        ("kitaru_executions_list", {"limit": "ten"}, "limit", "expected integer"),
        ("kitaru_executions_list", {"limit": 0}, "limit", "minimum"),
        ("kitaru_executions_list", {"status": "sleeping"}, "status", "is not one of"),
        ("kitaru_executions_list", {"colour": "red"}, "colour", "unknown field"),
        ("kitaru_executions_get", {}, "exec_id", "required"),
        ("kitaru_executions_get", {"exec_id": 42}, "exec_id", "expected string"),
    ]
    for name, arguments, field, phrase in cases:
        error = era_server.error(name, arguments)
        assert error["code"] == "invalid_argument", error
        assert error["field"] == field, error
        assert phrase in error["message"], error
        assert "Traceback" not in json.dumps(error)
    assert era_server.ok("kitaru_executions_list", {"limit": 1})["count"] >= 0


def test_unknown_tool_is_a_protocol_error(era_server: StdioClient) -> None:
    try:
        era_server.call("kitaru_does_not_exist", {})
    except Exception as exc:  # MCPError from the client
        assert "kitaru_does_not_exist" in str(exc)
    else:
        raise AssertionError("an unknown tool must be refused")
    assert era_server.ok("kitaru_status")["versions"]["kitaru_mcp"]
