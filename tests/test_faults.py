"""Faults and hostile input: parallel first calls on a new store, huge and malformed
requests, signals. Every server here has its own fresh HOME; all traffic is stdio
or loopback, every loop bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, fresh_home
from mcp_client import StdioClient
from raw_wire import RawStdio
from test_stdout import PROTOCOL, spawn

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]

SERVER = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
FLOW = "examples/two_steps.py:two_steps"


def test_a_huge_value_is_refused_at_once_and_pings_still_answer(tmp_path: Path) -> None:
    env = fresh_home(tmp_path, "home")
    with StdioClient(SERVER, env=env, cwd=ROOT) as client:
        huge = "0" * 5_000_000

        async def both() -> tuple[Any, float, float]:
            started = time.perf_counter()
            call = asyncio.ensure_future(
                client.session.call_tool("kitaru_executions_get", {"exec_id": huge})
            )
            await asyncio.sleep(0.05)
            ping_started = time.perf_counter()
            await client.session.send_ping()
            ping_s = time.perf_counter() - ping_started
            result = await call
            return result, time.perf_counter() - started, ping_s

        result, call_s, ping_s = client._run(both())
    error = json.loads(result.content[0].text)
    assert result.is_error and error["code"] == "invalid_argument" and error["field"] == "exec_id"
    assert "5000000 characters" in error["message"] and len(error["message"]) < 1000
    # Loose bounds for a loaded 2-core machine; before, this took minutes and stalled pings.
    assert call_s < 5.0 and ping_s < 2.0, (call_s, ping_s)


def test_malformed_and_over_deep_requests_get_an_answer(tmp_path: Path) -> None:
    server = spawn(subprocess.DEVNULL)
    try:
        _initialized(server)
        raw = server.process.stdin
        deep = '{"a":' * 1000 + "1" + "}" * 1000
        raw.write(
            b'{"jsonrpc":"2.0","id":71,"method":"tools/call","params":{"name":'
            b'"kitaru_executions_list","arguments":{"flow":' + deep.encode() + b"}}}\n"
        )
        raw.write(b'{"jsonrpc":"2.0","id":72,"method":"tools/call","params":{"arguments":{,}}\n')
        raw.flush()
        medium = {"flow": json.loads('{"a":' * 40 + "1" + "}" * 40)}
        answer = server.request(
            "tools/call", {"name": "kitaru_executions_list", "arguments": medium}
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            by_id = {m.get("id"): m for m in server.messages}
            parse_errors = [m for m in server.messages if m.get("error", {}).get("code") == -32700]
            if 71 in by_id and parse_errors:
                break
            time.sleep(0.05)
        assert by_id[71]["error"]["code"] == -32600
        assert parse_errors and parse_errors[0]["id"] is None
        error = json.loads(answer["result"]["content"][0]["text"])
        assert answer["result"]["isError"] and error["code"] == "invalid_argument"
        assert "32 levels" in error["message"]
        assert server.request("ping", {})["result"] == {}
    finally:
        server.close()


def _started_server(env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*SERVER, *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _initialized(server: RawStdio) -> None:
    params = {
        "protocolVersion": PROTOCOL,
        "capabilities": {},
        "clientInfo": {"name": "faults", "version": "1"},
    }
    assert server.request("initialize", params)["result"]["serverInfo"]["name"] == "kitaru-mcp"
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


def test_sigterm_answers_the_call_in_flight_and_exits_zero() -> None:
    server = spawn(subprocess.DEVNULL)
    try:
        _initialized(server)
        started = server.call(
            "kitaru_executions_run", {"target": "examples/approval.py:approval", "args": {}}
        )
        exec_id = started["structuredContent"]["execution"]["exec_id"]
        arguments = {"exec_id": exec_id, "until": "finished", "timeout_s": 60}
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 900,
                "method": "tools/call",
                "params": {"name": "kitaru_executions_wait", "arguments": arguments},
            }
        )
        time.sleep(1.5)
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(timeout=10)
        exited_s = time.monotonic() - sent
        time.sleep(0.2)
        answer = next(m for m in server.messages if m.get("id") == 900)
    finally:
        server.close()
    error = json.loads(answer["result"]["content"][0]["text"])
    assert answer["result"]["isError"] and error["code"] == "backend_unavailable"
    assert error["retryable"] is True and "shutting down" in error["message"]
    assert exit_code == 0 and exited_s < 5.0, (exit_code, exited_s)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigterm_stops_the_http_server_cleanly(tmp_path: Path) -> None:
    env = fresh_home(tmp_path, "home")
    port = _free_port()
    process = _started_server(env, "--transport", "http", "--port", str(port))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        assert code == 0 and time.monotonic() - sent < 5.0
    finally:
        if process.poll() is None:
            process.kill()
