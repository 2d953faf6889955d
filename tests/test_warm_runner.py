"""The warm runner: it takes the next run, and none is left waiting once its server is gone."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from conftest import ROOT, wait_until
from mcp_client import StdioClient
from test_lifecycle import FINISHED, run, until_status


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every live (non-zombie) process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if stat[0] != "Z":
            found[int(entry.name)] = (int(stat[1]), cmdline)
    return found


def _server_pid(before: set[int]) -> int:
    """The kitaru-mcp server this test started (a child of this process)."""
    (pid,) = {
        pid
        for pid, (parent, cmdline) in _processes().items()
        if parent == os.getpid() and b"kitaru_mcp" in cmdline and pid not in before
    }
    return pid


def _waiting_warm_runners(server: int | None = None) -> set[int]:
    """Warm runners still waiting for a job (their stdin is the server's pipe)."""
    waiting = set()
    for pid, (parent, cmdline) in _processes().items():
        if b"kitaru_mcp.runner --warm" not in cmdline or (server and parent != server):
            continue
        try:
            if os.readlink(f"/proc/{pid}/fd/0").startswith("pipe:"):
                waiting.add(pid)
        except OSError:
            continue
    return waiting


def _ready(pid: int) -> bool:
    log = Path(os.readlink(f"/proc/{pid}/fd/1"))
    return "warm runner ready" in log.read_text(errors="replace")


def test_a_warm_runner_takes_the_run_and_exits_with_its_server() -> None:
    before = set(_processes())
    client = StdioClient([sys.executable, "-m", "kitaru_mcp"], cwd=ROOT).start()
    try:
        server = _server_pid(before)
        assert not _waiting_warm_runners(server), "no warm runner before the first call"
        client.ok("kitaru_status")
        (warm,) = wait_until(lambda: _waiting_warm_runners(server), timeout=60, interval=0.2)
        wait_until(lambda: _ready(warm), timeout=120, interval=0.2)

        started = run(client, "examples/two_steps.py:two_steps", name="Warm")
        log = Path(started["log_file"]).read_text()
        assert "warm runner ready" in log and f"pid {warm}" in log
        replacement = wait_until(lambda: _waiting_warm_runners(server), timeout=60, interval=0.2)
        assert warm not in replacement
        done = until_status(client, started["execution"]["exec_id"], FINISHED)
        assert done["status"] == "completed"
    finally:
        client.close()
    assert wait_until(lambda: not _waiting_warm_runners(server), timeout=20, interval=0.2)


def test_a_killed_server_leaves_no_warm_runner_waiting() -> None:
    before = set(_processes())
    client = StdioClient([sys.executable, "-m", "kitaru_mcp"], cwd=ROOT).start()
    try:
        server = _server_pid(before)
        client.ok("kitaru_status")
        (warm,) = wait_until(lambda: _waiting_warm_runners(server), timeout=60, interval=0.2)
        os.kill(server, signal.SIGKILL)
    finally:
        client.close()
    assert wait_until(lambda: warm not in _waiting_warm_runners(), timeout=20, interval=0.2)


def test_no_warm_runner_when_turned_off_or_read_only() -> None:
    for command, env in [
        ([sys.executable, "-m", "kitaru_mcp"], {"KITARU_MCP_WARM_RUNNER": "0"}),
        ([sys.executable, "-m", "kitaru_mcp", "--read-only"], {}),
    ]:
        before = set(_processes())
        with StdioClient(command, env=env, cwd=ROOT) as client:
            server = _server_pid(before)
            client.ok("kitaru_status")
            client.ok("kitaru_executions_list")
            time.sleep(1)  # a warm runner would be on its way by now
            assert not _waiting_warm_runners(server)
