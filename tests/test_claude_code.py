"""Claude Code itself as the client: the real ``claude`` CLI against a real kitaru-mcp and
real flows, its model replaced by a scripted stand-in for the Messages API
(tests/messages_standin.py).

Every assertion is on what Claude Code sent back to the stand-in: the tool results as
the model would have seen them. Claude Code (pinned in tests/clients) is installed by
npm on first use; in CI it runs, never skips.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import node_clients
import pytest
from conftest import ROOT, home_env, wait_until
from contract_cases import CONTRACT
from mcp_client import StdioClient
from messages_standin import MessagesStandIn, Step, Turn, result_text, say, use

pytestmark = [pytest.mark.node, pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.warm_runner]

SERVER = "kitaru"
INLINE_LIMIT = 50_000  # Claude Code 2.1.328 shows up to this many characters inline
DEFAULT_BUDGET = 40_000
KITARU_MCP = Path(sys.executable).parent / "kitaru-mcp"


def full(tool: str) -> str:
    return f"mcp__{SERVER}__{tool}"


def load(*tools: str) -> Step:
    """The ToolSearch call that loads deferred tools' schemas (Claude Code defers MCP tools)."""
    query = "select:" + ",".join(full(t) for t in tools)
    return lambda turn: use("ToolSearch", {"query": query, "max_results": len(tools)})


@dataclass
class Session:
    """One headless ``claude -p`` run and what it sent the stand-in."""

    requests: list[dict[str, Any]]
    output: dict[str, Any]

    def results(self) -> list[dict[str, Any]]:
        return Turn(self.requests[-1]).results()

    def texts(self) -> list[str]:
        return [result_text(block) for block in self.results()]


class ClaudeCode:
    """A HOME with kitaru-mcp added to Claude Code's user config, and a stand-in model."""

    def __init__(self, home: Path, standin: MessagesStandIn) -> None:
        self.home = home
        self.standin = standin
        self.claude = node_clients.binary("claude")
        self.env = node_clients.env(
            home,
            **home_env(home),
            # headless runs start the first model request without waiting for MCP servers
            # by default (or after a short pre-wait, MCP_CONNECT_TIMEOUT_MS); on a loaded
            # machine ours may not be connected yet: wait for it
            MCP_CONNECTION_NONBLOCKING="0",
            MCP_CONNECT_TIMEOUT_MS="120000",
            MCP_TIMEOUT="120000",
        )

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.claude, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def session(self, steps: list[Step], prompt: str = "Work with Kitaru.") -> Session:
        self.standin.script(steps)
        env = {**self.env, "ANTHROPIC_BASE_URL": self.standin.url, "ANTHROPIC_API_KEY": "sk-test"}
        out = subprocess.run(
            [
                self.claude,
                "-p",
                prompt,
                "--output-format",
                "json",
                "--allowedTools",
                f"mcp__{SERVER},ToolSearch",
            ],
            env=env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=600,
        )
        sent = [result_text(b)[:500] for r in self.standin.requests[-1:] for b in Turn(r).results()]
        assert not self.standin.errors, (self.standin.errors, sent)
        assert out.returncode == 0, f"claude -p failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return Session(list(self.standin.requests), json.loads(out.stdout))


@pytest.fixture(scope="module")
def claude_code(tmp_path_factory) -> Iterator[ClaudeCode]:
    home = tmp_path_factory.mktemp("claude-home")
    with MessagesStandIn() as standin:
        client = ClaudeCode(home, standin)
        added = client.cli(
            "mcp",
            "add",
            "--scope",
            "user",
            SERVER,
            "--",
            str(KITARU_MCP),
            "--mode",
            "destructive",
            "--allow-target-root",
            str(ROOT),
        )
        assert added.returncode == 0, added.stderr
        yield client


@pytest.fixture(scope="module")
def direct(claude_code: ClaudeCode, tmp_path_factory) -> Iterator[StdioClient]:
    """Our own Python client on the same store: the runs to read, and the answers to match."""
    log = tmp_path_factory.mktemp("claude-direct") / "server.log"
    command = [str(KITARU_MCP), "--mode", "destructive"]
    client = StdioClient(command, env=home_env(claude_code.home), cwd=ROOT).start(errlog_path=log)
    yield client
    client.close()


def _finished(client: StdioClient, exec_id: str) -> str:
    def done() -> bool:
        got = client.ok("kitaru_executions_wait", {"exec_id": exec_id, "until": "finished"})
        return not got["timed_out"]

    wait_until(done, timeout=600, interval=0)
    status = client.ok("kitaru_executions_get", {"exec_id": exec_id})["status"]
    assert status == "completed", status
    return exec_id


@pytest.fixture(scope="module")
def large(direct: StdioClient, claude_code: ClaudeCode) -> dict[str, str]:
    """Executions whose answers are as large as the default budget lets them be."""
    tag = uuid.uuid4().hex[:8]

    def start(target: str, **args: object) -> str:
        got = direct.ok("kitaru_executions_run", {"target": target, "args": args})
        return got["execution"]["exec_id"]

    started = {
        "chatty": start(f"{ROOT}/tests/flows/chatty.py:chatty", tag=tag),
        "big": start(f"{ROOT}/tests/flows/big_artifact.py:big_artifact", megabytes=1, fill=tag),
        "many": start(
            f"{ROOT}/tests/flows/many_checkpoints.py:many_checkpoints", count=200, tag=tag
        ),
        "cohort": start(f"{ROOT}/examples/two_steps.py:two_steps", name=tag),
    }
    ids = {name: _finished(direct, exec_id) for name, exec_id in started.items()}
    # 250 more executions of two_steps with the same inputs (copies of its row)
    seeded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'bench'); import seed; "
            f"seed.seed([{ids['cohort']!r}], seed.count() + 250, days=0)",
        ],
        env={**claude_code.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    artifacts = direct.ok("kitaru_artifacts_list", {"exec_id": ids["big"]})["artifacts"]
    ids["artifact"] = next(a["artifact_id"] for a in artifacts if a["save_type"] == "step_output")
    return ids


def test_claude_code_connects_and_is_offered_every_served_tool(claude_code: ClaudeCode) -> None:
    listed = claude_code.cli("mcp", "list")
    assert listed.returncode == 0, listed.stderr
    assert (
        f"{SERVER}: {KITARU_MCP} --mode destructive" in listed.stdout
        and "✔ Connected" in listed.stdout
    )

    seen = claude_code.session([lambda turn: say("Nothing to do.")])
    offered = json.dumps(seen.requests[0])
    served = sorted(tool["name"] for tool in CONTRACT["tools"])
    missing = [name for name in served if full(name) not in offered]
    assert missing == []
    assert seen.output["result"] == "Nothing to do."


def test_run_wait_and_logs_arrive_as_the_json_our_tools_produce(
    claude_code: ClaudeCode, direct: StdioClient
) -> None:
    name = f"cc-{uuid.uuid4().hex[:6]}"

    def exec_id(turn: Turn) -> str:
        return next(
            json.loads(result_text(b))["execution"]["exec_id"]
            for b in turn.results()
            if '"operation"' in result_text(b) or '"execution"' in result_text(b)
        )

    steps: list[Step] = [
        load("kitaru_executions_run", "kitaru_executions_wait", "get_execution_logs"),
        lambda t: use(
            full("kitaru_executions_run"),
            {"target": f"{ROOT}/examples/two_steps.py:two_steps", "args": {"name": name}},
        ),
        lambda t: use(
            full("kitaru_executions_wait"),
            {"exec_id": exec_id(t), "until": "finished", "timeout_s": 240},
        ),
        lambda t: use(full("get_execution_logs"), {"exec_id": exec_id(t), "source": "runner"}),
        lambda t: say("Ran it."),
    ]
    seen = claude_code.session(steps)
    run, waited, logs = (json.loads(text) for text in seen.texts()[1:4])
    assert run["execution"]["status"] in {"running", "completed"}
    assert waited["timed_out"] is False and waited["execution"]["status"] == "completed"
    same_id = run["execution"]["exec_id"]
    assert waited["execution"]["exec_id"] == same_id == logs["exec_id"]
    assert any(name in entry["message"] for entry in logs["entries"])
    # our JSON: the answer of our own client, asked afterwards (the runner's log may have
    # grown by its last lines since), in the same key order
    ours = json.loads(
        direct.call("get_execution_logs", {"exec_id": same_id, "source": "runner"}).content[0].text
    )
    assert list(logs) == list(ours)
    assert logs["entries"] == ours["entries"][: len(logs["entries"])]
    assert all(None not in entry.values() for entry in logs["entries"])
    ours_wait = direct.ok("kitaru_executions_wait", {"exec_id": same_id, "until": "finished"})
    assert waited["execution"] == ours_wait["execution"]


def test_a_bad_argument_arrives_as_our_clean_invalid_argument(claude_code: ClaudeCode) -> None:
    steps: list[Step] = [
        load("kitaru_executions_get"),
        lambda t: use(full("kitaru_executions_get"), {"exec_id": "not an id!"}),
        lambda t: say("It was refused."),
    ]
    seen = claude_code.session(steps)
    block = seen.results()[1]
    error = json.loads(result_text(block))
    assert block.get("is_error") is True
    assert error["code"] == "invalid_argument" and error["field"] == "exec_id"
    assert "Traceback" not in result_text(block)


def _inline(text: str) -> Any:
    assert "persisted-output" not in text and len(text) <= INLINE_LIMIT, text[:300]
    return json.loads(text)


def test_the_largest_default_answers_arrive_inline(
    claude_code: ClaudeCode, direct: StdioClient, large: dict[str, str]
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_execution_logs", {"exec_id": large["chatty"], "tail": 5000}),
        ("kitaru_executions_get", {"exec_id": large["many"]}),
        ("kitaru_artifacts_get", {"artifact_id": large["artifact"], "max_bytes": 1_048_576}),
        (
            "kitaru_executions_cohort",
            {
                "same_inputs_as": large["cohort"],
                "statuses": ["completed", "failed", "cancelled", "running", "waiting"],
                "include_replays": True,
                "limit": 200,
                "max_scan": 2000,
            },
        ),
    ]
    steps: list[Step] = [load(*(tool for tool, _ in calls))]
    steps += [(lambda tool, args: lambda t: use(full(tool), args))(*call) for call in calls]
    steps.append(lambda t: say("Read them all."))
    seen = claude_code.session(steps)
    logs, execution, artifact, cohort = (_inline(text) for text in seen.texts()[1:5])

    assert logs["truncated"] is True and logs["next_cursor"] and logs["returned"] > 100
    assert list(logs)[:3] == ["truncated", "next_cursor", "note"]
    assert execution["truncated"] is True and execution["checkpoints_total"] == 200
    assert next(iter(execution)) == "truncated"
    assert artifact["truncated"] is True and "result budget" in artifact["note"]
    assert cohort["count"] >= 100 and len(cohort["executions"]) == cohort["count"]
    for text in seen.texts()[1:5]:
        assert len(text) <= DEFAULT_BUDGET + 1


def test_a_waiting_execution_ask_user_headless_then_input_then_completed(
    claude_code: ClaudeCode, direct: StdioClient
) -> None:
    started = direct.ok(
        "kitaru_executions_run",
        {
            "target": f"{ROOT}/examples/approval.py:approval",
            "args": {"topic": uuid.uuid4().hex[:6]},
        },
    )
    exec_id = started["execution"]["exec_id"]
    waiting = wait_until(
        lambda: (
            direct.ok("kitaru_executions_wait", {"exec_id": exec_id})["execution"]
            if direct.ok("kitaru_executions_get", {"exec_id": exec_id})["status"] == "waiting"
            else None
        ),
        timeout=300,
    )
    wait_name = waiting["pending_wait"]["name"]
    steps: list[Step] = [
        load("kitaru_executions_ask_user", "kitaru_executions_input", "kitaru_executions_wait"),
        lambda t: use(full("kitaru_executions_ask_user"), {"exec_id": exec_id}),
        lambda t: use(
            full("kitaru_executions_input"), {"exec_id": exec_id, "wait": wait_name, "value": True}
        ),
        lambda t: use(
            full("kitaru_executions_wait"),
            {"exec_id": exec_id, "until": "finished", "timeout_s": 240},
        ),
        lambda t: say("Approved."),
    ]
    seen = claude_code.session(steps)
    asked, answered, finished = (json.loads(text) for text in seen.texts()[1:4])
    # headless Claude Code shows the form to nobody: nothing is sent, the wait stays open
    assert asked["outcome"] in {"cancelled", "not_supported"}, asked
    assert asked["execution"]["status"] == "waiting"
    assert answered["execution"]["exec_id"] == exec_id
    assert finished["timed_out"] is False and finished["execution"]["status"] == "completed"


# The sixteen seed tools and what a user would type to find each one's job.
SEARCHES: dict[str, str] = {
    "kitaru_executions_list": "list recent executions",
    "kitaru_executions_get": "execution details checkpoints status",
    "kitaru_executions_latest": "most recent execution",
    "kitaru_executions_run": "start a flow",
    "kitaru_executions_input": "approve pending wait input",
    "kitaru_executions_replay": "replay execution from checkpoint",
    "kitaru_executions_retry": "retry failed execution",
    "kitaru_executions_resume": "resume paused execution",
    "kitaru_executions_cancel": "cancel running execution",
    "get_execution_logs": "execution logs",
    "kitaru_artifacts_list": "list artifacts of an execution",
    "kitaru_artifacts_get": "load artifact value",
    "kitaru_stacks_list": "list stacks",
    "manage_stack": "create or delete a stack",
    "kitaru_status": "connection status",
    "kitaru_info": "diagnostics versions bug report",
}


def test_every_seed_tool_is_found_by_tool_search_among_the_first_five(
    claude_code: ClaudeCode,
) -> None:
    searches = list(SEARCHES.items())
    steps: list[Step] = [
        (lambda q: lambda t: use("ToolSearch", {"query": q, "max_results": 5}))(query)
        for _, query in searches
    ]
    steps.append(lambda t: say("Searched."))
    seen = claude_code.session(steps)
    found: dict[str, list[str]] = {}
    for (_, query), block in zip(searches, seen.results(), strict=True):
        content = block.get("content")
        names = [
            part.get("tool_name", "").removeprefix(f"mcp__{SERVER}__")
            for part in (content if isinstance(content, list) else [])
            if part.get("type") == "tool_reference"
        ]
        found[query] = names
    misses = {
        q: names
        for (tool, q), names in zip(searches, found.values(), strict=True)
        if tool not in names[:5]
    }
    assert misses == {}, misses
