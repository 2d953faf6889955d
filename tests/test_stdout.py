"""Stdout hygiene: over stdio, the server's stdout carries JSON-RPC and nothing else.

The server is spawned here by hand and spoken to in raw JSON-RPC lines, so every
byte it writes to stdout is captured, including anything Kitaru, ZenML or a flow
might print. The session calls every example of every read tool, runs a flow
and follows it to its end.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from conftest import ROOT
from contract_cases import CONTRACT, substitute

pytestmark = pytest.mark.server

PROTOCOL = "2025-11-25"


class RawServer:
    """``python -m kitaru_mcp`` with its stdout read byte for byte in a thread."""

    def __init__(self, stderr) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        self.raw = bytearray()
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in iter(self.process.stdout.readline, b""):
            with self._lock:
                self.raw += line
                with contextlib.suppress(ValueError):  # judged later, from the raw bytes
                    self.messages.append(json.loads(line))

    def send(self, message: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any], timeout: float = 240) -> dict:
        self._next_id += 1
        ident = self._next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if message.get("id") == ident and "method" not in message:
                        return message
            time.sleep(0.02)
        raise AssertionError(f"no answer to {method} {params} within {timeout} s")

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        response = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert "result" in response, response
        return response["result"]

    def close(self) -> bytes:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        return bytes(self.raw)


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
    server = RawServer(stderr)
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
