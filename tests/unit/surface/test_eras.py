# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""Both protocol revisions on the one dispatch path, in process, on a fake gateway.

2025-11-25 (``mcp.Client(..., mode="legacy")``): the form is pushed.
2026-07-28 (``mcp.Client`` default): ask_user answers with an input-required
result and the client's retry carries the answer and the sealed requestState.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import anyio
import mcp
import mcp.types as types
import pytest
from kitaru_mcp.handlers import waiting

from kitaru_mcp.surface import request_state
from kitaru_mcp.surface.server import build_server
from unit.fakes import FakeGateway, execution

pytestmark = pytest.mark.unit

ERAS = {"2025-11-25": "legacy", "2026-07-28": "auto"}
BOOL_WAIT = {
    "name": "approve",
    "wait_id": "w-1",
    "question": "Publish?",
    "schema": {"type": "boolean"},
}
FORM_WAIT = {
    "name": "budget",
    "wait_id": "w-2",
    "question": "How much?",
    "schema": {
        "type": "object",
        "properties": {"amount": {"type": "integer", "minimum": 1}, "note": {"type": "string"}},
        "required": ["amount"],
    },
}


class WaitingGateway(FakeGateway):
    """Sending the input resolves the wait (the execution goes on running)."""

    def send_input(self, exec_id: str, wait: str, value: Any) -> None:
        super().send_input(exec_id, wait, value)
        self.executions[exec_id].update(status="running", pending_wait=None)

    def sent(self) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == "send_input"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv(request_state.KEY_ENV, raising=False)
    monkeypatch.setattr("kitaru_mcp.surface.server._start_warm_up", lambda *args: None)
    monkeypatch.setattr("kitaru_mcp.runs.reaper.begin", lambda: None)


@pytest.fixture
def wgw() -> WaitingGateway:
    return WaitingGateway(
        [
            execution("aaaa0001", status="waiting", pending_wait=dict(BOOL_WAIT)),
            execution(
                "bbbb0002", flow="budget", status="waiting", minutes=1, pending_wait=dict(FORM_WAIT)
            ),
            execution("cccc0003", flow="greet", status="failed", minutes=3),
            execution("dddd0004", flow="sum", status="completed", minutes=4),
        ]
    )


def _answers(*results: types.ElicitResult, seen: list | None = None):
    queue = list(results)

    async def elicit(context, params):
        if seen is not None:
            seen.append(params)
        return queue.pop(0)

    return elicit


def _with_client(server, era: str, body, **kwargs) -> Any:
    async def main():
        async with mcp.Client(server, mode=ERAS[era], **kwargs) as client:
            assert client.protocol_version == era
            return await body(client)

    return anyio.run(main)


def _structured(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def _tool_error(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


@pytest.mark.parametrize("era", ERAS)
def test_the_answer_is_asked_checked_and_sent_in_both_eras(wgw, era) -> None:
    seen: list = []
    elicit = _answers(types.ElicitResult(action="accept", content={"value": True}), seen=seen)

    async def body(client):
        return await client.call_tool("kitaru_executions_ask_user", {"exec_id": "aaaa0001"})

    server = build_server(gateway=lambda: wgw)
    out = _structured(_with_client(server, era, body, elicitation_callback=elicit))
    assert out["outcome"] == "answered"
    assert out["continuation"] == "polling_process"
    assert wgw.sent() == [("aaaa0001", "approve", True)]
    assert seen[0].message == "Publish? (execution aaaa0001)"
    assert seen[0].requested_schema == {
        "type": "object",
        "properties": {"value": {"type": "boolean", "title": "Answer"}},
        "required": ["value"],
    }


@pytest.mark.parametrize("era", ERAS)
def test_decline_and_cancel_leave_the_execution_waiting(wgw, era) -> None:
    elicit = _answers(types.ElicitResult(action="decline"), types.ElicitResult(action="cancel"))

    async def body(client):
        args = {"exec_id": "aaaa0001"}
        first = await client.call_tool("kitaru_executions_ask_user", args)
        second = await client.call_tool("kitaru_executions_ask_user", {**args, "wait": "approve"})
        return _structured(first), _structured(second)

    server = build_server(gateway=lambda: wgw)
    declined, cancelled = _with_client(server, era, body, elicitation_callback=elicit)
    assert declined["outcome"] == "declined"
    assert cancelled["outcome"] == "cancelled"
    assert cancelled["execution"]["status"] == "waiting"
    assert cancelled["execution"]["pending_wait"]["name"] == "approve"
    assert wgw.sent() == []


@pytest.mark.parametrize("era", ERAS)
def test_a_client_without_forms_gets_the_question_back(wgw, era) -> None:
    async def body(client):
        return await client.call_tool("kitaru_executions_ask_user", {"exec_id": "aaaa0001"})

    out = _structured(_with_client(build_server(gateway=lambda: wgw), era, body))
    assert out["outcome"] == "not_supported"
    assert out["question"] == "Publish?"
    assert out["schema"] == {"type": "boolean"}
    assert wgw.sent() == []


@pytest.mark.parametrize("era", ERAS)
def test_an_answer_that_fails_the_wait_schema_names_the_field(wgw, era) -> None:
    elicit = _answers(types.ElicitResult(action="accept", content={"amount": 0, "note": "x"}))

    async def body(client):
        return await client.call_tool("kitaru_executions_ask_user", {"exec_id": "bbbb0002"})

    error = _tool_error(
        _with_client(build_server(gateway=lambda: wgw), era, body, elicitation_callback=elicit)
    )
    assert error["code"] == "invalid_argument"
    assert error["field"] == "value.amount"
    assert "minimum of 1" in error["message"]
    assert wgw.sent() == []
    assert wgw.executions["bbbb0002"]["pending_wait"]["name"] == "budget"


def _first_round(server, body_after) -> Any:
    """2026-07-28 by hand: take the input-required result, then run ``body_after``."""

    async def body(client):
        first = await client.session.call_tool(
            "kitaru_executions_ask_user", {"exec_id": "aaaa0001"}, allow_input_required=True
        )
        assert isinstance(first, types.InputRequiredResult)
        return await body_after(client, first)

    return _with_client(server, "2026-07-28", body, elicitation_callback=_answers())


def _retry(client, state: str | None, answer: dict | None = None, exec_id: str = "aaaa0001"):
    responses = {
        "answer": types.ElicitResult(**(answer or {"action": "accept", "content": {"value": True}}))
    }
    return client.session.call_tool(
        "kitaru_executions_ask_user",
        {"exec_id": exec_id},
        allow_input_required=True,
        input_responses=responses,
        request_state=state,
    )


def test_the_input_required_result_carries_the_form_and_a_sealed_state(wgw) -> None:
    async def after(client, first):
        return first

    first = _first_round(build_server(gateway=lambda: wgw), after)
    request = first.input_requests["answer"]
    assert request.method == "elicitation/create"
    assert request.params.message == "Publish? (execution aaaa0001)"
    assert request.params.requested_schema["properties"]["value"]["type"] == "boolean"
    assert first.request_state.startswith("v1.")
    assert "approve" not in first.request_state and "aaaa0001" not in first.request_state
    assert wgw.sent() == []


def test_a_tampered_state_is_refused_and_nothing_is_sent(wgw) -> None:
    async def after(client, first):
        state = first.request_state
        flipped = state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1]
        return await _retry(client, flipped), await _retry(client, None)

    tampered, stateless = _first_round(build_server(gateway=lambda: wgw), after)
    assert _tool_error(tampered)["code"] == "invalid_argument"
    assert _tool_error(tampered)["field"] == "requestState"
    assert _tool_error(stateless)["field"] == "requestState"
    assert wgw.sent() == []
    assert wgw.executions["aaaa0001"]["status"] == "waiting"


def test_a_state_for_another_execution_or_server_is_refused(wgw, monkeypatch) -> None:
    other_server_state: list[str] = []

    async def grab(client, first):
        other_server_state.append(first.request_state)

    monkeypatch.setenv(request_state.KEY_ENV, "k" * 40)
    _first_round(build_server(gateway=lambda: wgw), grab)
    monkeypatch.delenv(request_state.KEY_ENV)

    async def after(client, first):
        moved = await _retry(client, first.request_state, exec_id="bbbb0002")
        foreign = await _retry(client, other_server_state[0])
        return moved, foreign

    moved, foreign = _first_round(build_server(gateway=lambda: wgw), after)
    assert _tool_error(moved)["code"] == "invalid_argument"
    assert _tool_error(foreign)["code"] == "invalid_argument"
    assert wgw.sent() == []


def test_an_expired_state_is_refused(wgw, monkeypatch) -> None:
    monkeypatch.setenv(request_state.TTL_ENV, "0.3")

    async def after(client, first):
        await anyio.sleep(0.5)
        return await _retry(client, first.request_state)

    expired = _first_round(build_server(gateway=lambda: wgw), after)
    assert "expired" in _tool_error(expired)["message"]
    assert wgw.sent() == []


def test_a_retry_for_an_execution_no_longer_waiting_is_a_conflict(wgw) -> None:
    async def after(client, first):
        wgw.executions["aaaa0001"].update(status="completed", pending_wait=None)
        return await _retry(client, first.request_state)

    error = _tool_error(_first_round(build_server(gateway=lambda: wgw), after))
    assert error["code"] == "conflict"
    assert wgw.sent() == []


def test_a_retry_after_the_wait_changed_is_a_conflict(wgw) -> None:
    async def after(client, first):
        wgw.executions["aaaa0001"]["pending_wait"] = {**BOOL_WAIT, "name": "second"}
        return await _retry(client, first.request_state)

    error = _tool_error(_first_round(build_server(gateway=lambda: wgw), after))
    assert error["code"] == "conflict"
    assert "'approve'" in error["message"] and "'second'" in error["message"]
    assert wgw.sent() == []


def test_the_key_file_is_made_once_private_and_shared_by_the_environment(monkeypatch) -> None:
    first = request_state.load_key()
    path = request_state.key_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) == 64
    assert request_state.load_key() == first
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over
    monkeypatch.setenv(request_state.KEY_ENV, "s" * 32)
    assert request_state.load_key() == b"s" * 32
    monkeypatch.setenv(request_state.KEY_ENV, "short")
    with pytest.raises(request_state.KeyConfigError, match="too short"):
        request_state.load_key()


def _complete(server, ref, name: str, value: str = "") -> types.Completion:
    async def body(client):
        return (await client.complete(ref, {"name": name, "value": value})).completion

    return _with_client(server, "2026-07-28", body)


def test_completion_lists_store_values_newest_first_by_prefix(wgw) -> None:
    server = build_server(gateway=lambda: wgw)
    waits = types.PromptReference(name="review_pending_waits")
    debug = types.PromptReference(name="debug_failed_execution")
    execution_ref = types.ResourceTemplateReference(uri="kitaru://executions/{exec_id}")
    logs_ref = types.ResourceTemplateReference(uri="kitaru://executions/{exec_id}/logs")
    assert _complete(server, waits, "flow").values == ["budget", "greet"]
    assert _complete(server, waits, "flow", "bu").values == ["budget"]
    assert _complete(server, debug, "exec_id").values == ["cccc0003"]
    assert _complete(server, execution_ref, "exec_id").values == [
        "dddd0004",
        "cccc0003",
        "bbbb0002",
        "aaaa0001",
    ]
    assert _complete(server, logs_ref, "exec_id", "bb").values == ["bbbb0002"]
    assert _complete(server, debug, "nope").values == []
    assert ("list_executions", (None, "waiting", 500)) in wgw.calls


def test_completion_stops_at_100_values_and_says_there_are_more() -> None:
    many = FakeGateway([execution(f"{i:08x}", minutes=i) for i in range(130)])
    ref = types.ResourceTemplateReference(uri="kitaru://executions/{exec_id}")
    completion = _complete(build_server(gateway=lambda: many), ref, "exec_id")
    assert len(completion.values) == 100
    assert completion.values[0] == f"{129:08x}"
    assert completion.total == 130 and completion.has_more is True


def test_completions_are_advertised_in_both_eras(wgw) -> None:
    for era in ERAS:

        async def body(client):
            return client.server_capabilities.completions

        assert _with_client(build_server(gateway=lambda: wgw), era, body) is not None


def test_lists_carry_caching_hints_on_2026_07_28(wgw) -> None:
    async def body(client):
        tools = await client.session.list_tools()
        templates = await client.session.list_resource_templates()
        read = await client.session.read_resource("kitaru://executions/aaaa0001")
        return tools, templates, read

    server = build_server(gateway=lambda: wgw)
    tools, templates, read = _with_client(server, "2026-07-28", body)
    assert (tools.ttl_ms, tools.cache_scope) == (3_600_000, "private")
    assert templates.ttl_ms == 3_600_000
    assert read.ttl_ms == 0
    assert json.loads(read.contents[0].text)["exec_id"] == "aaaa0001"


def test_servers_starting_together_end_up_with_one_key() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: request_state.load_key(), range(16)))
    assert len(keys) == 1
    assert request_state.key_path().read_bytes() == keys.pop()


def test_an_unwritable_state_dir_falls_back_to_a_process_key(wgw, monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(blocker / "state"))
    elicit = _answers(types.ElicitResult(action="accept", content={"value": True}))

    async def body(client):
        return await client.call_tool("kitaru_executions_ask_user", {"exec_id": "aaaa0001"})

    server = build_server(gateway=lambda: wgw)
    out = _structured(_with_client(server, "2026-07-28", body, elicitation_callback=elicit))
    assert out["outcome"] == "answered"
    assert wgw.sent() == [("aaaa0001", "approve", True)]


@pytest.mark.parametrize("era", ERAS)
def test_a_cancelled_wait_stops_polling_in_both_eras(wgw, era) -> None:
    """Progress rides the call; cancelling it stops the handler's loop (no more reads)."""
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    def reads() -> int:
        return wgw.names().count("get_execution")

    async def body(client):
        wgw.executions["cccc0003"]["status"] = "running"
        args = {"exec_id": "cccc0003", "timeout_s": 60}
        async with anyio.create_task_group() as tasks:

            async def call() -> None:
                wait = "kitaru_executions_wait"
                await client.call_tool(wait, args, progress_callback=on_progress)

            tasks.start_soon(call)
            with anyio.fail_after(30):
                while reads() < 2 or not progress:  # polling, and progress sent
                    await anyio.sleep(0.02)
            tasks.cancel_scope.cancel()
        await anyio.sleep(0.2)  # a read under way when the cancel came may still land
        stopped_at = reads()
        await anyio.sleep(waiting.POLL_S * 1.5)  # longer than any pause between two reads
        return stopped_at, reads()

    wgw.executions["cccc0003"] = execution("cccc0003", flow="sum", status="running", minutes=2)
    stopped_at, later = _with_client(build_server(gateway=lambda: wgw), era, body)
    assert progress == ["running: 0 of 1 checkpoints done"]
    assert stopped_at >= 2
    assert later == stopped_at, "the wait kept polling after the client cancelled"


def test_input_is_answered_when_resuming_the_paused_execution_fails(wgw, runs, monkeypatch) -> None:
    """The input is in: the answer says resuming failed and how to go on, not an error."""
    from kitaru_mcp.generated import models
    from kitaru_mcp.handlers import lifecycle

    from kitaru_mcp.core.errors import BackendUnavailable

    runs.fail = BackendUnavailable("cannot start a runner: the store is locked.")
    monkeypatch.setattr(lifecycle.time, "sleep", lambda s: None)
    wgw.statuses["aaaa0001"] = "paused"
    params = models.KitaruExecutionsInputInput(exec_id="aaaa0001", wait="approve", value=True)
    done = lifecycle.provide_input(wgw, params).model_dump(mode="json", exclude_unset=True)
    assert wgw.sent() == [("aaaa0001", "approve", True)]
    assert done["continuation"] == "resume_failed"
    assert "store is locked" in done["note"] and "kitaru_executions_resume" in done["note"]
    assert done["execution"]["exec_id"] == "aaaa0001"
