"""Runner faults: a killed runner is noticed, crashed starts keep their key, a fresh
store is created once under concurrent first calls, and jobs travel as data."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, home_env, wait_until
from mcp_client import StdioClient
from procs import server_pids
from test_lifecycle import FINISHED, until_status

from kitaru_mcp.core import processes as kprocesses
from kitaru_mcp.core import state
from kitaru_mcp.runs import idempotency

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]


def _server(env: dict[str, str] | None = None) -> tuple[StdioClient, int]:
    before = server_pids()
    client = StdioClient([sys.executable, "-m", "kitaru_mcp"], env=env, cwd=ROOT).start()
    (pid,) = server_pids() - before
    return client, pid


@pytest.fixture(scope="module")
def served() -> StdioClient:
    client, _ = _server()
    yield client
    client.close()


def _run(client: StdioClient, target: str, **args: object) -> dict:
    return client.ok("kitaru_executions_run", {"target": target, "args": args})


def test_a_killed_runner_fails_its_execution_and_retry_completes(served: StdioClient) -> None:
    started = _run(served, "tests/flows/napping.py:napping", name="killed", seconds=4)
    exec_id = started["execution"]["exec_id"]
    runner = state.read_record(exec_id)["pid"]
    assert kprocesses.is_runner(runner)

    def napping() -> bool:  # `before` is done: the runner sleeps in the flow body
        execution = served.ok("kitaru_executions_get", {"exec_id": exec_id})
        return [c["status"] for c in execution["checkpoints"]] == ["completed"]

    wait_until(napping, timeout=60, interval=0.1)
    os.kill(runner, signal.SIGKILL)
    killed_at = time.monotonic()
    failed = until_status(served, exec_id, {"failed", "completed"}, timeout=10)
    assert failed["status"] == "failed"
    assert time.monotonic() - killed_at <= 10
    # The reason is recorded in the store: as the failure's message (what Kitaru 0.21 shows)
    # or, where the failure names a checkpoint that died with it, as the status reason.
    reason = f"runner process {runner} died: SIGKILL"
    shown = {(failed.get("failure") or {}).get("message"), failed.get("status_reason")}
    assert reason in shown, (failed.get("failure"), failed.get("status_reason"))
    listed = served.ok("kitaru_executions_list", {"flow": "napping", "limit": 200})
    assert {e["exec_id"]: e["status"] for e in listed["executions"]}[exec_id] == "failed"
    waited = served.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 5})
    assert waited["execution"]["status"] == "failed" and waited["timed_out"] is False

    retried = served.ok("kitaru_executions_retry", {"exec_id": exec_id})
    assert retried["execution"]["exec_id"] == exec_id
    done = until_status(served, exec_id, FINISHED, timeout=120)
    assert done["status"] == "completed", done
    assert [c["name"] for c in done["checkpoints"]] == ["before", "after"]


def test_a_later_server_reconciles_a_runner_that_died_with_no_server(tmp_path: Path) -> None:
    client, server = _server()
    try:
        started = _run(client, "tests/flows/napping.py:napping", name="orphan", seconds=60)
        os.kill(server, signal.SIGKILL)
    finally:
        client.close()
    exec_id = started["execution"]["exec_id"]
    runner = state.read_record(exec_id)["pid"]
    time.sleep(1)  # the template is gone too: nobody records how the runner ends
    os.kill(runner, signal.SIGKILL)
    wait_until(lambda: not kprocesses.alive(runner), timeout=10, interval=0.1)
    later, _ = _server()
    try:
        # the new server's reaper needs Kitaru imported first: slow on a loaded machine
        failed = until_status(later, exec_id, {"failed", "completed"}, timeout=60)
        assert failed["status"] == "failed"
        assert failed["failure"]["message"].startswith(f"runner process {runner} died")
    finally:
        later.close()


def test_first_calls_on_a_fresh_home_create_the_store_once(tmp_path: Path) -> None:
    client, _ = _server(home_env(tmp_path / "fresh"))
    errors: list[str] = []
    try:

        def call(index: int) -> str | None:
            if index % 2:
                result = client.call("kitaru_executions_list", {"limit": 5})
            else:
                args = {"name": f"fresh{index}"}
                result = client.call(
                    "kitaru_executions_run",
                    {"target": "examples/two_steps.py:two_steps", "args": args},
                )
            if result.is_error:
                errors.append(result.content[0].text)
                return None
            return (result.structured_content.get("execution") or {}).get("exec_id")

        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(call, range(10)))  # 5 runs and 5 lists at once
        assert errors == []
        exec_ids = [r for r in results if r]
        assert len(exec_ids) == 5
        for exec_id in exec_ids:
            assert until_status(client, exec_id, FINISHED, timeout=180)["status"] == "completed"
        listed = client.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 50})
        assert sorted(e["exec_id"] for e in listed["executions"]) == sorted(exec_ids)
    finally:
        client.close()


@pytest.mark.parametrize("template", ["on", "off"])
def test_a_5_mb_argument_reaches_the_runner(template: str, served: StdioClient) -> None:
    blob = "-" * (5 * 2**20 - 3) + template.rjust(3, "=")  # unlike any other: never cached
    arguments = {"target": "tests/flows/payload.py:payload", "args": {"blob": blob}}
    if template == "on":
        started = served.ok("kitaru_executions_run", arguments)
        done = until_status(served, started["execution"]["exec_id"], FINISHED, timeout=180)
        assert "forked from template" in Path(started["log_file"]).read_text()
    else:
        client, _ = _server({"KITARU_MCP_WARM_RUNNER": "0"})
        try:
            started = client.ok("kitaru_executions_run", arguments)
            done = until_status(client, started["execution"]["exec_id"], FINISHED, timeout=180)
        finally:
            client.close()
        assert "forked from template" not in Path(started["log_file"]).read_text()
    assert done["status"] == "completed"
    expected = f"blob length {5 * 2**20} ends with {blob[-3:]}"
    assert expected in Path(started["log_file"]).read_text()


def test_an_idempotent_start_survives_its_server_crash() -> None:
    env = {"SLOW_IMPORT_S": "5"}
    arguments = {
        "target": "tests/flows/slow_import.py:slow_import",
        "args": {"name": "crash"},
        "idempotency_key": f"crash-{time.time()}",
    }
    key_file = idempotency._key_path("run", arguments["idempotency_key"])
    first, server = _server(env)

    def call_that_dies_with_its_server() -> None:
        with contextlib.suppress(Exception):  # "Connection closed": the server is killed
            first.call("kitaru_executions_run", arguments)

    threading.Thread(target=call_that_dies_with_its_server, daemon=True).start()
    pending = wait_until(
        lambda: ((state.read_json(key_file) or {}).get("pending") or {}).get("runner_pid"),
        timeout=60,
        interval=0.05,
    )
    os.kill(server, signal.SIGKILL)  # crashed while its runner imports the flow
    first.close()
    second, _ = _server(env)
    try:
        first_try = second.call("kitaru_executions_run", arguments)
        if first_try.is_error:  # the crashed call's runner is still starting the flow
            error = json.loads(first_try.content[0].text)
            assert error["code"] == "conflict" and error["retryable"] is True
            assert "still in progress" in error["message"]
        # (on a loaded machine the new server may come up after the start finished:
        # then the first call already returns the same execution)

        def reused() -> dict | None:
            result = second.call("kitaru_executions_run", arguments)
            return None if result.is_error else result.structured_content

        again = wait_until(reused, timeout=60, interval=0.5)
        assert again["reused"] is True
        exec_id = again["execution"]["exec_id"]
        assert state.read_record(exec_id)["pid"] == pending
        record = json.loads(key_file.read_text())
        assert record["exec_id"] == exec_id and record["pending"] is None
        done = until_status(second, exec_id, FINISHED, timeout=120)
        assert done["status"] == "completed"
        flows = second.ok("kitaru_executions_list", {"flow": "slow_import", "limit": 50})
        assert [e["exec_id"] for e in flows["executions"]] == [exec_id]
    finally:
        second.close()
