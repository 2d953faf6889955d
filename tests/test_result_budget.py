"""Every result within the budget, on real executions through the official MCP client:
a flow that prints 20,000 lines, a 5 MB artifact, an execution of 100 checkpoints.

One throw-away HOME (local store) and two servers on it: one with the default budget
(40,000 characters of JSON), one with the smallest (10,000).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from conftest import ROOT, home_env
from mcp_client import StdioClient

# The module fixture (a server start, or flows run to their end) counts toward the first
# test's time limit; on two busy cores it can take minutes.
pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(600)]

DEFAULT = 40_000
SMALL = 10_000


def _size(result) -> int:
    """The characters of JSON the result carries (its text block)."""
    assert json.loads(result.content[0].text) == result.structured_content
    return len(result.content[0].text)


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, StdioClient]]:
    home = tmp_path_factory.mktemp("budget-home")
    log = tmp_path_factory.mktemp("budget-logs")
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    wide = StdioClient(command, env=home_env(home), cwd=ROOT).start(errlog_path=log / "a.log")
    narrow = StdioClient(
        [*command, "--max-result-chars", str(SMALL)], env=home_env(home), cwd=ROOT
    ).start(errlog_path=log / "b.log")
    try:
        yield {"wide": wide, "narrow": narrow}
    finally:
        narrow.close()
        wide.close()


def _start(client: StdioClient, target: str, **args: object) -> str:
    started = client.ok("kitaru_executions_run", {"target": target, "args": args})
    return started["execution"]["exec_id"]


def _finished(client: StdioClient, exec_id: str) -> str:
    for _ in range(8):
        waited = client.ok("kitaru_executions_wait", {"exec_id": exec_id, "until": "finished"})
        if not waited["timed_out"]:
            break
    assert waited["execution"]["status"] == "completed", waited["execution"]
    return exec_id


@pytest.fixture(scope="module")
def runs(servers) -> dict[str, str]:
    """The three flows run at once (each in its own runner), then all are waited for."""
    wide = servers["wide"]
    tag = uuid.uuid4().hex[:8]
    started = {
        "chatty": _start(wide, "tests/flows/chatty.py:chatty", tag=tag),
        "big": _start(wide, "tests/flows/big_artifact.py:big_artifact", fill=tag),
        "many": _start(wide, "tests/flows/many_checkpoints.py:many_checkpoints", tag=tag),
    }
    return {name: _finished(wide, exec_id) for name, exec_id in started.items()}


def test_a_20000_line_log_is_cut_at_the_budget_and_pages_backwards(servers, runs) -> None:
    for name, budget in (("wide", DEFAULT), ("narrow", SMALL)):
        client = servers[name]
        result = client.call("get_execution_logs", {"exec_id": runs["chatty"], "tail": 5000})
        assert not result.is_error, result.content[0].text
        logs = result.structured_content
        assert _size(result) <= budget
        assert logs["truncated"] is True and logs["next_cursor"]
        assert "result budget" in logs["note"]
        assert any(e["message"].endswith(" done") for e in logs["entries"][-20:])
        older = client.ok(
            "get_execution_logs",
            {"exec_id": runs["chatty"], "tail": 5000, "cursor": logs["next_cursor"]},
        )
        assert older["entries"] and older["truncated"] is True
        first_newer = logs["entries"][0]["message"]
        last_older = older["entries"][-1]["message"]
        assert " line " in first_newer and " line " in last_older
        # the pages join: the older page ends on the line right before the newer one
        n_newer = int(first_newer.split(" line ")[1][:5])
        assert last_older.split(" line ")[1][:5] == f"{n_newer - 1:05d}"


def test_the_log_filters_narrow_a_big_log(servers, runs) -> None:
    def newest() -> dict:
        return servers["wide"].ok(
            "get_execution_logs", {"exec_id": runs["chatty"], "source": "checkpoints", "tail": 5}
        )

    everything = newest()
    deadline = time.monotonic() + 30  # the log store may still be flushing the last lines
    while time.monotonic() < deadline:
        time.sleep(1)
        again = newest()
        if again["entries"][-1] == everything["entries"][-1]:
            break
        everything = again
    assert everything["records_from"] == "log_files"
    last = everything["entries"][-1]
    since = servers["wide"].ok(
        "get_execution_logs",
        {"exec_id": runs["chatty"], "source": "checkpoints", "since": last["timestamp"]},
    )
    assert since["entries"] and since["truncated"] is False
    assert all(e["timestamp"] >= last["timestamp"] for e in since["entries"])
    errors = servers["wide"].ok(
        "get_execution_logs", {"exec_id": runs["chatty"], "source": "all", "level": "ERROR"}
    )
    assert errors["entries"] == [] and "match the filters" in errors["note"]


def test_a_5_mb_artifact_is_a_preview_within_the_budget(servers, runs) -> None:
    listed = servers["wide"].ok("kitaru_artifacts_list", {"exec_id": runs["big"]})
    blob = next(a for a in listed["artifacts"] if a["checkpoint"] == "blob")
    for name, budget in (("wide", DEFAULT), ("narrow", SMALL)):
        result = servers[name].call(
            "kitaru_artifacts_get", {"artifact_id": blob["artifact_id"], "max_bytes": 1048576}
        )
        assert not result.is_error, result.content[0].text
        value = result.structured_content
        assert _size(result) <= budget
        assert value["truncated"] is True and value["json_value"] is None
        assert value["size_bytes"] == 5 * 1024 * 1024 + 2
        assert value["preview"].startswith('"' + value["preview"][1:9] * 2)
        assert "result budget" in value["note"]
    default = servers["wide"].ok("kitaru_artifacts_get", {"artifact_id": blob["artifact_id"]})
    # the default max_bytes (64 KiB) is over the default budget: the budget cuts first
    assert 30_000 < len(default["preview"]) < 40_000 and "result budget" in default["note"]


def test_an_execution_of_100_checkpoints_stays_within_the_budget(servers, runs) -> None:
    result = servers["wide"].call("kitaru_executions_get", {"exec_id": runs["many"]})
    assert _size(result) <= DEFAULT
    whole = result.structured_content
    assert len([c for c in whole["checkpoints"] if c["name"].startswith("tick")]) == 100
    seen: list[str] = []
    token = None
    for _ in range(30):
        arguments = {"exec_id": runs["many"], **({"checkpoints_cursor": token} if token else {})}
        page = servers["narrow"].call("kitaru_executions_get", arguments)
        assert not page.is_error, page.content[0].text
        assert _size(page) <= SMALL
        data = page.structured_content
        assert data["truncated"] is True
        assert data["checkpoints_total"] == len(whole["checkpoints"])
        seen += [c["call_id"] for c in data["checkpoints"]]
        token = data["checkpoints_next_cursor"]
        if token is None:
            break
    assert seen == [c["call_id"] for c in whole["checkpoints"]]
    # a list stays within the budget too (tests/unit/calls/test_budget.py cuts 200 executions)
    listed = servers["narrow"].call("kitaru_executions_list", {"limit": 200})
    assert _size(listed) <= SMALL
