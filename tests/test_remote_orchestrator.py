"""Runs that do not run here: a stack whose orchestrator runs flows elsewhere.

The orchestrator is faked at ZenML's orchestrator interface (``fake_remote.py``):
its submission only records the run, and its ``wait_for_completion`` would
block for an hour. ``run`` must return as soon as the execution exists, the
runner must not wait on the flow (it ends right after the submission), and the
reaper must not take the runner's exit for a death of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ROOT, home_env, wait_until
from mcp_client import StdioClient

pytestmark = [pytest.mark.server, pytest.mark.timeout(300), pytest.mark.warm_runner]

TAG = uuid.uuid4().hex[:8]


def _setup(env: dict[str, str], step: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fake_remote.py"), step, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("remote-home")
    submissions = home / "submissions.jsonl"
    env = {**os.environ, **home_env(home), "FAKE_REMOTE_SUBMISSIONS": str(submissions)}
    _setup(env, "register")
    log = tmp_path_factory.mktemp("remote-log") / "stderr.log"
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    server_env = {**home_env(home), "FAKE_REMOTE_SUBMISSIONS": str(submissions)}
    client = StdioClient(command, env=server_env, cwd=ROOT).start(errlog_path=log)
    yield {"client": client, "home": home, "submissions": submissions, "env": env, "log": log}
    client.close()
    assert "Traceback" not in log.read_text(errors="replace")


def _submitted(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["exec_id"] for line in path.read_text().splitlines() if line]


def _record(home: Path, exec_id: str) -> dict[str, Any]:
    path = home / ".config" / "kitaru" / "mcp" / "runs" / f"{exec_id}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _run_on_remote(client: StdioClient, name: str) -> str:
    """Start ``two_steps`` on the fake remote stack; its exec_id."""
    started = client.ok(
        "kitaru_executions_run",
        {
            "target": "examples/two_steps.py:two_steps",
            "args": {"name": name},
            "stack": "fake-remote",
        },
    )
    return started["execution"]["exec_id"]


def test_a_run_on_a_remote_stack_returns_once_submitted_and_never_waits_here(remote) -> None:
    client = remote["client"]
    exec_id = _run_on_remote(client, f"remote-{TAG}")
    assert exec_id in _submitted(remote["submissions"]), "the orchestrator got the run"
    record = _record(remote["home"], exec_id)
    assert record.get("elsewhere") is True
    assert wait_until(lambda: _gone(record["pid"]), timeout=60, interval=0.2), (
        "the runner ended after the submission instead of waiting on the flow"
    )
    # the reaper passes every 2 s while anything lives: give it two, the run stays unfailed
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = client.ok("kitaru_executions_get", {"exec_id": exec_id})["status"]
        assert status != "failed", "the runner's exit is not the run's death"


def test_a_replay_on_a_remote_stack_does_not_wait_either(remote) -> None:
    client = remote["client"]
    done = client.ok(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "args": {"name": f"local-{TAG}"}},
    )
    source = done["execution"]["exec_id"]
    waited = client.ok(
        "kitaru_executions_wait", {"exec_id": source, "until": "finished", "timeout_s": 120}
    )
    assert waited["execution"]["status"] == "completed"
    checkpoints = waited["execution"].get("checkpoints") or []
    first = checkpoints[0]["name"] if checkpoints else "greet"
    _setup(remote["env"], "activate")  # the remote stack is the active one from now on
    replayed = client.ok("kitaru_executions_replay", {"exec_id": source, "from_": first})
    exec_id = replayed["execution"]["exec_id"]
    assert exec_id != source
    assert exec_id in _submitted(remote["submissions"])
    record = _record(remote["home"], exec_id)
    assert record.get("elsewhere") is True
    assert wait_until(lambda: _gone(record["pid"]), timeout=60, interval=0.2)


@pytest.mark.parametrize(
    ("operation", "left_as"),
    [("kitaru_executions_retry", "failed"), ("kitaru_executions_resume", "paused")],
)
def test_a_retry_or_resume_on_a_remote_stack_returns_once_resubmitted(
    remote, operation: str, left_as: str
) -> None:
    """Kitaru reruns the execution on its own stack (``resume_run``): the runner reports it
    at the resubmission, drops the orchestrator's hour-long wait and ends."""
    client = remote["client"]
    exec_id = _run_on_remote(client, f"again-{operation[-5:]}-{TAG}")
    first = _record(remote["home"], exec_id)
    assert wait_until(lambda: _gone(first["pid"]), timeout=60, interval=0.2)
    _setup(remote["env"], "status", exec_id, left_as)  # what the remote run reported

    again = client.ok(operation, {"exec_id": exec_id})
    assert again["execution"]["exec_id"] == exec_id
    assert _submitted(remote["submissions"]).count(exec_id) == 2, "resubmitted once"
    record = _record(remote["home"], exec_id)
    assert record["pid"] != first["pid"] and record.get("elsewhere") is True
    assert wait_until(lambda: _gone(record["pid"]), timeout=60, interval=0.2), (
        "the runner ended after the resubmission instead of waiting on the flow"
    )
    # reopened (ZenML's resuming) and the orchestrator's from here: running, never failed
    assert client.ok("kitaru_executions_get", {"exec_id": exec_id})["status"] == "running"
