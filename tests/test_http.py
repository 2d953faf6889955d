"""Streamable HTTP transport: a real ``kitaru-mcp --transport http`` process on a free
loopback port, driven by the official MCP client's streamable HTTP transport."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import mcp
import mcp.types as types
import pytest
from conftest import ROOT
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_client import ERAS, MODERN, StdioClient

from kitaru_mcp.core.hosts import is_loopback
from kitaru_mcp.surface.http_transport import HttpConfigError, HttpOptions, OriginGuard

pytestmark = pytest.mark.server

TOKEN = "http-test-token-6f1c0d9a7e2b4c58"
ALLOWED_ORIGIN = "https://dashboard.kitaru.test"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-http-test", "version": "1"},
    },
}
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(process: subprocess.Popen, port: int, log, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"the HTTP server exited ({process.returncode}):\n{log.read()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the HTTP server did not listen on {port} within {timeout} s")


def serve_http(tmp_path, *extra: str, env: dict[str, str] | None = None):
    """Start ``kitaru-mcp --transport http`` on a free loopback port; (process, url, log)."""
    port = free_port()
    log = open(tmp_path / f"http-{port}.log", "w+")  # noqa: SIM115
    command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *extra],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    _wait_for_port(process, port, log)
    return process, f"http://127.0.0.1:{port}/mcp", log


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("http")
    flags = ["--mode", "destructive", "--allow-origin", ALLOWED_ORIGIN]
    process, url, log = serve_http(tmp, *flags, env={"KITARU_MCP_TOKEN": TOKEN})
    yield {"process": process, "url": url, "log": log}
    _stop(process)
    log.close()


def with_session(url: str, token: str | None, work) -> Any:
    """Open an official-client session over streamable HTTP and run ``work(session)``."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return anyio.run(main)


def raw_post(url: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    with httpx2.Client(timeout=30) as http:
        return http.post(url, content=json.dumps(body), headers={**JSON_HEADERS, **headers})


def test_tools_over_http_match_stdio(http_server, mcp_server: StdioClient) -> None:
    async def work(session: ClientSession) -> dict[str, Any]:
        tools = (await session.list_tools()).tools
        listed = await session.call_tool("kitaru_executions_list", {"limit": 1})
        status = await session.call_tool("kitaru_status", {})
        bad = await session.call_tool("kitaru_executions_list", {"limit": "ten"})
        return {"tools": tools, "listed": listed, "status": status, "bad": bad}

    got = with_session(http_server["url"], TOKEN, work)
    over_stdio = {tool.name: tool.model_dump(mode="json") for tool in mcp_server.list_tools()}
    over_http = {tool.name: tool.model_dump(mode="json") for tool in got["tools"]}
    assert over_http == over_stdio, "the same tools, schemas and annotations on both transports"

    listed = got["listed"]
    assert not listed.is_error, listed.content[0].text
    assert listed.structured_content["count"] <= 1
    assert json.loads(listed.content[0].text) == listed.structured_content
    assert got["status"].structured_content["connection"]["kind"] == "local_store"

    bad = got["bad"]
    assert bad.is_error
    error = json.loads(bad.content[0].text)
    assert (error["code"], error["field"]) == ("invalid_argument", "limit")
    assert error == mcp_server.error("kitaru_executions_list", {"limit": "ten"})


@pytest.mark.parametrize("era", ERAS)
def test_both_protocol_revisions_over_http(http_server, seeded: dict, era: str) -> None:
    """The representative calls in each revision: a tool, a resource (and a missing
    one), a prompt, a completion, progress on the request's own stream, and a form
    (pushed on 2025-11-25, an input-required round trip on 2026-07-28) that the user
    declines, so the seeded execution keeps waiting."""
    waiting = seeded["waiting"]
    asked: list[types.ElicitRequestParams] = []
    progress: list[str] = []

    async def decline(context, params):
        asked.append(params)
        return types.ElicitResult(action="decline")

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def main() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with create_mcp_http_client(headers=headers) as http:
            transport = streamable_http_client(http_server["url"], http_client=http)
            mode = "auto" if era == MODERN else "legacy"
            async with mcp.Client(transport, mode=mode, elicitation_callback=decline) as client:
                got: dict[str, Any] = {"version": client.protocol_version}
                got["tools"] = len((await client.list_tools()).tools)
                got["get"] = await client.call_tool("kitaru_executions_get", {"exec_id": waiting})
                uri = f"kitaru://executions/{waiting}"
                got["read"] = (await client.read_resource(uri)).contents[0].text
                try:
                    await client.read_resource("kitaru://executions/00000000-0000-4000-8000-00ee")
                except MCPError as exc:
                    got["missing"] = exc.error
                prompt = await client.get_prompt("review_pending_waits", {"flow": "approval"})
                got["prompt"] = prompt.messages[0].content.text
                ref = types.PromptReference(name="review_pending_waits")
                got["flows"] = await client.complete(ref, {"name": "flow", "value": "appr"})
                got["wait"] = await client.call_tool(
                    "kitaru_executions_wait",
                    {"exec_id": waiting, "until": "finished_or_waiting", "timeout_s": 30},
                    progress_callback=on_progress,
                )
                got["ask"] = await client.call_tool(
                    "kitaru_executions_ask_user", {"exec_id": waiting}
                )
                return got

    got = anyio.run(main)
    assert got["version"] == era
    assert got["tools"] > 30
    assert got["get"].structured_content["pending_wait"]["name"] == "approve"
    assert json.loads(got["read"]) == got["get"].structured_content
    assert got["missing"].code == (-32602 if era == MODERN else -32002)
    assert got["missing"].data == {"uri": "kitaru://executions/00000000-0000-4000-8000-00ee"}
    assert "'approval'" in got["prompt"]
    assert got["flows"].completion.values == ["approval"]
    assert got["wait"].structured_content["execution"]["status"] == "waiting"
    assert progress and progress[-1].startswith("waiting: "), progress
    assert got["ask"].structured_content["outcome"] == "declined"
    assert asked[0].message == f"Publish this draft? (execution {waiting})"
    assert got["ask"].structured_content["execution"]["status"] == "waiting"


def test_requests_without_the_right_token_get_401_and_reach_no_tool(http_server) -> None:
    url = http_server["url"]
    create = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "manage_stack", "arguments": {"action": "create", "name": "http-401"}},
    }
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0000000000000"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        for body in (INITIALIZE, create):
            response = raw_post(url, body, **headers)
            assert response.status_code == 401, (headers, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in response.text
    with httpx2.Client(timeout=30) as http:
        assert http.get(url).status_code == 401
        assert http.delete(url).status_code == 401

    with pytest.raises(Exception):  # noqa: B017 - the official client fails on a 401 too
        with_session(url, "not-the-token-but-long-enough", lambda s: s.list_tools())

    async def stacks(session: ClientSession) -> set[str]:
        result = await session.call_tool("kitaru_stacks_list", {})
        return {stack["name"] for stack in result.structured_content["stacks"]}

    assert "http-401" not in with_session(url, TOKEN, stacks), "the refused call ran no tool"


def test_a_foreign_origin_is_refused_and_an_allowed_one_accepted(http_server) -> None:
    url = http_server["url"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    refused = raw_post(url, INITIALIZE, origin="https://evil.kitaru.test", **auth)
    assert refused.status_code == 403, refused.text
    assert "Origin" in refused.text
    refused = raw_post(url, INITIALIZE, origin="http://127.0.0.1.evil.test:80", **auth)
    assert refused.status_code == 403
    bad_host = raw_post(url, INITIALIZE, host="rebind.kitaru.test", **auth)
    assert bad_host.status_code == 421

    for origin in (ALLOWED_ORIGIN, "http://127.0.0.1:3000", "http://localhost:5173"):
        accepted = raw_post(url, INITIALIZE, origin=origin, **auth)
        assert accepted.status_code == 200, (origin, accepted.text)
        assert "kitaru-mcp" in accepted.text
    no_origin = raw_post(url, INITIALIZE, **auth)  # a non-browser client sends none
    assert no_origin.status_code == 200


def test_the_server_keeps_serving_after_refusals(http_server) -> None:
    async def work(session: ClientSession) -> Any:
        return await session.call_tool("kitaru_executions_list", {"limit": 1})

    assert not with_session(http_server["url"], TOKEN, work).is_error
    assert http_server["process"].poll() is None
    log = http_server["log"]
    log.seek(0)
    text = log.read()
    assert "serving MCP over streamable HTTP" in text
    assert TOKEN not in text


def test_loopback_without_a_token_serves_and_refuses_foreign_origins(tmp_path) -> None:
    env = {"KITARU_MCP_TOKEN": ""}
    process, url, log = serve_http(tmp_path, "--read-only", env=env)
    try:
        names = with_session(url, None, lambda s: s.list_tools())
        assert names.tools and all(tool.annotations.read_only_hint for tool in names.tools)
        assert raw_post(url, INITIALIZE, origin="https://evil.kitaru.test").status_code == 403
    finally:
        _stop(process)
        log.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_a_non_loopback_bind_without_a_token_refuses_to_start(host) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KITARU_MCP_TOKEN"}
    command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http", "--host", host]
    out = subprocess.run(
        [*command, "--port", str(free_port())], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 2, out
    assert f"refusing to serve HTTP on {host!r} without a bearer token" in out.stderr
    assert "KITARU_MCP_TOKEN" in out.stderr


def test_http_options() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.8.0.1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")
    with pytest.raises(HttpConfigError, match="without a bearer token"):
        HttpOptions.build(host="10.0.0.1", token=None)
    with pytest.raises(HttpConfigError, match="too short"):
        HttpOptions.build(token="short")
    with pytest.raises(HttpConfigError, match="'\\*' is not allowed"):
        HttpOptions.build(allow_origins=["*"])
    options = HttpOptions.build(host="10.0.0.1", token=TOKEN, allow_origins=["https://a.test/"])
    security = options.transport_security()
    assert security.enable_dns_rebinding_protection
    assert "10.0.0.1:*" in security.allowed_hosts
    assert "https://a.test" in security.allowed_origins
    wildcard = HttpOptions.build(host="0.0.0.0", token=TOKEN).transport_security()
    assert not wildcard.enable_dns_rebinding_protection  # OriginGuard takes the Origin check


def test_origin_guard_on_a_wildcard_bind() -> None:
    """Where the SDK's Host check is off, OriginGuard still enforces the allowlist."""
    reached: list[str] = []

    async def app(scope, receive, send) -> None:
        reached.append(scope["path"])

    guard = OriginGuard(app, ["http://127.0.0.1:*", ALLOWED_ORIGIN])

    async def call(origin: str | None) -> int | None:
        sent: list[dict] = []
        headers = [(b"origin", origin.encode())] if origin else []

        async def send(message: dict) -> None:
            sent.append(message)

        await guard({"type": "http", "path": "/mcp", "headers": headers}, None, send)
        return sent[0]["status"] if sent else None

    assert anyio.run(call, "https://evil.kitaru.test") == 403
    assert anyio.run(call, "http://127.0.0.1:abc") == 403
    assert anyio.run(call, "http://127.0.0.1:8080") is None
    assert anyio.run(call, ALLOWED_ORIGIN) is None
    assert anyio.run(call, None) is None
    assert reached == ["/mcp"] * 3
