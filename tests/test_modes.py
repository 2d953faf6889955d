"""Tool modes and toolsets: filtered tools are neither listed nor callable."""

from __future__ import annotations

import sys

import pytest
from mcp_client import StdioClient

from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions

pytestmark = pytest.mark.server


def served(**options) -> dict:
    return Dispatcher(ServeOptions(**options)).served


def test_standard_mode_hides_only_destructive_tools() -> None:
    every = Dispatcher(ServeOptions(mode="destructive")).every
    standard = served(mode="standard")
    hidden = set(every) - set(standard)
    assert {"kitaru_executions_cancel", "kitaru_executions_abort_wait"} <= hidden
    assert all(every[name].spec["annotations"]["destructiveHint"] for name in hidden)
    assert "kitaru_executions_run" in standard


def test_read_only_mode_serves_only_read_tools() -> None:
    tools = served(mode="read-only")
    assert "kitaru_executions_list" in tools and "get_execution_logs" in tools
    assert all(stub.read_only for stub in tools.values())
    assert "kitaru_executions_run" not in tools


def test_toolsets_select_groups() -> None:
    tools = served(mode="destructive", toolsets=frozenset({"connection"}))
    assert tools and {stub.spec["group"] for stub in tools.values()} == {"connection"}


@pytest.mark.parametrize("flag", [["--read-only"], ["--mode", "read-only"]])
def test_read_only_server_neither_lists_nor_runs_mutating_tools(flag) -> None:
    with StdioClient([sys.executable, "-m", "kitaru_mcp", *flag]) as client:
        names = {tool.name for tool in client.list_tools()}
        assert "kitaru_executions_list" in names
        assert "kitaru_executions_run" not in names
        with pytest.raises(Exception, match="not served in read-only mode"):
            client.call("kitaru_executions_run", {"target": "examples/two_steps.py:two_steps"})


def test_unknown_toolset_is_a_usage_error() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", "--toolsets", "executions"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "unknown toolset(s) executions" in out.stderr
