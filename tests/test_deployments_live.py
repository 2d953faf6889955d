"""Deployments on a real Kitaru server (the local one), through the official MCP client.

The stack uses ZenML's `local` deployer flavor. What Kitaru 0.21 allows there,
and what it does not (proved here, and said in the README):

- deploy: refused. Kitaru deploys only on a stack its server can execute
  remotely, and every component of this stack is local (the `local` deployer
  included). kitaru_deployments_deploy says so (`unsupported`, with a hint).
- invoke: refused for the same reason, after our own checks (unknown
  version or tag: not_found; inputs that break the deployment's input schema:
  invalid_argument naming the input). So no execution is started.
- list, get, tag, untag, delete work: they are tested on deployment records
  that a helper process (tests/seed_deployment.py) creates with Kitaru's
  guard switched off in that process only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, home_env, local_server_session
from mcp_client import StdioClient

# The module fixture (a server start, or flows run to their end) counts toward the first
# test's time limit; on two busy cores it can take minutes.
pytestmark = [pytest.mark.local_server, pytest.mark.timeout(600)]

STACK = "with-local-deployer"


def _seed(home: Path, action: str, argument: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "seed_deployment.py"), action, argument],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, **home_env(home)},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"seeding {action} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StdioClient, Path]]:
    with local_server_session(tmp_path_factory, "deployments") as (client, home, _):
        _seed(home, "stack", STACK)
        yield client, home


def test_deploy_on_a_stack_with_the_local_deployer_is_refused_with_a_hint(live) -> None:
    client, _ = live
    assert STACK in {s["name"] for s in client.ok("kitaru_stacks_list")["stacks"]}
    error = client.error(
        "kitaru_deployments_deploy",
        {"target": "examples/two_steps.py:two_steps", "stack": STACK, "inputs": {"name": "x"}},
    )
    assert error["code"] == "unsupported", error
    assert error["field"] == "stack"
    assert STACK in error["message"] and "local" in error["message"]
    assert "kitaru_executions_run" in error["hint"] and "remote" in error["hint"]
    assert client.ok("kitaru_deployments_list")["deployments"] == []


def test_list_get_tag_untag_invoke_delete_on_seeded_deployments(live) -> None:
    client, home = live
    first = _seed(home, "deploy", STACK)
    second = _seed(home, "deploy", STACK)
    assert (first["flow"], first["version"], second["version"]) == ("two_steps", 1, 2)

    listed = client.ok("kitaru_deployments_list", {"flow": "two_steps"})
    assert [(d["flow"], d["version"]) for d in listed["deployments"]] == [
        ("two_steps", 1),
        ("two_steps", 2),
    ]
    default = client.ok("kitaru_deployments_get", {"flow": "two_steps"})
    assert default["version"] == 1  # the first deploy holds the `default` tag
    assert {"tag": "default", "exclusive": True} in default["tags"]
    assert set(default["input_schema"]["properties"]) >= {"name", "punctuation", "delay"}
    assert client.ok("kitaru_deployments_get", {"flow": "two_steps", "version": 2})["version"] == 2

    # bad selectors: not_found
    missing = client.error("kitaru_deployments_get", {"flow": "two_steps", "version": 99})
    assert missing["code"] == "not_found", missing
    no_tag = client.error("kitaru_deployments_get", {"flow": "two_steps", "tag": "nope"})
    assert no_tag["code"] == "not_found", no_tag
    assert "nope" in no_tag["message"]
    gone = client.error("kitaru_deployments_invoke", {"flow": "two_steps", "version": 99})
    assert gone["code"] == "not_found", gone

    # inputs that break the deployment's input schema: invalid_argument naming the input
    wrong = client.error("kitaru_deployments_invoke", {"flow": "two_steps", "inputs": {"name": 5}})
    assert (wrong["code"], wrong["field"]) == ("invalid_argument", "inputs.name"), wrong
    unknown = client.error(
        "kitaru_deployments_invoke", {"flow": "two_steps", "inputs": {"nmae": "typo"}}
    )
    assert (unknown["code"], unknown["field"]) == ("invalid_argument", "inputs.nmae"), unknown

    # valid inputs: Kitaru 0.21 cannot run a deployment of a local stack
    before = client.ok("kitaru_executions_list", {"flow": "two_steps"})["count"]
    refused = client.error(
        "kitaru_deployments_invoke", {"flow": "two_steps", "inputs": {"name": "Ada"}}
    )
    assert refused["code"] == "unsupported", refused
    assert "remotely" in refused["message"] and "kitaru_executions_run" in refused["hint"]
    assert client.ok("kitaru_executions_list", {"flow": "two_steps"})["count"] == before

    # tag and untag
    tagged = client.ok(
        "kitaru_deployments_tag", {"flow": "two_steps", "version": 2, "tag": "canary"}
    )
    assert {"tag": "canary", "exclusive": False} in tagged["tags"]
    by_tag = client.ok("kitaru_deployments_get", {"flow": "two_steps", "tag": "canary"})
    assert by_tag["version"] == 2
    untagged = client.ok(
        "kitaru_deployments_untag", {"flow": "two_steps", "version": 2, "tag": "canary"}
    )
    assert "canary" not in {t["tag"] for t in untagged["tags"]}
    assert (
        client.error("kitaru_deployments_get", {"flow": "two_steps", "tag": "canary"})["code"]
        == "not_found"
    )

    # delete: an unprotected version goes; the one holding `default` is refused
    deleted = client.ok("kitaru_deployments_delete", {"flow": "two_steps", "version": 2})
    assert deleted["deleted"] is True
    remaining = client.ok("kitaru_deployments_list", {"flow": "two_steps"})["deployments"]
    assert [d["version"] for d in remaining] == [1]
    protected = client.error("kitaru_deployments_delete", {"flow": "two_steps", "version": 1})
    assert (protected["code"], protected["field"]) == ("conflict", "version"), protected
    assert "default" in protected["message"] and "exclusive" in protected["hint"]
    again = client.error("kitaru_deployments_delete", {"flow": "two_steps", "version": 2})
    assert again["code"] == "not_found", again
