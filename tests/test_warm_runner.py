"""The runner template (fork-server): every start is a fork of one ready process.

Proves fork safety on real flows: concurrent forked runs all complete, the
template's memory and threads stay flat, it opens no database, it survives a
flow file that fails to import, it is replaced after a SIGKILL (the start in
between falls back to a cold runner), and it never outlives its server.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, wait_until
from mcp_client import StdioClient
from procs import server_pids, template_of
from test_lifecycle import FINISHED, until_status

from kitaru_mcp.core import processes as kprocesses
from kitaru_mcp.core import state

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]


def _start() -> tuple[StdioClient, int]:
    before = server_pids()
    client = StdioClient([sys.executable, "-m", "kitaru_mcp"], cwd=ROOT).start()
    (pid,) = server_pids() - before
    return client, pid


def _ready_template(server: int, warm: bool = False) -> int:
    """The server's template once it imported Kitaru (and, if ``warm``, read the store)."""
    template = wait_until(lambda: template_of(server), timeout=30, interval=0.1)
    log = next(f.path for f in psutil.Process(template).open_files() if "template-" in f.path)
    line = "template warm" if warm else "template ready"
    wait_until(lambda: line in Path(log).read_text(), timeout=120, interval=0.2)
    return template


def _run(client: StdioClient, name: str, **args: object) -> dict:
    return client.ok(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "args": {"name": name, **args}},
    )


def _forked_from(started: dict) -> int | None:
    """The template pid the runner's log names, or None for a cold runner."""
    first = Path(started["log_file"]).read_text().splitlines()[:1]
    if first and "forked from template" in first[0]:
        return int(first[0].split("template ")[1].split()[0])
    return None


@pytest.fixture(scope="module")
def served() -> tuple[StdioClient, int]:
    client, server = _start()
    yield client, server
    client.close()


def test_the_template_starts_after_the_warm_up_holding_nothing_open(served) -> None:
    _, server = served
    template = _ready_template(server)
    process = psutil.Process(template)
    assert process.ppid() == server
    assert os.getsid(template) != template, "the template stays in the server's session"
    assert process.num_threads() == 1
    # Once idle (its one warming read under the store lock may still be running on a
    # loaded machine), it holds no database file and no lock.
    deadline = time.monotonic() + 60
    while True:
        open_paths = [f.path for f in process.open_files()]
        held = [p for p in open_paths if p.endswith(".db") or "lock" in p]
        if not held or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not held, open_paths
    assert not [c for c in process.net_connections()]
    # its fd 1 is its log, never the server's protocol pipe
    assert any(f.fd == 1 and "template-" in f.path for f in process.open_files())


def test_ten_forked_runs_at_once_complete_and_the_template_stays_flat(served) -> None:
    client, server = served
    client.ok("kitaru_executions_list")  # the store exists: the template warms up once
    template = _ready_template(server, warm=True)
    rss_before = kprocesses.rss_bytes(template)
    threads_before = kprocesses.num_threads(template)
    with ThreadPoolExecutor(10) as pool:
        started = list(pool.map(lambda i: _run(client, f"Fork{i}"), range(10)))
    assert {_forked_from(s) for s in started} == {template}
    runners = {s["execution"]["exec_id"]: s for s in started}
    assert len(runners) == 10
    for i in range(10):  # ten more, one after the other (20 runs in all)
        started.append(_run(client, f"Seq{i}"))
        assert _forked_from(started[-1]) == template
    for one in started:
        done = until_status(client, one["execution"]["exec_id"], FINISHED, timeout=240)
        assert done["status"] == "completed", done
    assert template_of(server) == template, "one template served all 20 starts"
    rss_after = kprocesses.rss_bytes(template)
    assert kprocesses.num_threads(template) == threads_before == 1
    assert rss_after - rss_before < 10 * 2**20, (rss_before, rss_after)


def test_a_flow_that_fails_to_import_leaves_the_template_alive(served) -> None:
    client, server = served
    template = _ready_template(server)
    error = client.error("kitaru_executions_run", {"target": "examples/broken_import.py:flow"})
    assert error["code"] == "invalid_argument" and error["field"] == "target"
    assert "refuses to be imported" in error["message"]
    assert template_of(server) == template and kprocesses.alive(template)
    assert _forked_from(_run(client, "AfterBroken")) == template


def test_a_killed_template_falls_back_to_cold_and_is_replaced(served) -> None:
    client, server = served
    template = _ready_template(server)
    os.kill(template, signal.SIGKILL)
    wait_until(lambda: not kprocesses.alive(template), timeout=10, interval=0.05)
    cold = _run(client, "Cold")
    assert _forked_from(cold) is None, "the start after the kill runs cold"
    replacement = _ready_template(server)
    assert replacement != template
    warm = _run(client, "Replacement")
    assert _forked_from(warm) == replacement
    for one in (cold, warm):
        assert until_status(client, one["execution"]["exec_id"], FINISHED)["status"] == "completed"


def test_the_template_comes_before_the_handshake_and_serves_a_first_run(tmp_path: Path) -> None:
    """Spawned before the server's MCP import, the template is there once ``initialize`` is
    answered; a run as the session's very first call is a fork of it, answered with the
    execution its runner read (the same one ``get`` reads)."""
    before = server_pids()
    errors = tmp_path / "server.log"
    client = StdioClient(
        [sys.executable, "-m", "kitaru_mcp"], env={"KITARU_MCP_LOG_LEVEL": "DEBUG"}, cwd=ROOT
    ).start(errlog_path=errors)
    (server,) = server_pids() - before
    try:
        template = template_of(server)
        assert template is not None  # no waiting: it was spawned before the handshake
        lines = errors.read_text().splitlines()
        spawned = next(i for i, line in enumerate(lines) if f"template {template} spawned" in line)
        mcp_up = next(i for i, line in enumerate(lines) if "Initializing server" in line)
        assert spawned < mcp_up  # before the MCP server was built
        started = _run(client, "First")
        assert _forked_from(started) == template
        exec_id = started["execution"]["exec_id"]
        got = client.ok("kitaru_executions_get", {"exec_id": exec_id})
        assert started["execution"]["flow"] == got["flow"] == "two_steps"
        assert started["execution"]["started_at"] == got["started_at"]
    finally:
        client.close()


def test_no_template_outlives_its_server() -> None:
    client, server = _start()  # a clean exit (stdin closed) releases it
    template = _ready_template(server)
    client.close()
    wait_until(lambda: not kprocesses.alive(template), timeout=20, interval=0.2)

    client, server = _start()  # so does a SIGKILL of the server; the run goes on
    try:
        template = _ready_template(server)
        started = _run(client, "Orphan", delay=0.5)
        os.kill(server, signal.SIGKILL)
    finally:
        client.close()
    wait_until(lambda: not kprocesses.alive(template), timeout=20, interval=0.2)
    token = Path(started["log_file"]).stem.split("-")[-1]
    exit_record = wait_until(lambda: state.read_json(state.exit_path(token)), timeout=120)
    assert exit_record["returncode"] == 0 and exit_record["by"] == "runner"
    assert "shouted HELLO ORPHAN!" in Path(started["log_file"]).read_text()


def test_no_template_when_turned_off_or_read_only() -> None:
    for command, env in [
        ([sys.executable, "-m", "kitaru_mcp"], {"KITARU_MCP_WARM_RUNNER": "0"}),
        ([sys.executable, "-m", "kitaru_mcp", "--read-only"], {}),
    ]:
        before = server_pids()
        with StdioClient(command, env=env, cwd=ROOT) as client:
            (server,) = server_pids() - before
            assert client.list_tools()
            client.ok("kitaru_executions_list")  # the warm-up is over: a template would start
            time.sleep(1)  # now, so it would be there by now
            assert template_of(server) is None
