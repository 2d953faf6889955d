"""Bounded calls: a per-call timeout, and a backend that is down or never answers.

Each case runs its own server over stdio (official client) in a throw-away
HOME, so nothing here touches the session's store.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator

import pytest
from conftest import ROOT, home_env
from contract_cases import CONTRACT
from mcp_client import StdioClient

pytestmark = pytest.mark.server

READ_TOOLS = [tool for tool in CONTRACT["tools"] if tool["annotations"]["readOnlyHint"]]
# Tools that read only local files (no backend call): they answer even when the server is down.
LOCAL_ONLY = {"kitaru_clean_preview"}
# Filled in by the backend-down test; conftest prints it in the session summary.
MEASURED: dict[str, float] = {}


def _server(home, *flags: str, **env: str) -> StdioClient:
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive", *flags]
    return StdioClient(command, env={**home_env(home), **env}, cwd=ROOT)


def _remote(url: str) -> dict[str, str]:
    return {
        "KITARU_SERVER_URL": url,
        "KITARU_AUTH_TOKEN": "bounds-test-token-0123456789",
        "KITARU_PROJECT": "default",
    }


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (into the backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def _example(tool: dict) -> dict:
    return tool["examples"][0]["arguments"]


def test_a_too_small_timeout_is_a_timeout_error_and_the_server_keeps_serving(tmp_path) -> None:
    """0.05 s cannot even import Kitaru: the call ends as `timeout`, naming tool and limit."""
    with _server(tmp_path, "--call-timeout", "0.05") as client:
        started = time.monotonic()
        error = client.error("kitaru_executions_list", {"limit": 1})
        elapsed = time.monotonic() - started
        assert error["code"] == "timeout", error
        assert error["retryable"] is True
        assert "kitaru_executions_list" in error["message"]
        assert "0.05 s" in error["message"], error["message"]
        assert elapsed < 5, f"the timeout took {elapsed:.1f} s to report"
        # still serving: listing, validation, and another bounded call
        assert {tool.name for tool in client.list_tools()} >= {"kitaru_executions_list"}
        bad = client.error("kitaru_executions_list", {"limit": "ten"})
        assert (bad["code"], bad["field"]) == ("invalid_argument", "limit")
        again = client.call("kitaru_stacks_list", {})
        if again.is_error:
            assert json.loads(again.content[0].text)["code"] == "timeout"


def test_a_backend_that_never_answers_times_out_per_call(tmp_path, silent_port) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    with _server(tmp_path, "--call-timeout", "2", **_remote(url)) as client:
        for name in ("kitaru_executions_list", "kitaru_stacks_list"):
            started = time.monotonic()
            error = client.error(name, {})
            elapsed = time.monotonic() - started
            assert error["code"] == "timeout", error
            assert f"{name} did not finish within 2 s" in error["message"]
            assert elapsed < 6, f"{name} took {elapsed:.1f} s with a 2 s limit"
        assert client.list_tools()
        bad = client.error("kitaru_executions_get", {"exec_id": "nope"})
        assert (bad["code"], bad["field"]) == ("invalid_argument", "exec_id")


def test_every_read_tool_fails_fast_when_the_backend_is_down(tmp_path, closed_port) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    slowest = 0.0
    with _server(tmp_path, **_remote(url)) as client:
        client.call("kitaru_executions_list", {"limit": 1})  # imports Kitaru: not timed
        for tool in READ_TOOLS:
            name = tool["name"]
            started = time.monotonic()
            result = client.call(name, _example(tool))
            elapsed = time.monotonic() - started
            MEASURED[name] = elapsed
            slowest = max(slowest, elapsed)
            text = result.content[0].text
            assert elapsed < 5, f"{name} took {elapsed:.2f} s to report the backend down"
            assert "Traceback" not in text
            if name in LOCAL_ONLY:
                assert not result.is_error, text
                continue
            if name == "kitaru_status":  # the diagnostic tool reports it instead of failing
                connection = result.structured_content["connection"]
                assert connection["reachable"] is False
                assert connection["url"] == url
                assert f"cannot reach {url}" in connection["error"]
                continue
            assert result.is_error, f"{name} succeeded against a closed port: {text}"
            error = json.loads(text)
            assert error["code"] == "backend_unavailable", (name, error)
            assert error["retryable"] is True
            assert error["message"].startswith(f"cannot reach {url}"), (name, error)
            assert "connection refused" in error["message"]
            assert "kitaru_start_local_server" in error["hint"]
        # and it keeps serving: the same answer again, at once
        started = time.monotonic()
        again = client.error("kitaru_executions_list", {"limit": 1})
        assert again["code"] == "backend_unavailable"
        assert time.monotonic() - started < 1
        assert client.list_tools()
    print(f"\nbackend down: slowest read tool reported it in {slowest:.2f} s")
