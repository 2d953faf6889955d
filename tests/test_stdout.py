"""Stdout hygiene: over stdio, the server's stdout carries JSON-RPC and nothing else.

The server is spawned here by hand and spoken to in raw JSON-RPC lines, so every
byte it writes to stdout is captured, including anything Kitaru, ZenML or a flow
might print. The session calls every example of every read tool, runs a flow
and follows it to its end.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from conftest import ROOT
from contract_cases import CONTRACT, substitute
from raw_wire import RawStdio

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]

PROTOCOL = "2025-11-25"


def spawn(stderr: Any) -> RawStdio:
    """``python -m kitaru_mcp`` with every byte of its stdout kept."""
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    return RawStdio(command, cwd=ROOT, stderr=stderr)


def _read_calls(ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    calls = []
    for tool in CONTRACT["tools"]:
        if not tool["annotations"]["readOnlyHint"]:
            continue
        for example in tool["examples"]:
            calls.append((tool["name"], substitute(example, ids)))
    return calls


def _is_jsonrpc(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return False
    if "method" in message:
        return isinstance(message["method"], str)
    return "id" in message and (("result" in message) ^ ("error" in message))


def test_stdout_carries_only_jsonrpc(example_ids: dict[str, str], tmp_path) -> None:
    stderr = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115
    server = spawn(stderr)
    try:
        init = server.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "stdout-hygiene", "version": "1"},
            },
        )
        assert init["result"]["serverInfo"]["name"] == "kitaru-mcp"
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert server.request("tools/list", {})["result"]["tools"]

        calls = _read_calls(example_ids)
        for tool, arguments in calls:  # some fail on the local store (deployments): fine
            assert server.call(tool, arguments)["content"], (tool, arguments)

        started = server.call(
            "kitaru_executions_run",
            {"target": "examples/two_steps.py:two_steps", "args": {"name": "Hygiene"}},
        )
        assert not started.get("isError"), started
        exec_id = started["structuredContent"]["execution"]["exec_id"]
        waited = server.call("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 180})
        assert waited["structuredContent"]["execution"]["status"] == "completed", waited
        got = server.call("kitaru_executions_get", {"exec_id": exec_id})
        assert got["structuredContent"]["status"] == "completed"
        logs = server.call("get_execution_logs", {"exec_id": exec_id, "source": "all"})
        assert any("greeting Hygiene" in e["message"] for e in logs["structuredContent"]["entries"])
        bad = server.call("kitaru_executions_list", {"limit": "ten"})
        assert bad["isError"] is True
    finally:
        raw = server.close()
        stderr.close()

    assert raw.endswith(b"\n"), "every message ends its line"
    lines = raw.split(b"\n")[:-1]
    assert len(lines) >= len(calls) + 6
    for number, line in enumerate(lines, 1):
        try:
            message = json.loads(line)
        except ValueError:
            raise AssertionError(f"stdout line {number} is not JSON: {line[:300]!r}") from None
        assert _is_jsonrpc(message), f"stdout line {number} is not JSON-RPC: {line[:300]!r}"
    print(
        f"\nstdout hygiene: {len(lines)} stdout lines, all JSON-RPC, over {len(calls)} read calls"
    )
