"""A second, independent client: the official TypeScript MCP SDK drives one kitaru-mcp server.

tests/ts_client/client.mjs lists the tools, runs the schema examples of every
tool the server lists as read-only (with real ids from the test store) and a
bad-argument call per tool, and prints what it saw; the assertions live here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, StdioClient
from contract_cases import CONTRACT, example_plan, invalid_cases
from npm_folders import ensure

from kitaru_mcp import __version__

pytestmark = pytest.mark.node

TS_CLIENT = ROOT / "tests" / "ts_client"
SDK = TS_CLIENT / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"


def test_the_lock_file_records_no_download_urls() -> None:
    lock = TS_CLIENT / "package-lock.json"
    if not lock.exists():
        pytest.skip("no package-lock.json committed")
    packages = json.loads(lock.read_text())["packages"]
    assert not [name for name, entry in packages.items() if "resolved" in entry]


@pytest.fixture(scope="session")  # session: set up (or skipped) before the seeding
def ts_client() -> Path:
    """tests/ts_client with its node_modules, installed once by npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the TypeScript MCP SDK client")
    why = ensure("ts_client")
    assert not why, why
    pinned = json.loads((TS_CLIENT / "package.json").read_text())["dependencies"]
    installed = json.loads(SDK.read_text())["version"]
    assert installed == pinned["@modelcontextprotocol/sdk"]
    return TS_CLIENT


@pytest.fixture(scope="module")
def report(ts_client: Path, example_ids: dict[str, str], tmp_path_factory) -> dict[str, Any]:
    first_bad_case = {}
    for case in invalid_cases():
        first_bad_case.setdefault(case.tool, case)
    plan = {
        "cwd": str(ROOT),
        "calls": example_plan(example_ids),
        "bad": [
            {"tool": case.tool, "arguments": case.arguments, "field": case.field}
            for case in first_bad_case.values()
        ],
    }
    plan_file = tmp_path_factory.mktemp("ts") / "plan.json"
    plan_file.write_text(json.dumps(plan))
    out = subprocess.run(
        ["node", "client.mjs", sys.executable, str(plan_file)],
        cwd=ts_client,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_ts_client_lists_every_tool_with_its_annotations(report: dict[str, Any]) -> None:
    assert report["server"]["name"] == "kitaru-mcp"
    assert report["server"]["version"] == __version__
    listed = {tool["name"]: tool for tool in report["tools"]}
    assert set(listed) == {tool["name"] for tool in CONTRACT["tools"]}
    for tool in CONTRACT["tools"]:
        assert listed[tool["name"]]["readOnlyHint"] is tool["annotations"]["readOnlyHint"]
        assert listed[tool["name"]]["hasOutputSchema"]


def test_every_read_only_tool_answers_its_examples(report: dict[str, Any]) -> None:
    read_only = {t["name"] for t in CONTRACT["tools"] if t["annotations"]["readOnlyHint"]}
    assert {call["tool"] for call in report["calls"]} == read_only
    assert set(report["skipped"]) == {t["name"] for t in CONTRACT["tools"]} - read_only
    for call in report["calls"]:
        # an exception here would include the SDK's own output-schema check failing
        assert "exception" not in call, call
        if call.get("requires") == "server":  # the local store cannot answer it
            assert json.loads(call["text"])["code"] == "unsupported", call
            continue
        assert call["isError"] is False, call
        assert json.loads(call["text"]) == call["structuredContent"]


def _result(report: dict[str, Any], tool: str) -> dict[str, Any] | None:
    found = [call["structuredContent"] for call in report["calls"] if call["tool"] == tool]
    return found[0] if found else None


def test_the_ts_client_sees_the_real_store(
    report: dict[str, Any], example_ids: dict[str, str]
) -> None:
    if execution := _result(report, "kitaru_executions_get"):
        assert execution["exec_id"] == example_ids["completed"]
        assert execution["status"] == "completed"
        assert [c["name"] for c in execution["checkpoints"]] == ["greet", "shout"]
    if listed := _result(report, "kitaru_executions_list"):
        assert example_ids["waiting"] in {e["exec_id"] for e in listed["executions"]}
        assert {e["status"] for e in listed["executions"]} == {"waiting"}
    if latest := _result(report, "kitaru_executions_latest"):
        assert (latest["flow"], latest["status"]) == ("two_steps", "failed")
        assert latest["exec_id"] == example_ids["failed"]
        assert latest["failure"]["exception_type"] == "RuntimeError"
    if stacks := _result(report, "kitaru_stacks_list"):
        assert stacks["active"] == "default"
    if status := _result(report, "kitaru_status"):
        assert status["connection"]["kind"] == "local_store"
        assert status["versions"]["kitaru_mcp"] == __version__


def test_both_clients_get_the_same_answer(
    report: dict[str, Any], example_ids: dict[str, str], mcp_server: StdioClient
) -> None:
    """Calls about the finished seed execution are stable: compare with the Python client."""
    compared = 0
    for call in report["calls"]:
        if example_ids["completed"] in json.dumps(call["arguments"]):
            python_answer = mcp_server.ok(call["tool"], call["arguments"])
            volatile = {"waited_s"}  # timings differ between two calls
            assert {k: v for k, v in call["structuredContent"].items() if k not in volatile} == {
                k: v for k, v in python_answer.items() if k not in volatile
            }
            compared += 1
    assert compared >= 1


def test_bad_arguments_come_back_as_is_error(report: dict[str, Any]) -> None:
    assert {bad["tool"] for bad in report["bad"]} == {t["name"] for t in CONTRACT["tools"]}
    for bad in report["bad"]:
        assert "exception" not in bad, bad
        assert bad["isError"] is True, bad
        error = json.loads(bad["text"])
        assert error["code"] == "invalid_argument"
        assert error["field"] == bad["field"]
