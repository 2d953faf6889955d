"""Parallel first calls on a new user's store: it is created exactly once.

Every round has a fresh HOME; its first calls arrive all at once, as an
assistant's parallel tool calls would. (Its own file, so the rounds run beside
the other fault tests on the second worker.)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, fresh_home
from mcp_client import StdioClient

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]

SERVER = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
FLOW = "examples/two_steps.py:two_steps"


def _gather(client: StdioClient, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def everything() -> list[Any]:
        return await asyncio.gather(
            *(client.session.call_tool(name, arguments) for name, arguments in calls)
        )

    return client._run(everything(), timeout=600)


def _errors(results: list[Any]) -> list[str]:
    return [r.content[0].text[:300] for r in results if r.is_error]


ROUNDS = 3  # fresh stores in a row; the store broke in 2 of 3 before the lock (a miss: 1 in 27)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_first_calls_in_parallel_create_the_store_once(tmp_path: Path, round_: int) -> None:
    env = fresh_home(tmp_path, f"home{round_}")
    calls = (
        [("kitaru_executions_list", {"limit": 5})] * 25
        + [("kitaru_status", {})] * 25
        + [("kitaru_executions_run", {"target": FLOW, "args": {"name": f"p{i}"}}) for i in range(5)]
    )
    with StdioClient(SERVER, env=env, cwd=ROOT) as client:
        results = _gather(client, calls)
        assert _errors(results) == []
        started = {r.structured_content["execution"]["exec_id"] for r in results[50:]}
        assert len(started) == 5
    # A new server on the same HOME finds a whole store with every execution in it.
    with StdioClient(SERVER, env=env, cwd=ROOT) as client:
        listed = client.ok("kitaru_executions_list", {"limit": 50})
        assert started <= {e["exec_id"] for e in listed["executions"]}
        if round_ == 0:  # and 50 reads while 5 runs start give no error either
            reads = [("kitaru_executions_list", {"limit": 5}), ("kitaru_status", {})] * 20 + [
                ("kitaru_executions_get", {"exec_id": sorted(started)[0]})
            ] * 10
            runs = [
                ("kitaru_executions_run", {"target": FLOW, "args": {"name": f"q{i}"}})
                for i in range(5)
            ]
            assert _errors(_gather(client, runs + reads)) == []
