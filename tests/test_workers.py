"""``--workers N``: N server processes behind one socket, stateless HTTP, both revisions.

Which worker answers is the kernel's choice; every request here opens its own
connection (``Connection: close``), and the audit log's ``pid`` says who answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp
import psutil
import pytest
from conftest import ROOT, home_env, wait_until
from http_server import HttpServer, free_port
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_client import ERAS, LEGACY, MODERN
from raw_wire import modern_headers

pytestmark = [pytest.mark.server, pytest.mark.warm_runner]

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "keep-alive-test", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
CALLS_AT_MOST = 40  # per revision, until both workers answered some


def _answering_pids(audit: Path) -> list[int]:
    if not audit.exists():
        return []
    lines = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    return [line["pid"] for line in lines if line.get("method") == "tools/call"]


async def _session_of_calls(url: str, era: str, audit: Path) -> dict[str, Any]:
    """One client session whose every request is a new connection: calls until both
    workers answered (or ``CALLS_AT_MOST``); what each call answered, and by whom."""
    before = len(_answering_pids(audit))
    answered: list[bool] = []
    async with create_mcp_http_client(headers={"connection": "close"}) as http:
        transport = streamable_http_client(url, http_client=http)
        mode = "auto" if era == MODERN else "legacy"
        async with mcp.Client(transport, mode=mode) as client:
            version = client.protocol_version
            tools = len((await client.list_tools()).tools)
            for index in range(CALLS_AT_MOST):
                name = "kitaru_executions_list" if index % 2 else "kitaru_status"
                result = await client.call_tool(name, {"limit": 5} if index % 2 else {})
                answered.append(not result.is_error)
                if len(set(_answering_pids(audit)[before:])) >= 2 and index >= 5:
                    break
    return {
        "version": version,
        "tools": tools,
        "answered": answered,
        "pids": _answering_pids(audit)[before:],
    }


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("workers")
    audit = tmp / "audit.log"
    server = HttpServer(tmp, "--workers", "2", "--audit-log", str(audit)).wait_listening()
    yield server, audit
    server.stop()
    assert server.process.returncode == 0, server.stderr
    assert server.stdout == b"", "over HTTP stdout stays empty"


@pytest.mark.parametrize("era", ERAS)
def test_a_session_alternating_two_workers_is_answered_on_both_revisions(two_workers, era):
    server, audit = two_workers
    got = anyio.run(_session_of_calls, server.url, era, audit)
    assert got["version"] == era
    assert got["tools"] > 30
    assert all(got["answered"]), "every call answered, whichever worker took it"
    assert len(got["answered"]) == len(got["pids"]), "each call audited once"
    assert len(set(got["pids"])) == 2, f"both workers answered: {got['pids']}"
    assert "2 workers, stateless" in server.stderr
    assert "Session not found" not in server.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads on Linux")
def test_keep_alive_connections_opened_at_once_reach_both_workers(two_workers) -> None:
    """A burst of keep-alive clients (an assistant's parallel calls, a team's sessions) is
    spread over the workers: on one shared socket the first to wake took all 20."""
    server, audit = two_workers
    port = server.port

    def listeners() -> int:
        found = psutil.net_connections(kind="tcp")
        return sum(1 for c in found if c.status == psutil.CONN_LISTEN and c.laddr.port == port)

    with contextlib.suppress(AssertionError):  # both workers listen (one socket if shared)
        wait_until(lambda: listeners() >= 2, timeout=30, interval=0.2)
    before = len(_answering_pids(audit))
    body = {"name": "kitaru_status", "arguments": {}, "_meta": MODERN_META}
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": body}

    async def twenty_connections() -> list[int]:
        clients = [httpx2.AsyncClient(timeout=60) for _ in range(20)]
        try:
            headers = modern_headers("tools/call", "kitaru_status")
            answers = await asyncio.gather(
                *(c.post(server.url, json=message, headers=headers) for c in clients)
            )
            return [a.status_code for a in answers]
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    assert asyncio.run(twenty_connections()) == [200] * 20
    pids = _answering_pids(audit)[before:]
    assert len(pids) == 20 and len(set(pids)) == 2, f"answered by {sorted(set(pids))}: {pids}"


def test_a_legacy_request_needs_no_session_id(two_workers) -> None:
    """Stateless: no Mcp-Session-Id is handed out, and a request without one is served."""
    server, _ = two_workers
    opened = server.post(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": LEGACY,
                "capabilities": {"elicitation": {}},
                "clientInfo": {"name": "raw-test", "version": "1"},
            },
        }
    )
    assert opened.status_code == 200, opened.text
    assert "mcp-session-id" not in opened.headers
    listed = server.post(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        **{"mcp-protocol-version": LEGACY},
    )
    assert listed.status_code == 200, listed.text


def _kitaru_mcp(home: Path, *flags: str, timeout: float = 60) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_MCP_")}
    return subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", *flags],
        cwd=ROOT,
        env={**clean, **home_env(home)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--workers", "2"), "--workers needs --transport http"),
        (("--transport", "http", "--workers", "0"), "--workers 0: at least 1"),
        (("--transport", "http", "--workers", "two"), "--workers 'two'"),
        (("--stateless",), "--stateless needs --transport http"),
    ],
)
def test_unusable_workers_exit_2_with_a_clear_message(tmp_path: Path, flags, says) -> None:
    done = _kitaru_mcp(tmp_path, *flags)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_short_request_state_key_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_MCP_")}
    flags = ["--transport", "http", "--workers", "2", "--port", str(free_port())]
    done = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", *flags],
        cwd=ROOT,
        env={**clean, **home_env(tmp_path), "KITARU_MCP_REQUEST_STATE_KEY": "short"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "KITARU_MCP_REQUEST_STATE_KEY is too short" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_busy_port_exits_1_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        for workers in ("1", "2"):
            done = _kitaru_mcp(
                tmp_path, "--transport", "http", "--port", port, "--workers", workers
            )
            assert done.returncode == 1, done.stderr
            assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
            assert "Traceback" not in done.stderr


def test_more_workers_than_cores_are_served_with_a_warning(tmp_path: Path) -> None:
    count = (os.cpu_count() or 1) + 1
    server = HttpServer(tmp_path, "--read-only", "--workers", str(count)).wait_listening()
    try:
        warned = wait_until(lambda: "warning: --workers" in server.stderr, timeout=30, interval=0.1)
        assert warned
        assert f"more than this machine's {os.cpu_count()} cores" in server.stderr
        listed = server.post(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            **{"mcp-protocol-version": LEGACY},
        )
        assert listed.status_code == 200, listed.text
    finally:
        server.stop()
    assert server.process.returncode == 0, server.stderr
