"""Two replicas behind one address, sharing only Kitaru's server.

Each replica is its own ``kitaru-mcp --transport http --stateless`` process with
its own state directory, the same bearer token and request-state key, both
connected to one Kitaru local server; a round-robin proxy of the test's own
(``round_robin.py``) sends each request to the other replica. What must hold:
an idempotent ``run`` starts one execution whichever replica gets it (racing
replicas included), the two legs of a 2026-07-28 ``ask_user`` land on different
replicas and the answer goes through, a ``cancel`` through the replica that does
not own the runner stops it, and a replica killed mid-run leaves its run going
while the survivor serves everything.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp
import mcp.types as types
import pytest
from conftest import home_env, local_server_session, wait_until
from http_server import HttpServer
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_client import ERAS, LEGACY, MODERN
from round_robin import RoundRobin

pytestmark = [pytest.mark.local_server, pytest.mark.timeout(600), pytest.mark.warm_runner]

TOKEN = "replicas-" + secrets.token_hex(16)
KEY = secrets.token_hex(32)
TAG = uuid.uuid4().hex[:8]
FINISHED = {"completed", "failed", "cancelled"}


@dataclass
class Replicas:
    servers: list[HttpServer]
    proxy: RoundRobin
    homes: list[Path]  # each replica's state directory

    def record(self, index: int, exec_id: str) -> dict[str, Any]:
        path = self.homes[index] / "runs" / f"{exec_id}.json"
        return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    with local_server_session(tmp_path_factory, "replicas") as (_, home, started):
        assert started["action"] == "started", started
        tmp = tmp_path_factory.mktemp("replicas")
        servers, states = [], []
        for name in ("a", "b"):
            folder = tmp / name
            folder.mkdir()
            states.append(folder / "state")
            env = {
                **home_env(home),  # the same Kitaru connection: the local server
                "KITARU_MCP_STATE_DIR": str(states[-1]),
                "KITARU_MCP_TOKEN": TOKEN,
                "KITARU_MCP_REQUEST_STATE_KEY": KEY,
                "KITARU_MCP_RUNNER_LEASE": "8",  # a dead runner's heartbeat goes stale soon
            }
            servers.append(HttpServer(folder, "--mode", "destructive", "--stateless", env=env))
        for server in servers:
            server.wait_listening()
        proxy = RoundRobin([server.base for server in servers])
        try:
            yield Replicas(servers, proxy, states)
        finally:
            proxy.close()
            for server in servers:
                server.stop()
            for server in servers:
                assert "Traceback" not in server.stderr, server.stderr[-3000:]


async def _accept(context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"value": True})


def on(url: str, era: str, work: Any) -> Any:
    """Run ``work(client)`` with an official client of ``era`` reaching ``url``."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with create_mcp_http_client(headers=headers) as http:
            transport = streamable_http_client(url, http_client=http)
            mode = "auto" if era == MODERN else "legacy"
            async with mcp.Client(transport, mode=mode, elicitation_callback=_accept) as client:
                assert client.protocol_version == era
                return await work(client)

    return anyio.run(main)


def call(url: str, era: str, name: str, arguments: dict[str, Any]) -> Any:
    async def work(client: Any) -> Any:
        return await client.call_tool(name, arguments)

    return on(url, era, work)


def ok(url: str, era: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = call(url, era, name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


def wait_for(url: str, era: str, exec_id: str, until: str = "finished") -> dict[str, Any]:
    for _ in range(6):
        waited = ok(url, era, "kitaru_executions_wait", {"exec_id": exec_id, "until": until})
        if not waited["timed_out"]:
            return waited["execution"]
    raise AssertionError(f"{exec_id} did not reach {until}")


@pytest.mark.parametrize("era", ERAS)
def test_an_idempotent_run_starts_one_execution_whichever_replica_gets_it(replicas, era):
    proxy = replicas.proxy
    arguments = {
        "target": "examples/two_steps.py:two_steps",
        "args": {"name": f"idem-{era}-{TAG}"},
        "idempotency_key": f"key-{era}-{TAG}",
    }
    first = ok(proxy.url, era, "kitaru_executions_run", arguments)
    again = ok(proxy.url, era, "kitaru_executions_run", arguments)
    assert proxy.tool_calls("kitaru_executions_run")[-2:] in ([0, 1], [1, 0])
    assert again["execution"]["exec_id"] == first["execution"]["exec_id"]
    assert (first["reused"], again["reused"]) == (False, True)

    other = {**arguments, "args": {"name": "something else"}}
    refused = call(proxy.url, era, "kitaru_executions_run", other)
    assert refused.is_error
    error = json.loads(refused.content[0].text)
    assert (error["code"], error["field"]) == ("conflict", "idempotency_key")

    # two replicas racing on one new key: one execution
    racing = {**arguments, "idempotency_key": f"race-{era}-{TAG}"}
    answers: list[Any] = [None, None]

    def replica(index: int) -> None:
        answers[index] = call(replicas.servers[index].url, era, "kitaru_executions_run", racing)

    threads = [threading.Thread(target=replica, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = {a.structured_content["execution"]["exec_id"] for a in answers if not a.is_error}
    for answer in answers:
        if answer.is_error:  # the loser of the race: retry later
            error = json.loads(answer.content[0].text)
            assert error["code"] == "conflict" and error.get("retryable"), error

    def settled() -> str | None:
        result = call(proxy.url, era, "kitaru_executions_run", racing)
        return None if result.is_error else result.structured_content["execution"]["exec_id"]

    final = wait_until(settled, timeout=60, interval=1)
    assert started <= {final} and len(started | {final}) == 1, (started, final)


def test_ask_user_round_trip_lands_on_both_replicas(replicas) -> None:
    """2026-07-28: the form from one replica, the answer through the other (the sealed
    requestState opens on both); 2025-11-25 stateless cannot push a form: not_supported."""
    proxy = replicas.proxy
    started = ok(
        proxy.url,
        MODERN,
        "kitaru_executions_run",
        {"target": "examples/approval.py:approval", "args": {"topic": f"replicas-{TAG}"}},
    )
    exec_id = started["execution"]["exec_id"]
    assert wait_for(proxy.url, MODERN, exec_id, "finished_or_waiting")["status"] == "waiting"

    legacy = ok(proxy.url, LEGACY, "kitaru_executions_ask_user", {"exec_id": exec_id})
    assert legacy["outcome"] == "not_supported"

    asked = ok(proxy.url, MODERN, "kitaru_executions_ask_user", {"exec_id": exec_id})
    legs = proxy.tool_calls("kitaru_executions_ask_user")[-2:]
    assert legs in ([0, 1], [1, 0]), f"the two legs on different replicas: {legs}"
    assert asked["outcome"] == "answered", asked
    assert wait_for(proxy.url, MODERN, exec_id)["status"] == "completed"


def test_cancel_through_the_other_replica_stops_the_runner(replicas) -> None:
    proxy = replicas.proxy
    started = ok(
        proxy.url,
        LEGACY,
        "kitaru_executions_run",
        {"target": "examples/slow.py:slow", "args": {"steps": 120, "seconds": 0.5}},
    )
    exec_id = started["execution"]["exec_id"]
    owner = proxy.tool_calls("kitaru_executions_run")[-1]
    other = 1 - owner
    pid = replicas.record(owner, exec_id)["pid"]
    assert replicas.record(other, exec_id) == {}, "the other replica knows nothing of it"

    cancelled = ok(
        replicas.servers[other].url, LEGACY, "kitaru_executions_cancel", {"exec_id": exec_id}
    )
    assert cancelled["exec_id"] == exec_id

    import psutil

    def runner_gone() -> bool:
        return not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"

    assert wait_until(runner_gone, timeout=30, interval=0.5), "the owner stopped its runner"
    final = wait_for(proxy.url, MODERN, exec_id)
    assert final["status"] in FINISHED - {"completed"}, final


def test_a_replica_killed_mid_run_leaves_the_run_going_and_the_survivor_serves(replicas):
    """Two runs on one replica, which is then killed: the run whose runner lives completes;
    the one whose runner died with it (its machine gone) is marked failed by the survivor,
    which knew nothing of it but its heartbeat in the server."""
    proxy, owner = replicas.proxy, 0
    start = {"target": "examples/slow.py:slow"}
    owner_url = replicas.servers[owner].url
    going = ok(owner_url, MODERN, "kitaru_executions_run", {**start, "args": {"steps": 6}})
    doomed = ok(
        owner_url,
        MODERN,
        "kitaru_executions_run",
        {**start, "args": {"steps": 200, "seconds": 0.5}},
    )
    going_id, doomed_id = going["execution"]["exec_id"], doomed["execution"]["exec_id"]
    doomed_pid = replicas.record(owner, doomed_id)["pid"]
    replicas.servers[owner].process.kill()
    replicas.servers[owner].process.wait(timeout=15)
    os.kill(doomed_pid, signal.SIGKILL)  # this runner dies with its machine

    for era in ERAS:
        assert ok(proxy.url, era, "kitaru_executions_get", {"exec_id": going_id})
    assert wait_for(proxy.url, MODERN, going_id)["status"] == "completed"
    assert wait_for(proxy.url, LEGACY, doomed_id)["status"] == "failed"
    listed = ok(proxy.url, LEGACY, "kitaru_executions_list", {"limit": 5})
    assert {going_id, doomed_id} <= {e["exec_id"] for e in listed["executions"]}
    assert {backend for backend, _, _ in proxy.served[-4:]} == {1 - owner}
    assert replicas.record(1 - owner, doomed_id) == {}, "the survivor never ran it"
