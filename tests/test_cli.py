"""The terminal CLI: ``kitaru-mcp tools``, ``call`` and ``contract`` over the same stubs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, StdioClient

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent / "kitaru-mcp"
CONTRACT = json.loads((ROOT / "generated" / "contract.json").read_text())


def kitaru_mcp(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, timeout=180, input=stdin, cwd=ROOT
    )


def test_tools_lists_every_tool_with_its_access() -> None:
    out = kitaru_mcp("tools")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert set(lines) == {tool["name"] for tool in CONTRACT["tools"]}
    for tool in CONTRACT["tools"]:
        access = "read-only" if tool["annotations"]["readOnlyHint"] else "writes"
        assert lines[tool["name"]].split()[1] == access
    listed = json.loads(kitaru_mcp("tools", "--json").stdout)
    assert [row["name"] for row in listed] == sorted(t["name"] for t in CONTRACT["tools"])
    assert {row["read_only"] for row in listed} <= {True, False}
    assert all(row["summary"] for row in listed)


def test_contract_prints_the_generated_contract() -> None:
    out = kitaru_mcp("contract")
    assert out.returncode == 0
    assert json.loads(out.stdout) == CONTRACT
    assert json.loads(out.stdout)["contract_version"] == CONTRACT["contract_version"]


@pytest.mark.parametrize("args", [["tools"], ["contract"], ["--version"]])
def test_quick_commands_import_neither_kitaru_nor_zenml(tmp_path: Path, args: list[str]) -> None:
    modules_file = tmp_path / "modules.txt"
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import atexit, runpy, sys\n"
        f"out = {str(modules_file)!r}\n"
        "atexit.register(lambda: open(out, 'w').write('\\n'.join(sys.modules)))\n"
        f"sys.argv = ['kitaru-mcp', *{args!r}]\n"
        "runpy.run_module('kitaru_mcp', run_name='__main__')\n"
    )
    out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = set(modules_file.read_text().split())
    assert not {m for m in loaded if m.split(".")[0] in {"kitaru", "zenml"}}


def test_call_prints_the_same_result_as_an_mcp_call(mcp_server: StdioClient, seeded) -> None:
    arguments = json.dumps({"exec_id": seeded["completed"]})
    out = kitaru_mcp("call", "kitaru_executions_get", arguments)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)  # the whole of stdout is one JSON document
    assert result == mcp_server.ok("kitaru_executions_get", {"exec_id": seeded["completed"]})
    assert [c["name"] for c in result["checkpoints"]] == ["greet", "shout"]


def test_call_reads_arguments_from_stdin(seeded) -> None:
    out = kitaru_mcp("call", "kitaru_executions_list", "-", stdin='{"limit": 1}')
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["count"] == 1


def test_a_tool_error_exits_1_with_the_error_json() -> None:
    out = kitaru_mcp("call", "kitaru_executions_list", '{"limit": 0}')
    assert out.returncode == 1
    error = json.loads(out.stdout)
    assert error["code"] == "invalid_argument"
    assert error["field"] == "limit"
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["call", "kitaru_no_such_tool", "{}"], "unknown tool 'kitaru_no_such_tool'"),
        (["call", "kitaru_executions_list", "[1, 2]"], "must be one JSON object"),
        (["call", "kitaru_executions_list", "{limit: 1}"], "not valid JSON"),
        (["call"], "required: tool"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2(args: list[str], phrase: str) -> None:
    out = kitaru_mcp(*args)
    assert out.returncode == 2
    assert phrase in out.stderr
    assert out.stdout == ""


def test_call_keeps_tool_output_off_stdout(tmp_path: Path) -> None:
    """Whatever a handler (or Kitaru) prints goes to stderr; stdout holds the result only."""
    script = tmp_path / "noisy.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            from pydantic import BaseModel
            from kitaru_mcp.cli import run_call
            from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions
            from kitaru_mcp.calls.stubs import ToolStub

            class Out(BaseModel):
                answer: int

            def noisy(gateway, arguments):
                print("a log line from print")
                os.write(1, b"a log line on fd 1\\n")
                sys.stdout.write("unflushed text")
                return Out(answer=arguments["n"] * 2)

            spec = {
                "name": "noisy",
                "group": "execution",
                "annotations": {"readOnlyHint": True, "destructiveHint": False},
                "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                "outputSchema": {"type": "object", "properties": {"answer": {"type": "integer"}}},
            }
            class NoGateway:
                def using(self):
                    import contextlib
                    return contextlib.nullcontext()

            tools = {"noisy": ToolStub(spec, noisy)}
            dispatcher = Dispatcher(ServeOptions(), tools, gateway=NoGateway)
            sys.exit(run_call(dispatcher, "noisy", {"n": 21}))
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"answer": 42}
    assert "a log line from print" in out.stderr
    assert "a log line on fd 1" in out.stderr
    assert "unflushed text" in out.stderr


@pytest.mark.parametrize(
    ("options", "tool", "phrase"),
    [
        (["--read-only"], "kitaru_executions_cancel", "not served in read-only mode"),
        ([], "kitaru_executions_cancel", "not served in standard mode"),
        (["--toolsets", "artifact"], "kitaru_executions_list", "toolset 'execution' is not served"),
    ],
)
def test_call_honours_the_mode_and_toolsets(options: list[str], tool: str, phrase: str) -> None:
    out = kitaru_mcp(*options, "call", tool, '{"exec_id": "c64faf33-223d-4c35-af9a-56bd12b8d052"}')
    assert out.returncode == 2, out.stderr
    assert phrase in out.stderr and out.stdout == ""


def test_call_honours_the_call_timeout() -> None:
    """A call that needs Kitaru imports it first (seconds): a 0.2 s limit ends it as a
    timeout error. (A listing may be read from the store's file without Kitaru.)"""
    exec_id = '{"exec_id": "c64faf33-223d-4c35-af9a-56bd12b8d052"}'
    out = kitaru_mcp("--call-timeout", "0.2", "call", "kitaru_executions_get", exec_id)
    error = json.loads(out.stdout)
    assert out.returncode == 1 and error["code"] == "timeout", out.stdout
    assert "within 0.2 s" in error["message"]


def test_a_short_request_state_key_refuses_to_start() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KITARU_MCP_REQUEST_STATE_KEY": "too-short"},
    )
    assert out.returncode == 2
    assert "KITARU_MCP_REQUEST_STATE_KEY is too short" in out.stderr
    assert "too-short" not in out.stderr  # the key itself is never printed
    assert out.stdout == ""
