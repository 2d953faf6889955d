"""Following executions with progress, and answering waits through the user (elicitation).

Progress, cancellation and ask_user run in both protocol revisions: on
2025-11-25 the form is pushed within the call, on 2026-07-28 it comes back as an
input-required result that ``mcp.Client`` answers and retries.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import mcp.types as types
import pytest
from conftest import ROOT
from mcp_client import ERAS, MODERN, StdioClient
from test_lifecycle import run, until_status

pytestmark = pytest.mark.server


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


def test_wait_reports_progress_in_both_eras(era_server: StdioClient, seeded: dict) -> None:
    """Progress rides the call (on 2026-07-28: the request's own response stream)."""
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    result = era_server.call(
        "kitaru_executions_wait",
        {"exec_id": seeded["waiting"], "until": "finished_or_waiting", "timeout_s": 30},
        progress_callback=on_progress,
    )
    assert result.structured_content["execution"]["status"] == "waiting"
    assert result.structured_content["timed_out"] is False
    assert messages == ["waiting: 1 of 1 checkpoints done, waiting on 'approve'"], messages


def test_wait_times_out_and_the_execution_goes_on(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/slow.py:slow", steps=20, seconds=1)
    exec_id = started["execution"]["exec_id"]
    waited = mcp_server.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 2})
    assert waited["timed_out"] is True
    assert waited["execution"]["status"] == "running"
    assert 2 <= waited["waited_s"] < 10
    mcp_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})


def test_cancelled_wait_leaves_the_server_responsive(era_server: StdioClient) -> None:
    started = run(era_server, "examples/slow.py:slow", steps=30, seconds=1)
    exec_id = started["execution"]["exec_id"]
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    call = asyncio.run_coroutine_threadsafe(
        era_server.api.call_tool(
            "kitaru_executions_wait",
            {"exec_id": exec_id, "timeout_s": 120},
            progress_callback=on_progress,
        ),
        era_server._loop,
    )
    time.sleep(1.5)
    call.cancel()
    began = time.monotonic()
    status = era_server.ok("kitaru_status")
    assert status["connection"]["reachable"] is True
    assert time.monotonic() - began < 30
    assert messages and messages[0].startswith("running"), messages
    assert era_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})["status"] == "cancelled"


def test_wait_stops_at_a_pending_wait(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/approval.py:approval", topic="wait tool")
    exec_id = started["execution"]["exec_id"]
    waited = mcp_server.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 120})
    assert waited["timed_out"] is False
    assert waited["execution"]["status"] == "waiting"
    assert waited["execution"]["pending_wait"]["name"] == "approve"
    mcp_server.ok("kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": True})


def test_ask_user_without_elicitation_returns_the_question(era_server: StdioClient) -> None:
    started = run(era_server, "examples/approval.py:approval", topic="no forms")
    exec_id = started["execution"]["exec_id"]
    until_status(era_server, exec_id, {"waiting"})
    asked = era_server.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
    assert asked["outcome"] == "not_supported"
    assert asked["question"] == "Publish this draft?"
    assert asked["schema"] == {"type": "boolean"}
    assert asked["execution"]["pending_wait"]["name"] == "approve"
    era_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})


@pytest.mark.parametrize("era", ERAS)
def test_ask_user_through_elicitation(mcp_server: StdioClient, era: str) -> None:
    answers = ["decline", "cancel", "wrong", "accept"]
    seen: list[types.ElicitRequestParams] = []

    async def elicit(context, params):
        seen.append(params)
        action = answers.pop(0)
        if action == "wrong":
            return types.ElicitResult(action="accept", content={"value": "yes"})
        content = {"value": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    started = run(mcp_server, "examples/approval.py:approval", topic=f"elicited {era}")
    exec_id = started["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"waiting"})
    command = [sys.executable, "-m", "kitaru_mcp"]
    kwargs = {"elicitation_callback": elicit}
    with StdioClient(command, cwd=ROOT, session_kwargs=kwargs, era=era) as user:
        declined = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert declined["outcome"] == "declined"
        assert declined["execution"]["pending_wait"]["name"] == "approve"
        cancelled = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id, "wait": "approve"})
        assert cancelled["outcome"] == "cancelled"
        assert cancelled["execution"]["status"] == "waiting"
        wrong = user.error("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert (wrong["code"], wrong["field"]) == ("invalid_argument", "value")
        assert "is not of type 'boolean'" in wrong["message"]
        still = user.ok("kitaru_executions_get", {"exec_id": exec_id})
        assert still["pending_wait"]["name"] == "approve"
        answered = user.ok("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert answered["outcome"] == "answered"
        assert answered["continuation"] == "polling_process"
        again = user.error("kitaru_executions_ask_user", {"exec_id": exec_id})
        assert again["code"] == "conflict"
    assert len(seen) == 4
    assert "Publish this draft?" in seen[0].message
    assert seen[0].requested_schema["properties"]["value"]["type"] == "boolean"
    done = until_status(mcp_server, exec_id, {"completed"})
    assert [c["name"] for c in done["checkpoints"]] == ["draft", "publish"]


def test_a_tampered_request_state_is_refused_over_stdio(mcp_server: StdioClient) -> None:
    """2026-07-28 by hand: the form comes back with a sealed state; an altered state
    is a clean invalid_argument and nothing reaches the execution."""
    started = run(mcp_server, "examples/approval.py:approval", topic="tampered")
    exec_id = started["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"waiting"})

    async def never(context, params):
        raise AssertionError("the client answers by hand here")

    command = [sys.executable, "-m", "kitaru_mcp"]
    kwargs = {"elicitation_callback": never}
    with StdioClient(command, cwd=ROOT, session_kwargs=kwargs, era=MODERN) as user:
        args = {"exec_id": exec_id}

        def by_hand(**retry):
            call = user.session.call_tool(
                "kitaru_executions_ask_user", args, allow_input_required=True, **retry
            )
            return user._run(call)

        first = by_hand()
        assert isinstance(first, types.InputRequiredResult)
        assert first.input_requests["answer"].params.requested_schema["required"] == ["value"]
        accept = {"answer": types.ElicitResult(action="accept", content={"value": True})}
        state = first.request_state
        altered = state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1]
        refused = by_hand(input_responses=accept, request_state=altered)
        assert refused.is_error
        error = json.loads(refused.content[0].text)
        assert (error["code"], error["field"]) == ("invalid_argument", "requestState")
        forged = by_hand(input_responses=accept)  # an answer without the state
        assert json.loads(forged.content[0].text)["field"] == "requestState"
        still = user.ok("kitaru_executions_get", args)
        assert (still["status"], still["pending_wait"]["name"]) == ("waiting", "approve")
        declined = by_hand(
            input_responses={"answer": types.ElicitResult(action="decline")}, request_state=state
        )
        assert declined.structured_content["outcome"] == "declined"
    mcp_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})
