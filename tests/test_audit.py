"""The audit log of real servers: a session of calls (ok, error, refused, a run and its
cancel), secrets never written, a bad token over HTTP, two processes on one file, and a
path that cannot be written."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, fresh_home, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError
from mcp_client import StdioClient

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]

UNKNOWN_ID = "0123456789abcdef0123"


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the log and its rotated files, oldest file first; each must be JSON."""
    files = sorted(
        (p for p in path.parent.glob(path.name + "*") if p.suffix not in {".lock", ".key"}),
        key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
    )
    return [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines()]


def last(path: Path) -> dict[str, Any]:
    return lines(path)[-1]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StdioClient, Path]]:
    """A server (destructive, execution tools only) writing its audit log."""
    tmp = tmp_path_factory.mktemp("audited")
    log = tmp / "audit" / "audit.log"
    command = [
        sys.executable,
        "-m",
        "kitaru_mcp",
        "--mode",
        "destructive",
        "--toolsets",
        "execution",
        "--audit-log",
        str(log),
    ]
    client = StdioClient(command, env=fresh_home(tmp, "home"), cwd=ROOT)
    client.start(errlog_path=tmp / "stderr.log")
    yield client, log
    client.close()


def test_a_session_of_calls(audited: tuple[StdioClient, Path]) -> None:
    client, log = audited
    assert stat.S_IMODE(log.stat().st_mode) == 0o600

    client.ok("kitaru_executions_list", {"limit": 1})
    line = last(log)
    assert line["method"] == "tools/call" and line["tool"] == "kitaru_executions_list"
    assert line["outcome"] == "ok" and "refused" not in line
    assert line["caller"] == "local" and line["transport"] == "stdio"
    assert line["protocol"] == "2025-11-25"
    assert set(line["arguments"]) == {"limit"} and line["duration_ms"] > 0

    error = client.error("kitaru_executions_get", {"exec_id": UNKNOWN_ID})
    assert error["code"] == "not_found"
    line = last(log)
    assert line["outcome"] == "not_found" and line["exec_ids"] == [UNKNOWN_ID]

    client.error("kitaru_executions_list", {"limit": "many", "api_token": "sk-live-4f9a0c77"})
    line = last(log)
    assert line["outcome"] == "invalid_argument" and line["refused"] == "arguments"
    assert line["unknown_arguments"] == 1

    with pytest.raises(MCPError):  # not served: --toolsets execution
        client.call("kitaru_secrets_create", {"name": "db", "values": {"PASSWORD": "hunter2-x9"}})
    line = last(log)
    assert line["tool"] == "kitaru_secrets_create" and line["refused"] == "mode"
    assert line["outcome"] == "invalid_params"
    assert set(line["arguments"]) == {"name", "values"}

    with pytest.raises(MCPError):
        client.call("no_such_tool_ghp_secret", {})
    line = last(log)
    assert line["tool"] == "(unknown)" and line["refused"] == "unknown"

    started = client.ok(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "args": {"name": "audit-7f3a", "delay": 60}},
    )
    exec_id = started["execution"]["exec_id"]
    line = last(log)
    assert line["tool"] == "kitaru_executions_run" and line["outcome"] == "ok"
    assert line["exec_ids"] == [exec_id]
    assert set(line["arguments"]) == {"target", "args"}

    client.ok("kitaru_executions_cancel", {"exec_id": exec_id})
    line = last(log)
    assert line["tool"] == "kitaru_executions_cancel" and line["outcome"] == "ok"
    assert line["exec_ids"] == [exec_id]

    client.request("read_resource", f"kitaru://executions/{exec_id}")
    line = last(log)
    assert line["method"] == "resources/read" and line["tool"] == "kitaru_executions_get"
    assert line["resource"] == f"kitaru://executions/{exec_id}" and line["exec_ids"] == [exec_id]

    client.request("get_prompt", "debug_failed_execution", {"exec_id": exec_id})
    line = last(log)
    assert line["method"] == "prompts/get" and line["prompt"] == "debug_failed_execution"
    assert line["exec_ids"] == [exec_id]

    text = log.read_text()
    for value in ("sk-live-4f9a0c77", "hunter2-x9", "audit-7f3a", "ghp_secret", "many"):
        assert value not in text
    who = [(x.get("tool"), x["outcome"]) for x in lines(log) if exec_id in x.get("exec_ids", [])]
    assert ("kitaru_executions_cancel", "ok") in who  # "who cancelled this execution?"


SECRETISH = st.from_regex(r"(sk|ghp|AKIA|xoxb)[-_][A-Za-z0-9]{12,24}", fullmatch=True)
KEYS = st.from_regex(r"[a-z]{0,4}_?(token|secret|password|api_key|auth)[a-z_]{0,4}", fullmatch=True)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(key=KEYS, secret=SECRETISH, other=SECRETISH, nested=SECRETISH)
def test_fuzzed_secrets_never_reach_the_log(
    audited: tuple[StdioClient, Path], key: str, secret: str, other: str, nested: str
) -> None:
    client, log = audited
    client.error("kitaru_executions_list", {key: secret, "limit": other})  # refused
    client.call(
        "kitaru_executions_input",
        {"exec_id": UNKNOWN_ID, "wait": other, "value": {key: nested, "list": [secret]}},
    )
    text = log.read_text()
    for value in (secret, other, nested):
        assert value not in text
    assert last(log)["tool"] == "kitaru_executions_input"


TOKEN = "audit-test-token-2b7e9c41d05a6f38"


def serve_http(tmp_path: Path, *extra: str, env: dict[str, str]) -> tuple[Any, str, Any]:
    """``kitaru-mcp --transport http`` on a free loopback port: (process, url, its output)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = open(tmp_path / "http.log", "w+")  # noqa: SIM115
    command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *extra],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )

    def listening() -> bool:
        if process.poll() is not None:
            out.seek(0)
            raise AssertionError(f"the HTTP server exited ({process.returncode}):\n{out.read()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=60, interval=0.1)
    return process, f"http://127.0.0.1:{port}/mcp", out


def raw_post(url: str, body: dict[str, Any], **headers: str) -> Any:
    import httpx2

    accept = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    with httpx2.Client(timeout=30) as http:
        return http.post(url, content=json.dumps(body), headers={**accept, **headers})


def with_session(url: str, token: str, work: Any) -> Any:
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def main() -> Any:
        async with (
            create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return anyio.run(main)


def test_bad_token_and_the_static_token_over_http(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    env = {**fresh_home(tmp_path, "home"), "KITARU_MCP_TOKEN": TOKEN}
    process, url, out = serve_http(tmp_path, "--audit-log", str(log), env=env)
    try:
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "x"}}
        headers = {"Authorization": "Bearer wrong-but-long-token-1234", "Mcp-Method": "tools/call"}
        assert raw_post(url, body, **headers).status_code == 401
        refused = last(log)
        assert refused["refused"] == "token" and refused["outcome"] == "unauthorized"
        assert refused["caller"] == "anonymous" and refused["method"] == "tools/call"
        assert refused["transport"] == "http"

        async def work(session: Any) -> Any:
            return await session.call_tool("kitaru_executions_get", {"exec_id": UNKNOWN_ID})

        assert with_session(url, TOKEN, work).is_error
        line = last(log)
        assert line["caller"] == "token" and line["transport"] == "http"
        assert line["tool"] == "kitaru_executions_get" and line["outcome"] == "not_found"
        assert "wrong-but-long" not in log.read_text() and TOKEN not in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
        out.close()


def test_two_processes_write_one_log(tmp_path: Path) -> None:
    log = tmp_path / "shared" / "audit.log"
    env = {"KITARU_MCP_AUDIT_MAX_BYTES": "16000", "KITARU_MCP_AUDIT_BACKUPS": "200"}
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "read-only", "--audit-log", str(log)]
    clients = [
        StdioClient(command, env={**fresh_home(tmp_path, f"home{n}"), **env}, cwd=ROOT).start(
            errlog_path=tmp_path / f"stderr{n}.log"
        )
        for n in range(2)
    ]
    per_thread, threads_per_client = 40, 4
    try:

        def hammer(client: StdioClient, n: int) -> None:
            for i in range(per_thread):
                if i % 2:
                    client.request("get_prompt", "debug_failed_execution", {"exec_id": f"{i:016x}"})
                else:
                    client.call("kitaru_executions_list", {"limit": f"bad-{n}-{i}"})

        threads = [
            threading.Thread(target=hammer, args=(client, n))
            for client in clients
            for n in range(threads_per_client)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients:
            client.close()
    expected = 2 * threads_per_client * per_thread
    written = wait_until(lambda: (found := lines(log)) and len(found) >= expected and found)
    assert len(written) == expected  # every line whole JSON (lines() parses each)
    assert len({line["pid"] for line in written}) == 2
    assert len(list(log.parent.glob("audit.log.*[0-9]"))) >= 2  # it rotated, under the lock
    for path in log.parent.glob("audit.log*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_unwritable_audit_log_refuses_to_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", "--audit-log", str(blocker / "audit.log")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **fresh_home(tmp_path, "home")},
    )
    assert done.returncode == 2, done.stderr
    assert "cannot write the audit log" in done.stderr
    assert str(blocker / "audit.log") in done.stderr
    assert done.stdout == ""
