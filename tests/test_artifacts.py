"""Artifact tools through the official MCP client, on a real run of examples/artifacts_demo.py."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import EXAMPLES, ROOT, StdioClient, run_example

pytestmark = pytest.mark.server

TOPIC = "artifacts"
SIZE = 300_000
LINE = "durable execution keeps every checkpoint's output. "
LONG_TEXT = (LINE * (SIZE // len(LINE) + 1))[:SIZE]  # what long_text(SIZE) returns
SUMMARY = {"topic": TOPIC, "scores": [1, 2.5, None], "ok": True, "nested": {"depth": 2}}


@pytest.fixture(scope="module")
def demo(mcp_server: StdioClient) -> dict[str, str]:
    """exec_id of a finished artifacts_demo run, and its artifact ids by checkpoint/name."""
    exec_id = run_example("artifacts_demo.py", "artifacts_demo", topic=TOPIC, size=SIZE)
    listed = mcp_server.ok("kitaru_artifacts_list", {"exec_id": exec_id})
    ids = {"exec_id": exec_id}
    for artifact in listed["artifacts"]:
        key = "notes" if artifact["name"] == "notes" else artifact["checkpoint"]
        ids[key] = artifact["artifact_id"]
    return ids


def test_artifact_tools_are_read_only(mcp_server: StdioClient) -> None:
    tools = {tool.name: tool for tool in mcp_server.list_tools()}
    for name in ("kitaru_artifacts_list", "kitaru_artifacts_get"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.destructive_hint is False
    assert tools["kitaru_artifacts_get"].input_schema["properties"]["max_bytes"]["maximum"] > 0


def test_list_shows_every_artifact_with_its_checkpoint(mcp_server: StdioClient, demo) -> None:
    listed = mcp_server.ok("kitaru_artifacts_list", {"exec_id": demo["exec_id"]})
    assert listed["exec_id"] == demo["exec_id"]
    assert listed["count"] == len(listed["artifacts"]) == 5
    by_name = {a["name"]: a for a in listed["artifacts"]}
    for checkpoint in ("summarize", "long_text", "tags", "report"):
        output = by_name[f"artifacts_demo::{checkpoint}::output"]
        assert output["checkpoint"] == checkpoint
        assert output["save_type"] == "step_output"
        assert "kind" not in output  # null fields of an entry are left out
        assert output["metadata"]["storage_size"] > 0
    notes = by_name["notes"]
    assert (notes["checkpoint"], notes["save_type"], notes["kind"]) == (
        "summarize",
        "manual",
        "context",
    )
    assert notes["metadata"]["kitaru_artifact_type"] == "context"
    assert by_name["artifacts_demo::long_text::output"]["metadata"]["storage_size"] >= SIZE


def test_list_filters_by_checkpoint_name_and_limit(mcp_server: StdioClient, demo) -> None:
    exec_id = demo["exec_id"]
    summarize = mcp_server.ok(
        "kitaru_artifacts_list", {"exec_id": exec_id, "checkpoint": "summarize"}
    )
    assert sorted(a["name"] for a in summarize["artifacts"]) == [
        "artifacts_demo::summarize::output",
        "notes",
    ]
    named = mcp_server.ok("kitaru_artifacts_list", {"exec_id": exec_id, "name": "notes"})
    assert [a["artifact_id"] for a in named["artifacts"]] == [demo["notes"]]
    none = mcp_server.ok("kitaru_artifacts_list", {"exec_id": exec_id, "checkpoint": "nope"})
    assert none == {
        "exec_id": exec_id,
        "artifacts": [],
        "count": 0,
        "has_more": False,
        "next_cursor": None,
    }
    assert mcp_server.ok("kitaru_artifacts_list", {"exec_id": exec_id, "limit": 2})["count"] == 2


def test_list_of_unknown_execution_is_not_found(mcp_server: StdioClient, demo) -> None:
    unknown = "00000000-0000-4000-8000-0000000000aa"
    error = mcp_server.error("kitaru_artifacts_list", {"exec_id": unknown})
    assert error["code"] == "not_found"
    assert error["field"] == "exec_id"
    assert unknown in error["message"]
    assert "kitaru_executions_list" in error["hint"]


def test_get_returns_exactly_what_the_checkpoint_returned(mcp_server: StdioClient, demo) -> None:
    got = mcp_server.ok("kitaru_artifacts_get", {"artifact_id": demo["summarize"]})
    assert got["json_value"] == SUMMARY
    assert got["format"] == "json"
    assert got["value_type"] == "builtins.dict"
    assert got["preview"] is None
    assert got["truncated"] is False
    assert got["size_bytes"] == len(json.dumps(SUMMARY, ensure_ascii=False).encode())
    assert got["artifact"]["artifact_id"] == demo["summarize"]
    assert got["artifact"]["checkpoint"] == "summarize"
    notes = mcp_server.ok("kitaru_artifacts_get", {"artifact_id": demo["notes"]})
    assert notes["json_value"] == {"topic": TOPIC, "lines": ["first", "second"]}


def test_large_value_is_cut_to_the_cap_and_flagged(mcp_server: StdioClient, demo) -> None:
    result = mcp_server.call("kitaru_artifacts_get", {"artifact_id": demo["long_text"]})
    got = result.structured_content
    assert got["truncated"] is True
    assert got["json_value"] is None
    assert got["format"] == "json"
    assert got["value_type"] == "builtins.str"
    assert got["size_bytes"] == SIZE + 2  # the JSON text: the string and its quotes
    assert len(got["preview"].encode()) <= 65536
    assert got["preview"] == json.dumps(LONG_TEXT)[: len(got["preview"])]
    assert len(result.content[0].text) < 70_000, "the whole result stays near the cap"

    small = mcp_server.ok(
        "kitaru_artifacts_get", {"artifact_id": demo["long_text"], "max_bytes": 1000}
    )
    assert small["truncated"] is True and len(small["preview"].encode()) <= 1000

    # a max_bytes above the result budget (40,000 characters of JSON by default): the
    # budget cuts the value instead, and says so
    whole = mcp_server.call(
        "kitaru_artifacts_get", {"artifact_id": demo["long_text"], "max_bytes": 1_048_576}
    )
    got = whole.structured_content
    assert not whole.is_error and len(whole.content[0].text) <= 40_000
    assert got["truncated"] is True and got["json_value"] is None
    assert "result budget" in got["note"] and got["size_bytes"] == SIZE + 2
    assert got["preview"] == json.dumps(LONG_TEXT)[: len(got["preview"])]
    assert len(got["preview"]) > 30_000


def test_cap_is_bounded_by_the_schema(mcp_server: StdioClient, demo) -> None:
    for bad in (2_000_000, 10):
        error = mcp_server.error(
            "kitaru_artifacts_get", {"artifact_id": demo["long_text"], "max_bytes": bad}
        )
        assert error["code"] == "invalid_argument"
        assert error["field"] == "max_bytes"


def test_non_json_value_is_previewed_with_its_type(mcp_server: StdioClient, demo) -> None:
    got = mcp_server.ok("kitaru_artifacts_get", {"artifact_id": demo["tags"]})
    assert got["format"] == "repr"
    assert got["value_type"] == "builtins.set"
    assert got["json_value"] is None
    assert got["truncated"] is False
    assert ast.literal_eval(got["preview"]) == {TOPIC, "alpha", "beta"}
    assert got["size_bytes"] == len(got["preview"].encode())


def test_value_of_a_class_the_server_cannot_import_is_unsupported(mcp_server, demo) -> None:
    error = mcp_server.error("kitaru_artifacts_get", {"artifact_id": demo["report"]})
    assert error["code"] == "unsupported"
    assert error["field"] == "artifact_id"
    assert "artifacts_demo" in error["message"]
    assert "PYTHONPATH" in error["hint"]
    assert "Traceback" not in json.dumps(error)


def test_custom_object_is_previewed_where_its_class_imports(demo, tmp_path) -> None:
    """The same artifact, from a server that can import the flow's module: a repr preview."""
    with StdioClient(env={"PYTHONPATH": str(EXAMPLES)}, cwd=ROOT) as client:
        got = client.ok("kitaru_artifacts_get", {"artifact_id": demo["report"]})
    assert got["format"] == "repr"
    assert got["value_type"] == "artifacts_demo.Report"
    assert got["preview"] == f"Report(title={TOPIC!r}, pages=3)"
    assert got["json_value"] is None


def test_unknown_or_malformed_artifact_id(mcp_server: StdioClient, demo) -> None:
    unknown = "00000000-0000-4000-8000-0000000000bb"
    error = mcp_server.error("kitaru_artifacts_get", {"artifact_id": unknown})
    assert error["code"] == "not_found"
    assert error["field"] == "artifact_id"
    assert unknown in error["message"]
    malformed = mcp_server.error("kitaru_artifacts_get", {"artifact_id": "notes"})
    assert malformed["code"] == "invalid_argument"
    assert malformed["field"] == "artifact_id"
