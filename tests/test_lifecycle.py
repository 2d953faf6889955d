"""Execution lifecycle through the official MCP client over stdio, on real flows."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import ROOT, wait_until
from mcp_client import StdioClient
from procs import server_pids

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]

FINISHED = {"completed", "failed", "cancelled"}


def run(client: StdioClient, target: str, **args: object) -> dict:
    started = client.ok("kitaru_executions_run", {"target": target, "args": args})
    assert started["available"] is True and started["operation"] == "run"
    return started


def until_status(client: StdioClient, exec_id: str, statuses: set[str], timeout=120) -> dict:
    def reached() -> dict | None:
        execution = client.ok("kitaru_executions_get", {"exec_id": exec_id})
        return execution if execution["status"] in statuses else None

    return wait_until(reached, timeout=timeout)


def log_text(client: StdioClient, exec_id: str, **extra: object) -> str:
    logs = client.ok("get_execution_logs", {"exec_id": exec_id, "tail": 5000, **extra})
    return "\n".join(entry["message"] for entry in logs["entries"])


def test_run_returns_before_the_flow_ends(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/two_steps.py:two_steps", name="Ada", delay=8)
    execution = started["execution"]
    assert execution["flow"] == "two_steps"
    assert execution["stack"] == "default"
    assert execution["status"] == "running"
    assert len(execution["checkpoints"]) < 2 or execution["checkpoints"][0]["status"] == "running"
    assert Path(started["log_file"]).is_file()
    done = until_status(mcp_server, execution["exec_id"], FINISHED)
    assert done["status"] == "completed"
    assert [c["name"] for c in done["checkpoints"]] == ["greet", "shout"]
    assert "greeting Ada" in log_text(mcp_server, execution["exec_id"])


def test_run_on_an_unknown_stack_is_refused(era_server: StdioClient) -> None:
    error = era_server.error(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "stack": "no-such-stack"},
    )
    assert "no-such-stack" in error["message"]


@pytest.mark.parametrize(
    ("target", "field", "phrase"),
    [
        ("no_colon_here", "target", "does not match"),
        ("examples/two_steps.py:two:steps", "target", "does not match"),
        ("examples/missing.py:flow", "target", "does not exist"),
        ("no_such_module_xyz:flow", "target", "cannot be found"),
        ("examples/broken_import.py:flow", "target", "refuses to be imported"),
        ("examples/two_steps.py:helper", "target", "not a Kitaru flow"),
        ("examples/two_steps.py:absent", "target", "has no attribute 'absent'"),
    ],
)
def test_bad_targets_are_refused(mcp_server: StdioClient, target, field, phrase) -> None:
    error = mcp_server.error("kitaru_executions_run", {"target": target})
    assert error["code"] == "invalid_argument", error
    assert error["field"] == field
    assert phrase in error["message"], error
    assert "Traceback" not in error["message"]


def test_unknown_and_missing_flow_arguments_are_named(era_server: StdioClient) -> None:
    unknown = era_server.error(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "args": {"nmae": "typo"}},
    )
    assert unknown["field"] == "args.nmae"
    assert "nmae" in unknown["message"] and "name: str" in unknown["message"]
    missing = era_server.error("kitaru_executions_run", {"target": "examples/flaky.py:flaky"})
    assert missing["field"] == "args"
    assert "marker" in missing["message"]
    assert era_server.ok("kitaru_status")["connection"]["reachable"] is True


def test_waiting_flow_input_checks_then_completes(era_server: StdioClient) -> None:
    started = run(era_server, "examples/approval.py:approval", topic="input checks")
    exec_id = started["execution"]["exec_id"]
    assert started["execution"]["status"] in {"running", "waiting"}
    waiting = until_status(era_server, exec_id, {"waiting"})
    listed = era_server.ok("kitaru_executions_list", {"status": "waiting"})
    assert exec_id in {e["exec_id"] for e in listed["executions"]}

    wrong_type = era_server.error(
        "kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": "yes"}
    )
    assert wrong_type["field"] == "value"
    assert '"type": "boolean"' in wrong_type["message"]
    wrong_wait = era_server.error(
        "kitaru_executions_input", {"exec_id": exec_id, "wait": "publish", "value": True}
    )
    assert wrong_wait["field"] == "wait" and "'approve'" in wrong_wait["message"]
    still = era_server.ok("kitaru_executions_get", {"exec_id": exec_id})
    assert still["pending_wait"]["wait_id"] == waiting["pending_wait"]["wait_id"]

    answered = era_server.ok(
        "kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": True}
    )
    assert answered["continuation"] == "polling_process"
    done = until_status(era_server, exec_id, FINISHED)
    assert done["status"] == "completed"
    assert [c["name"] for c in done["checkpoints"]] == ["draft", "publish"]


def test_input_to_a_paused_execution_resumes_it(mcp_server: StdioClient) -> None:
    started = run(mcp_server, "examples/approval.py:approval", topic="paused", wait_timeout=1)
    exec_id = started["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"waiting"})
    runner_log = Path(started["log_file"])
    wait_until(lambda: "Pausing execution" in runner_log.read_text(), timeout=60)
    time.sleep(1)  # let the runner process exit after pausing
    resumed = mcp_server.ok(
        "kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": False}
    )
    assert resumed["continuation"] == "resumed"
    assert resumed["log_file"] and resumed["log_file"] != started["log_file"]
    done = until_status(mcp_server, exec_id, FINISHED)
    assert done["status"] == "completed"
    assert "publish" in [c["name"] for c in done["checkpoints"]]


def test_nothing_to_answer_is_a_conflict(era_server: StdioClient, seeded: dict) -> None:
    error = era_server.error(
        "kitaru_executions_input", {"exec_id": seeded["completed"], "wait": "x", "value": 1}
    )
    assert error["code"] == "conflict"
    assert "no pending wait" in error["message"]


def test_replay_from_second_checkpoint_with_new_inputs(mcp_server: StdioClient) -> None:
    original = run(mcp_server, "examples/two_steps.py:two_steps", name="Grace")
    exec_id = original["execution"]["exec_id"]
    until_status(mcp_server, exec_id, {"completed"})

    refused = mcp_server.error(
        "kitaru_executions_replay",
        {"exec_id": exec_id, "from_": "shout", "overrides": {"wait.approve": True}},
    )
    assert refused["code"] == "invalid_argument" and refused["field"] == "overrides"
    assert "wait.approve" in refused["message"] and "checkpoint.<name>" in refused["message"]
    unknown = mcp_server.error("kitaru_executions_replay", {"exec_id": exec_id, "from_": "nope"})
    assert unknown["field"] == "from_"
    assert "greet" in unknown["message"] and "shout" in unknown["message"]

    replayed = mcp_server.ok(
        "kitaru_executions_replay",
        {"exec_id": exec_id, "from_": "shout", "flow_inputs": {"punctuation": "?!"}},
    )
    assert replayed["available"] is True and replayed["operation"] == "replay"
    new = replayed["execution"]
    assert new["exec_id"] != exec_id
    assert new["original_exec_id"] == exec_id
    get_shape = mcp_server.ok("kitaru_executions_get", {"exec_id": new["exec_id"]})
    assert set(get_shape) == set(new)
    until_status(mcp_server, new["exec_id"], FINISHED)
    assert "shouted HELLO GRACE?!" in log_text(mcp_server, new["exec_id"], source="all")
    assert "shouted HELLO GRACE!" in log_text(mcp_server, exec_id, source="all")


def test_a_failed_flow_is_retried_to_completion(mcp_server: StdioClient, tmp_path) -> None:
    marker = str(tmp_path / "flaky-marker")
    started = run(mcp_server, "examples/flaky.py:flaky", marker=marker)
    exec_id = started["execution"]["exec_id"]
    failed = until_status(mcp_server, exec_id, FINISHED)
    assert failed["status"] == "failed"

    assert failed["failure"] is not None and failed["failure"]["message"]
    # the flow's own message reaches the runner's log (Kitaru's failure record
    # sometimes only says "Execution ... failed."); the runner may still be writing it
    assert wait_until(
        lambda: "fails on purpose" in log_text(mcp_server, exec_id, source="all"), timeout=30
    )

    retried = mcp_server.ok("kitaru_executions_retry", {"exec_id": exec_id})
    assert retried["operation"] == "retry"
    assert retried["execution"]["exec_id"] == exec_id
    done = until_status(mcp_server, exec_id, {"completed"})
    assert done["failure"] is None
    again = mcp_server.error("kitaru_executions_retry", {"exec_id": exec_id})
    assert again["code"] == "conflict" and "completed" in again["message"]


def test_a_long_flow_is_cancelled(era_server: StdioClient) -> None:
    started = run(era_server, "examples/slow.py:slow", steps=60, seconds=1)
    exec_id = started["execution"]["exec_id"]
    cancelled = era_server.ok("kitaru_executions_cancel", {"exec_id": exec_id})
    assert cancelled["status"] == "cancelled"
    assert len(cancelled["checkpoints"]) < 60
    again = era_server.error("kitaru_executions_cancel", {"exec_id": exec_id})
    assert again["code"] == "conflict" and "cancelled" in again["message"]


def test_execution_outlives_a_killed_server(mcp_server: StdioClient) -> None:
    before = server_pids()
    client = StdioClient(cwd=ROOT).start()
    try:
        (server,) = server_pids() - before
        started = run(client, "examples/two_steps.py:two_steps", name="Survivor", delay=3)
        os.kill(server, signal.SIGKILL)
    finally:
        client.close()
    exec_id = started["execution"]["exec_id"]
    done = until_status(mcp_server, exec_id, FINISHED)
    assert done["status"] == "completed"
    assert "greeting Survivor" in log_text(mcp_server, exec_id, source="all")


def test_logs_of_one_checkpoint_and_bad_checkpoint(mcp_server: StdioClient, seeded) -> None:
    text = log_text(mcp_server, seeded["completed"], checkpoint="greet")
    assert "Step `greet` has started" in text and "shout" not in text
    logs = mcp_server.ok("get_execution_logs", {"exec_id": seeded["completed"], "tail": 1})
    assert logs["returned"] == 1 and logs["truncated"] is True
    error = mcp_server.error(
        "get_execution_logs", {"exec_id": seeded["completed"], "checkpoint": "nope"}
    )
    assert error["field"] == "checkpoint"
    assert json.dumps(error).count("greet") >= 1


def test_idempotency_key_starts_one_execution(mcp_server: StdioClient) -> None:
    arguments = {
        "target": "examples/two_steps.py:two_steps",
        "args": {"name": "Once"},
        "idempotency_key": "agent-call-42",
    }
    first = mcp_server.ok("kitaru_executions_run", arguments)
    again = mcp_server.ok("kitaru_executions_run", arguments)
    assert first["reused"] is False and again["reused"] is True
    assert again["execution"]["exec_id"] == first["execution"]["exec_id"]
    changed = mcp_server.error("kitaru_executions_run", {**arguments, "args": {"name": "Twice"}})
    assert changed["code"] == "conflict" and changed["field"] == "idempotency_key"
    assert first["execution"]["exec_id"] in changed["message"]
    flows = mcp_server.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 200})
    ids = [e["exec_id"] for e in flows["executions"]]
    assert ids.count(first["execution"]["exec_id"]) == 1
