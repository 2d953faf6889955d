"""Following executions with progress, and answering waits through the user (elicitation)."""

from __future__ import annotations

import asyncio
import sys
import time

import mcp.types as types
from conftest import ROOT
from mcp_client import StdioClient
from test_lifecycle import run, until_status


def test_wait_reports_progress_until_the_flow_finishes(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/two_steps.py:two_steps", name="Progress", delay=3)
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    result = mcp_server.call(
        "kitaru_executions_wait",
        {"exec_id": started["execution"]["exec_id"], "until": "finished", "timeout_s": 120},
        progress_callback=on_progress,
    )
    assert not result.is_error, result.content[0].text
    waited = result.structured_content
    assert waited["timed_out"] is False
    assert waited["execution"]["status"] == "completed"
    assert messages, "progress notifications were sent"
    assert messages[-1].startswith("completed: 2 of 2 checkpoints done")
    assert any(m.startswith("running") for m in messages)


def test_wait_times_out_and_the_execution_goes_on(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/slow.py:slow", steps=20, seconds=1)
    exec_id = started["execution"]["exec_id"]
    waited = mcp_server.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 2})
    assert waited["timed_out"] is True
    assert waited["execution"]["status"] == "running"
    assert 2 <= waited["waited_s"] < 10
    mcp_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})


def test_cancelled_wait_leaves_the_server_responsive(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/slow.py:slow", steps=30, seconds=1)
    exec_id = started["execution"]["exec_id"]
    call = asyncio.run_coroutine_threadsafe(
        mcp_server.session.call_tool(
            "kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 120}
        ),
        mcp_server._loop,
    )
    time.sleep(1.5)
    call.cancel()
    began = time.monotonic()
    status = mcp_server.ok("kitaru_status")
    assert status["connection"]["reachable"] is True
    assert time.monotonic() - began < 30
    assert mcp_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})["status"] == "cancelled"


def test_wait_stops_at_a_pending_wait(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/approval.py:approval", topic="wait tool")
    exec_id = started["execution"]["exec_id"]
    waited = mcp_server.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 120})
    assert waited["timed_out"] is False
    assert waited["execution"]["status"] == "waiting"
    assert waited["execution"]["pending_wait"]["name"] == "approve"
    mcp_server.ok("kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": True})


def test_ask_user_without_elicitation_returns_the_question(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/approval.py:approval", topic="no forms")
    exec_id = started["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"waiting"})
    asked = mcp_server.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
    assert asked["outcome"] == "not_supported"
    assert asked["question"] == "Publish this draft?"
    assert asked["schema"] == {"type": "boolean"}
    assert asked["execution"]["pending_wait"]["name"] == "approve"
    mcp_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})


def test_ask_user_through_elicitation(mcp_server: StdioClient) -> None:
    answers = ["decline", "cancel", "accept"]
    seen: list[types.ElicitRequestParams] = []

    async def elicit(context, params):
        seen.append(params)
        action = answers.pop(0)
        content = {"value": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    started = run(mcp_server, "examples/approval.py:approval", topic="elicited")
    exec_id = started["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"waiting"})
    command = [sys.executable, "-m", "kitaru_mcp"]
    with StdioClient(command, cwd=ROOT, session_kwargs={"elicitation_callback": elicit}) as user:
        declined = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert declined["outcome"] == "declined"
        assert declined["execution"]["pending_wait"]["name"] == "approve"
        cancelled = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id, "wait": "approve"})
        assert cancelled["outcome"] == "cancelled"
        assert cancelled["execution"]["status"] == "waiting"
        answered = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert answered["outcome"] == "answered"
        assert answered["continuation"] == "polling_process"
    assert "Publish this draft?" in seen[0].message
    assert seen[0].requested_schema["properties"]["value"]["type"] == "boolean"
    done = until_status(mcp_server, exec_id, {"completed"})
    assert [c["name"] for c in done["checkpoints"]] == ["draft", "publish"]
