"""Secret safety over the whole contract: a server whose environment holds secret-looking
values (and a URL with credentials) is called with EVERY example of EVERY tool, plus a
few calls that echo secrets back; no value may appear in a result, an error, the tool
list or the server's stderr log.

The server runs in its own HOME (its own store), seeded through its own tools, so
mutating examples (input, abort_wait, retry, replay, local server...) change nothing
the other tests rely on. (tests/test_connection.py keeps a quick subset on the
session store.)
"""

from __future__ import annotations

import copy
import json
import socket
import sys

import pytest
from conftest import ROOT, home_env, wait_until
from contract_cases import CONTRACT, substitute
from mcp_client import StdioClient

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]

URL_PASSWORD = "url-pa55-w0rd-91c3"
SECRETS = {
    "KITARU_MCP_SAFETY_TOKEN": "tok-7d1f0c2b9e8a6d5c4b3a",
    "MY_SERVICE_SECRET": "sec-1a2b3c4d5e6f7a8b9c0d",
    "KITARU_DB_PASSWORD": "pw-Zq8Xv7Wu6Ts5Rr4Qp3",
    "KITARU_MCP_SIGNING_KEY": "key-f0e1d2c3b4a5968778",
    "KITARU_KEYRING_BLOB": "kr-9a8b7c6d5e4f3a2b1c0d",
    "OPENAI_API_KEY": "sk-live-0123456789abcdefABCDEF",
    "KITARU_MCP_TOKEN": "mcp-http-token-5e4d3c2b1a09",
}
URL_WITH_CREDENTIALS = f"https://backup-user:{URL_PASSWORD}@127.0.0.1:9/store"
ARGUMENT_SECRET = "sk-argument-only-7f6e5d4c3b2a"  # only ever sent as a secret's value
VALUES = [*SECRETS.values(), URL_PASSWORD, ARGUMENT_SECRET]
# The execution each mutating example acts on, so that it does its work (not just a conflict).
ON_STATUS = {
    "kitaru_executions_abort_wait": "waiting",
    "kitaru_executions_ask_user": "waiting",
    "kitaru_executions_input": "waiting",
    "kitaru_executions_retry": "failed",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(client: StdioClient, exec_id: str, statuses: set[str]) -> None:
    def reached() -> bool:
        return client.ok("kitaru_executions_get", {"exec_id": exec_id})["status"] in statuses

    wait_until(reached, timeout=180)


def _seed(client: StdioClient) -> dict[str, str]:
    """A completed, a failed and a waiting execution in the server's own store."""

    def run(target: str, **args) -> str:
        started = client.ok("kitaru_executions_run", {"target": target, "args": args})
        return started["execution"]["exec_id"]

    completed = run("examples/two_steps.py:two_steps", name="safety")
    failed = run("tests/flows/failing_two_steps.py:two_steps", name="safety")
    waiting = run("examples/approval.py:approval", topic="safety")
    _status(client, completed, {"completed"})
    _status(client, failed, {"failed"})
    _status(client, waiting, {"waiting"})
    artifacts = client.ok("kitaru_executions_get", {"exec_id": completed})["artifacts"]
    return {
        "completed": completed,
        "failed": failed,
        "waiting": waiting,
        "artifact_id": artifacts[0]["artifact_id"],
        "other_exec_id": failed,
    }


def _plan(ids: dict[str, str]) -> list[tuple[str, dict]]:
    """Every example of every tool (real ids), then calls that try to echo secrets back."""
    calls = []
    for tool in CONTRACT["tools"]:
        for example in tool["examples"]:
            if tool["name"] in ON_STATUS:  # their results nest the execution: say which one
                example = {**example, "result": {"status": ON_STATUS[tool["name"]]}}
            arguments = substitute(example, ids)
            if tool["name"] == "kitaru_start_local_server":
                arguments = {"port": _free_port(), "timeout_s": 120}
            if tool["name"] == "kitaru_secrets_create":
                arguments = copy.deepcopy(arguments)
                arguments["values"] = {"OPENAI_API_KEY": ARGUMENT_SECRET}
            calls.append((tool["name"], arguments))
    echo = [
        ("kitaru_executions_latest", {"flow": SECRETS["KITARU_MCP_SAFETY_TOKEN"]}),
        ("kitaru_executions_latest", {"flow": URL_WITH_CREDENTIALS}),
        ("kitaru_executions_run", {"target": f"{URL_WITH_CREDENTIALS}.py:flow"}),
        ("kitaru_projects_show", {"name_or_id": SECRETS["MY_SERVICE_SECRET"]}),
        ("manage_stack", {"action": "delete", "name": SECRETS["KITARU_DB_PASSWORD"]}),
        ("kitaru_secrets_create", {"name": "safety", "values": {"K": ARGUMENT_SECRET}}),
        ("kitaru_secrets_create", {"name": "bad name!", "values": {"K": ARGUMENT_SECRET}}),
        ("kitaru_secrets_create", {"name": "safety-2", "values": {"bad key": ARGUMENT_SECRET}}),
        ("kitaru_secrets_create", {"name": "safety-3", "values": {"K": 12345}}),
        ("kitaru_info", {}),
        ("kitaru_status", {}),
    ]
    return calls + echo


@pytest.mark.timeout(600)
def test_no_secret_reaches_any_result_error_or_log(tmp_path) -> None:
    log = tmp_path / "server-stderr.log"
    env = {**home_env(tmp_path / "home"), **SECRETS, "KITARU_MCP_BACKUP_URL": URL_WITH_CREDENTIALS}
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive", "--log-level", "INFO"]
    seen: list[str] = []
    outcomes: dict[str, set[str]] = {}
    client = StdioClient(command, env=env, cwd=ROOT).start(errlog_path=log)
    try:
        seen.append(json.dumps([tool.model_dump(mode="json") for tool in client.list_tools()]))
        ids = _seed(client)
        plan = _plan(ids)
        for name, arguments in plan:
            result = client.call(name, arguments)
            text = result.content[0].text
            seen += [text, json.dumps(result.structured_content)]
            outcome = json.loads(text).get("code", "error") if result.is_error else "ok"
            outcomes.setdefault(name, set()).add(outcome)
            assert "Traceback" not in text, (name, text)
    finally:
        client.close()
    print(f"\nsecret safety: {len(plan)} calls over {len(outcomes)} tools")
    assert set(outcomes) == {tool["name"] for tool in CONTRACT["tools"]}, "every tool was called"
    assert len(plan) >= len(CONTRACT["tools"]) + 10
    assert "ok" in outcomes["kitaru_secrets_create"], outcomes["kitaru_secrets_create"]
    assert "ok" in outcomes["kitaru_info"]

    results = "\n".join(seen)
    stderr = log.read_text(errors="replace")
    assert "***" in results, "echoed secrets are masked, not dropped silently"
    assert stderr.strip(), "the server logged something to scan"
    for value in VALUES:
        assert value not in results, f"a secret value reached a client: {value[:6]}…"
        assert value not in stderr, f"a secret value reached the server log: {value[:6]}…"
