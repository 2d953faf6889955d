"""Connection and stack tools through the official MCP client: status without secrets,
manage_stack, and Kitaru's local server started and stopped for real."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, StdioClient, start_example, wait_until

pytestmark = pytest.mark.server

SECRETS = {
    "KITARU_MCP_TEST_TOKEN": "supersecretvalue123",
    "KITARU_MCP_TEST_API_KEY": "apikey-0f9e8d7c6b5a",
    "KITARU_MCP_DB_PASSWORD": "hunter2-but-longer",
}
HAS_LOCAL_EXTRA = importlib.util.find_spec("fastapi") is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stack_names(client: StdioClient) -> set[str]:
    return {stack["name"] for stack in client.ok("kitaru_stacks_list")["stacks"]}


def test_status_shows_the_local_store_and_no_local_server(mcp_server: StdioClient) -> None:
    status = mcp_server.ok("kitaru_status")
    assert status["connection"]["kind"] == "local_store"
    assert status["connection"]["url"].startswith("sqlite:///")
    assert status["local_server_running"] is False
    assert status["local_server_url"] is None


def test_secrets_in_the_environment_never_reach_a_tool_result(seeded, tmp_path) -> None:
    """A server holding secret env values: results, errors and the tool list never show them."""
    calls = [
        ("kitaru_status", {}),
        ("kitaru_stacks_list", {}),
        ("kitaru_executions_list", {"limit": 5}),
        ("kitaru_executions_get", {"exec_id": seeded["completed"]}),
        ("kitaru_artifacts_list", {"exec_id": seeded["completed"]}),
        ("kitaru_stop_local_server", {}),
        ("kitaru_executions_get", {"exec_id": "00000000-0000-4000-8000-0000000000cc"}),
        ("manage_stack", {"action": "delete", "name": "no-such-stack"}),
        # even a secret that comes back in an error message is masked
        ("kitaru_executions_latest", {"flow": SECRETS["KITARU_MCP_TEST_TOKEN"]}),
    ]
    seen = []
    with StdioClient(env=SECRETS, cwd=ROOT) as client:
        seen.append(json.dumps([tool.model_dump(mode="json") for tool in client.list_tools()]))
        status = client.ok("kitaru_status")
        assert status["connection"]["kind"] == "local_store"
        for name, arguments in calls:
            result = client.call(name, arguments)
            seen.append(result.content[0].text)
            seen.append(json.dumps(result.structured_content))
    text = "\n".join(seen)
    assert "***" in text, "the echoed secret was masked, not dropped silently"
    for value in SECRETS.values():
        assert value not in text


def test_manage_stack_create_list_delete(mcp_server: StdioClient) -> None:
    name = "mcp-scratch"
    created = mcp_server.ok("manage_stack", {"action": "create", "name": name})
    assert created["stack"]["name"] == name
    assert created["stack"]["active"] is False
    assert {c["type"] for c in created["stack"]["components"]} >= {"orchestrator", "artifact_store"}
    assert created["active_stack"] == "default"
    assert created["active_changed"] is False, "create does not switch stacks unless asked"

    listed = mcp_server.ok("kitaru_stacks_list")
    assert name in {s["name"] for s in listed["stacks"]}
    assert listed["active"] == "default"

    again = mcp_server.error("manage_stack", {"action": "create", "name": name})
    assert again["code"] == "conflict"
    assert name in again["message"]

    deleted = mcp_server.ok("manage_stack", {"action": "delete", "name": name, "force": True})
    assert deleted["stack"] is None
    assert f"{name} (orchestrator)" in deleted["components_deleted"]
    assert deleted["active_stack"] == "default"
    assert name not in _stack_names(mcp_server)

    gone = mcp_server.error("manage_stack", {"action": "delete", "name": name})
    assert gone["code"] == "not_found"
    assert gone["field"] == "name"
    assert name in gone["message"]

    # its components went with it: the same name can be created again
    mcp_server.ok("manage_stack", {"action": "create", "name": name})
    mcp_server.ok("manage_stack", {"action": "delete", "name": name})
    assert name not in _stack_names(mcp_server)


def test_deleting_the_active_stack_needs_force_then_default_is_active(mcp_server) -> None:
    name = "mcp-active"
    created = mcp_server.ok("manage_stack", {"action": "create", "name": name, "activate": True})
    assert created["active_stack"] == name and created["active_changed"] is True
    try:
        assert mcp_server.ok("kitaru_status")["stack"] == name
        refused = mcp_server.error("manage_stack", {"action": "delete", "name": name})
        assert refused["code"] == "conflict"
        assert refused["field"] == "force"
        assert "active" in refused["message"] and "force" in refused["hint"]
        assert name in _stack_names(mcp_server)
    finally:
        deleted = mcp_server.ok("manage_stack", {"action": "delete", "name": name, "force": True})
    assert deleted["active_stack"] == "default"
    assert deleted["active_changed"] is True
    assert mcp_server.ok("kitaru_stacks_list")["active"] == "default"
    assert mcp_server.ok("kitaru_status")["stack"] == "default"


def test_deleting_a_stack_in_use_needs_force(mcp_server: StdioClient) -> None:
    name = "mcp-busy"
    mcp_server.ok("manage_stack", {"action": "create", "name": name})
    start_example("on_hold.py", "on_hold", job="busy stack", stack=name)

    def waiting_on_stack() -> str | None:
        found = mcp_server.ok("kitaru_executions_list", {"status": "waiting", "flow": "on_hold"})
        return next((e["exec_id"] for e in found["executions"] if e["stack"] == name), None)

    exec_id = wait_until(waiting_on_stack, timeout=180)
    refused = mcp_server.error("manage_stack", {"action": "delete", "name": name})
    assert refused["code"] == "conflict"
    assert refused["field"] == "force"
    assert "unfinished" in refused["message"] and exec_id in refused["message"]
    deleted = mcp_server.ok("manage_stack", {"action": "delete", "name": name, "force": True})
    assert deleted["active_stack"] == "default"
    assert name not in _stack_names(mcp_server)
    # the execution that ran on it stays readable
    assert mcp_server.ok("kitaru_executions_get", {"exec_id": exec_id})["exec_id"] == exec_id


def test_manage_stack_rejects_misplaced_options(mcp_server: StdioClient) -> None:
    default = mcp_server.error(
        "manage_stack", {"action": "delete", "name": "default", "force": True}
    )
    assert default["code"] == "conflict" and "default" in default["message"]
    misplaced = mcp_server.error(
        "manage_stack", {"action": "delete", "name": "x", "activate": True}
    )
    assert (misplaced["code"], misplaced["field"]) == ("invalid_argument", "activate")
    misplaced = mcp_server.error("manage_stack", {"action": "create", "name": "x", "force": True})
    assert (misplaced["code"], misplaced["field"]) == ("invalid_argument", "force")
    bad = mcp_server.error("manage_stack", {"action": "rename", "name": "x"})
    assert (bad["code"], bad["field"]) == ("invalid_argument", "action")
    tool = next(t for t in mcp_server.list_tools() if t.name == "manage_stack")
    assert tool.annotations.destructive_hint is True
    assert "activate" in tool.input_schema["properties"]
    assert tool.input_schema["properties"]["activate"]["default"] is False


@pytest.mark.skipif(
    not HAS_LOCAL_EXTRA, reason='needs the [local] extra: pip install -e ".[test,local]"'
)
def test_local_server_start_reuse_stop(mcp_server: StdioClient, seeded) -> None:
    port = _free_port()
    nothing = mcp_server.ok("kitaru_stop_local_server")
    assert nothing["stopped"] is False and nothing["url"] is None
    assert "nothing to stop" in nothing["message"]
    try:
        started = mcp_server.ok("kitaru_start_local_server", {"port": port, "timeout_s": 120})
        url = started["url"]
        assert url == f"http://127.0.0.1:{port}"
        assert (started["action"], started["already_running"]) == ("started", False)

        status = mcp_server.ok("kitaru_status")
        assert status["connection"]["kind"] == "local_server"
        assert status["connection"]["url"] == url
        assert status["connection"]["reachable"] is True
        assert (status["local_server_running"], status["local_server_url"]) == (True, url)
        # the same executions, now read over the server's REST API
        listed = mcp_server.ok("kitaru_executions_list", {"limit": 50})
        assert seeded["completed"] in {e["exec_id"] for e in listed["executions"]}

        again = mcp_server.ok("kitaru_start_local_server")
        assert (again["url"], again["already_running"], again["action"]) == (url, True, "connected")
        assert url in again["message"]
        other = mcp_server.error("kitaru_start_local_server", {"port": _free_port()})
        assert other["code"] == "conflict" and url in other["message"]
    finally:
        stopped = mcp_server.ok("kitaru_stop_local_server")
    assert (stopped["stopped"], stopped["url"]) == (True, url)

    status = mcp_server.ok("kitaru_status")
    assert status["connection"]["kind"] == "local_store"
    assert status["local_server_running"] is False
    listed = mcp_server.ok("kitaru_executions_list", {"limit": 50})
    assert seeded["completed"] in {e["exec_id"] for e in listed["executions"]}
    assert mcp_server.ok("kitaru_stop_local_server")["stopped"] is False


def test_start_without_the_local_extra_says_how_to_install(tmp_path) -> None:
    """ZenML's server packages hidden from a second server: a clear unsupported error."""
    blocked = tmp_path / "blocked" / "fastapi"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("fastapi hidden by the test")\n')
    with StdioClient(env={"PYTHONPATH": str(blocked.parent)}, cwd=ROOT) as client:
        error = client.error("kitaru_start_local_server", {"port": _free_port()})
        assert client.ok("kitaru_status")["local_server_running"] is False
    assert error["code"] == "unsupported"
    assert 'pip install "kitaru-mcp[local]"' in error["hint"]
    assert "ZenML server packages" in error["message"]


def test_a_connection_change_made_by_the_cli_is_picked_up(mcp_server: StdioClient) -> None:
    """The CLI (another process) switches the active stack: the running server follows."""
    name = "mcp-from-cli"
    mcp_server.ok("manage_stack", {"action": "create", "name": name})
    kitaru_cli = [str(Path(sys.executable).parent / "kitaru")]
    try:
        subprocess.run([*kitaru_cli, "stack", "use", name], check=True, capture_output=True)
        assert mcp_server.ok("kitaru_status")["stack"] == name
        assert mcp_server.ok("kitaru_stacks_list")["active"] == name
    finally:
        subprocess.run([*kitaru_cli, "stack", "use", "default"], check=True, capture_output=True)
    assert mcp_server.ok("kitaru_status")["stack"] == "default"
    mcp_server.ok("manage_stack", {"action": "delete", "name": name})
