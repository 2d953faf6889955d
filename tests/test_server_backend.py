"""The lifecycle on a real Kitaru server, through the official MCP client.

A module fixture starts Kitaru's local server (a ZenML server daemon) in a
throw-away HOME with kitaru_start_local_server, as a user would, and stops it
afterwards. Every tool then talks to it over REST: run, wait and input,
replay, retry, cancel, logs read from the server's log API, artifacts and
statistics. The last test kills the server behind kitaru-mcp's back: every
tool that needs it answers backend_unavailable within 5 s, and kitaru-mcp goes
on serving.

Needs the [local] extra (ZenML's server packages): `pip install -e ".[test,local]"`.
It fails rather than skips without it, so CI cannot silently leave it out.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, home_env, local_server_session, wait_until
from contract_cases import CONTRACT
from mcp_client import StdioClient

# The module fixture (a server start, or flows run to their end) counts toward the first
# test's time limit; on two busy cores it can take minutes.
pytestmark = [pytest.mark.local_server, pytest.mark.timeout(600), pytest.mark.warm_runner]

FINISHED = {"completed", "failed", "cancelled"}
TAG = uuid.uuid4().hex[:8]  # fresh inputs: a cached checkpoint writes no new logs


class Served:
    def __init__(self, client: StdioClient, home: Path, url: str) -> None:
        self.client, self.home, self.url = client, home, url

    def daemon_pid(self) -> int:
        pid_file = self.home / ".config" / "kitaru" / "zen_server" / "daemon" / "service.pid"
        return int(pid_file.read_text().strip())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with local_server_session(tmp_path_factory, "server-backed") as (client, home, started):
        assert started["action"] == "started", started
        yield Served(client, home, started["url"])


@pytest.fixture(scope="module")
def mcp(served: Served) -> StdioClient:
    return served.client


def run(client: StdioClient, target: str, **args: object) -> str:
    started = client.ok("kitaru_executions_run", {"target": target, "args": args})
    assert started["available"] is True
    return started["execution"]["exec_id"]


def wait(client: StdioClient, exec_id: str, until: str = "finished") -> dict:
    """kitaru_executions_wait until it reports the state (calls again on its own timeout)."""
    for _ in range(6):
        waited = client.ok("kitaru_executions_wait", {"exec_id": exec_id, "until": until})
        if not waited["timed_out"]:
            return waited["execution"]
    raise AssertionError(f"{exec_id} did not reach {until} in time")


def test_the_connection_is_the_local_server(served: Served) -> None:
    status = served.client.ok("kitaru_status")
    assert status["connection"]["kind"] == "local_server"
    assert status["connection"]["url"] == served.url
    assert status["connection"]["reachable"] is True
    assert status["local_server_running"] is True


def test_run_wait_logs_from_the_server_log_api_and_artifacts(mcp: StdioClient) -> None:
    name = f"Ada-{TAG}"
    exec_id = run(mcp, "examples/two_steps.py:two_steps", name=name)
    done = wait(mcp, exec_id)
    assert done["status"] == "completed"
    assert [c["name"] for c in done["checkpoints"]] == ["greet", "shout"]

    logs = mcp.ok("get_execution_logs", {"exec_id": exec_id, "source": "checkpoints"})
    assert logs["records_from"] == "server_log_api"
    by_checkpoint = {(e["checkpoint"], e["message"]) for e in logs["entries"]}
    assert ("greet", f"greeting {name}") in by_checkpoint
    assert ("shout", f"shouted HELLO {name.upper()}!") in by_checkpoint
    assert all(e["source"] == "checkpoints" for e in logs["entries"])
    one = mcp.ok(
        "get_execution_logs", {"exec_id": exec_id, "source": "checkpoints", "checkpoint": "shout"}
    )
    assert {e["checkpoint"] for e in one["entries"]} == {"shout"}
    info = mcp.ok(
        "get_execution_logs", {"exec_id": exec_id, "source": "checkpoints", "level": "INFO"}
    )
    assert {e["message"] for e in info["entries"]} >= {f"greeting {name}"}

    listed = mcp.ok("kitaru_artifacts_list", {"exec_id": exec_id, "checkpoint": "greet"})
    assert listed["count"] >= 1
    value = mcp.ok("kitaru_artifacts_get", {"artifact_id": listed["artifacts"][0]["artifact_id"]})
    assert value["json_value"] == f"hello {name}" and value["format"] == "json"


def test_wait_stops_at_input_and_the_answer_completes_the_flow(mcp: StdioClient) -> None:
    exec_id = run(mcp, "examples/approval.py:approval", topic=f"server {TAG}")
    waiting = wait(mcp, exec_id, until="finished_or_waiting")
    assert waiting["status"] == "waiting"
    assert waiting["pending_wait"]["name"] == "approve"
    wrong = mcp.error(
        "kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": "yes"}
    )
    assert wrong["code"] == "invalid_argument" and wrong["field"] == "value"
    mcp.ok("kitaru_executions_input", {"exec_id": exec_id, "wait": "approve", "value": True})
    done = wait(mcp, exec_id)
    assert done["status"] == "completed"
    assert [c["name"] for c in done["checkpoints"]] == ["draft", "publish"]


def test_replay_from_a_checkpoint_with_new_inputs(mcp: StdioClient) -> None:
    name = f"Grace-{TAG}"
    original = run(mcp, "examples/two_steps.py:two_steps", name=name)
    assert wait(mcp, original)["status"] == "completed"
    replayed = mcp.ok(
        "kitaru_executions_replay",
        {"exec_id": original, "from_": "shout", "flow_inputs": {"punctuation": "?!"}},
    )
    new = replayed["execution"]["exec_id"]
    assert new != original and replayed["execution"]["original_exec_id"] == original
    done = wait(mcp, new)
    assert done["status"] == "completed"
    logs = mcp.ok("get_execution_logs", {"exec_id": new, "source": "checkpoints"})
    assert f"shouted HELLO {name.upper()}?!" in {e["message"] for e in logs["entries"]}


def test_a_failed_flow_is_retried_to_completion(mcp: StdioClient, tmp_path: Path) -> None:
    exec_id = run(mcp, "examples/flaky.py:flaky", marker=str(tmp_path / f"marker-{TAG}"))
    assert wait(mcp, exec_id)["status"] == "failed"
    retried = mcp.ok("kitaru_executions_retry", {"exec_id": exec_id})
    assert retried["execution"]["exec_id"] == exec_id
    assert wait(mcp, exec_id)["status"] == "completed"


def test_a_long_flow_is_cancelled(mcp: StdioClient) -> None:
    exec_id = run(mcp, "examples/slow.py:slow", steps=60, seconds=1)
    cancelled = mcp.ok("kitaru_executions_cancel", {"exec_id": exec_id})
    assert cancelled["status"] == "cancelled"
    assert len(cancelled["checkpoints"]) < 60
    again = mcp.error("kitaru_executions_cancel", {"exec_id": exec_id})
    assert again["code"] == "conflict"


def test_cursor_pages_on_the_server_walk_one_listing(mcp: StdioClient) -> None:
    """Keyset pages through the REST API's filters: page by page, the whole listing."""
    whole = mcp.ok("kitaru_executions_list", {"limit": 200})["executions"]
    assert len(whole) >= 5
    walked, token = [], None
    for _ in range(len(whole)):
        page = mcp.ok(
            "kitaru_executions_list", {"limit": 2, **({"cursor": token} if token else {})}
        )
        walked += page["executions"]
        token = page["next_cursor"]
        if token is None:
            break
    assert [e["exec_id"] for e in walked] == [e["exec_id"] for e in whole]


def test_statistics_count_the_executions_of_this_suite(mcp: StdioClient) -> None:
    stats = mcp.ok("kitaru_executions_statistics", {"group_by": ["flow", "status"]})
    counts = {(g.get("flow"), g.get("status")): g["count"] for g in stats["groups"]}
    assert counts.get(("two_steps", "completed"), 0) >= 3
    assert counts.get(("approval", "completed"), 0) >= 1
    assert counts.get(("slow", "cancelled"), 0) >= 1
    assert counts.get(("flaky", "completed"), 0) >= 1


_SAME_AS_THE_SDK = """
import json, sys
from kitaru import KitaruClient
from zenml.client import Client
from kitaru_mcp.gateway import Gateway, serialize
gateway = Gateway()
assert gateway.store_sql() is None, "a server connection"
expected = {e: serialize.execution(KitaruClient().executions.get(e)) for e in sys.argv[1:]}
store = type(Client().zen_store)
def one_by_one(*args, **kwargs):
    raise AssertionError("an artifact fetched on its own: the oneof listing was not used")
store.get_artifact_version = one_by_one
for exec_id, execution in expected.items():
    assert gateway.get_execution(exec_id) == execution, (exec_id, execution)
print(json.dumps([a["kind"] for execution in expected.values() for a in execution["artifacts"]]))
"""


def test_get_on_the_server_is_the_sdks_execution(served: Served, mcp: StdioClient) -> None:
    """The server path (run, one steps listing, one artifacts request) against the SDK's get,
    over REST in a process of its own connected as the MCP server is."""
    saved = run(mcp, "examples/artifacts_demo.py:artifacts_demo", topic=TAG, size=2000)
    assert wait(mcp, saved)["status"] == "completed"  # named, typed artifacts (save(type=...))
    exec_ids = [e["exec_id"] for e in mcp.ok("kitaru_executions_list", {"limit": 12})["executions"]]
    assert saved in exec_ids
    checked = subprocess.run(
        [sys.executable, "-c", _SAME_AS_THE_SDK, *exec_ids],
        env={**os.environ, **home_env(served.home)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    kinds = json.loads(checked.stdout.strip().splitlines()[-1])
    assert len(kinds) >= 2 and any(kinds), kinds  # artifacts and their kinds compared too


# Tools that need no backend call: they answer while the server is down.
NO_BACKEND = {"kitaru_clean_preview", "kitaru_info"}
# Not called: starting would bring the server back, stopping is the fixture's job.
NOT_CALLED = {"kitaru_start_local_server", "kitaru_stop_local_server"}


def test_a_server_that_stops_gives_backend_unavailable_on_every_tool(served: Served) -> None:
    """Runs last: kill the server daemon; each tool fails fast and cleanly, and keeps serving."""
    mcp = served.client
    os.kill(served.daemon_pid(), signal.SIGKILL)
    wait_until(lambda: _refused(served.url), timeout=15, interval=0.2)
    slowest = ("", 0.0)
    for tool in CONTRACT["tools"]:
        name = tool["name"]
        if name in NOT_CALLED:
            continue
        arguments = tool["examples"][0]["arguments"] if tool.get("examples") else {}
        started = time.monotonic()
        result = mcp.call(name, arguments)
        elapsed = time.monotonic() - started
        slowest = max(slowest, (name, elapsed), key=lambda pair: pair[1])
        text = result.content[0].text
        assert elapsed < 5, f"{name} took {elapsed:.2f} s to report the server down"
        assert "Traceback" not in text
        if name == "kitaru_status":
            assert result.structured_content["connection"]["reachable"] is False
            continue
        if name in NO_BACKEND:
            continue
        assert result.is_error, f"{name} succeeded with the server down: {text[:300]}"
        error = json.loads(text)
        assert error["code"] == "backend_unavailable", (name, error)
        assert error["retryable"] is True and served.url in error["message"], (name, error)
    assert mcp.list_tools(), "kitaru-mcp keeps serving"
    again = mcp.error("kitaru_executions_list", {})
    assert again["code"] == "backend_unavailable"
    print(f"\nserver down: slowest tool {slowest[0]} answered in {slowest[1]:.2f} s")


def _refused(url: str) -> bool:
    host, port = url.rsplit(":", 1)
    try:
        with socket.create_connection((host.split("//")[1], int(port)), timeout=0.5):
            return False
    except OSError:
        return True
