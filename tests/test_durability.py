"""Durability: executions started by a server outlive it, a restarted server lists them
correctly, and once an execution ends its runner process is gone."""

from __future__ import annotations

import os
import signal
import sys

import pytest
from conftest import ROOT, wait_until
from mcp_client import StdioClient
from procs import children, cmdline, has_open_file, processes, session_members

from kitaru_mcp.core import state

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]

FINISHED = {"completed", "failed", "cancelled"}


def runner_processes(log_file: str | None = None) -> dict[int, str]:
    """Live ``kitaru_mcp.runs.runner`` processes (pid -> command line), maybe of one log file."""
    return {
        p.pid: p.cmdline
        for p in processes()
        if "kitaru_mcp.runs.runner" in p.cmdline
        and p.session == p.pid  # a runner leads its session (the template does not)
        and (log_file is None or has_open_file(p.pid, log_file))
    }


def _listed(client: StdioClient, exec_id: str) -> dict | None:
    found = client.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 200})
    return next((e for e in found["executions"] if e["exec_id"] == exec_id), None)


def test_a_restarted_server_lists_executions_of_a_killed_one_and_no_runner_remains() -> None:
    command = [sys.executable, "-m", "kitaru_mcp"]
    others = children(os.getpid())  # e.g. the session's server
    first = StdioClient(command, cwd=ROOT).start()
    try:
        started = first.ok(
            "kitaru_executions_run",
            {"target": "examples/two_steps.py:two_steps", "args": {"name": "Phoenix", "delay": 20}},
        )
        (server,) = {
            pid
            for pid in children(os.getpid()) - others
            if "kitaru_mcp" in cmdline(pid) and "kitaru_mcp.runs.runner" not in cmdline(pid)
        }
        os.kill(server, signal.SIGKILL)
    finally:
        first.close()
    exec_id = started["execution"]["exec_id"]
    log_file = started["log_file"]
    record = state.read_record(exec_id)
    assert record and record["pid"], "the runner recorded itself"
    runner = record["pid"]
    assert runner in runner_processes(log_file), "the runner survived the server's SIGKILL"

    with StdioClient(command, cwd=ROOT) as second:
        listed = _listed(second, exec_id)
        assert listed is not None, "the new server lists the execution the killed one started"
        assert listed["status"] == "running"
        assert listed["flow"] == "two_steps"
        running = second.ok("kitaru_executions_get", {"exec_id": exec_id})
        assert running["status"] == "running"

        def finished() -> dict | None:
            execution = second.ok("kitaru_executions_get", {"exec_id": exec_id})
            return execution if execution["status"] in FINISHED else None

        done = wait_until(finished, timeout=180)
        assert done["status"] == "completed"
        assert [c["name"] for c in done["checkpoints"]] == ["greet", "shout"]
        assert _listed(second, exec_id)["status"] == "completed"
        logs = second.ok("get_execution_logs", {"exec_id": exec_id, "tail": 500, "source": "all"})
        assert any("greeting Phoenix" in entry["message"] for entry in logs["entries"])

    # The execution ended: its runner (and anything in its session) exits soon after.
    wait_until(lambda: not runner_processes(log_file), timeout=60)
    wait_until(lambda: not session_members(runner), timeout=30)
    assert runner not in runner_processes()
