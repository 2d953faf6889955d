"""Runner heartbeats in the Kitaru server: dead runners noticed by every replica.

A replica's reaper only sees the runners of its own machine (their records are
in its state directory). When the connection is a Kitaru server, a runner also
keeps the ZenML tag ``kitaru-mcp-alive-<exec_id>`` fresh (its ``updated``
touched every ``BEAT_S``) while it carries the flow. Every replica's reaper
looks at those tags: one untouched for ``LEASE_S`` whose execution the server
still shows live belongs to a runner that died with its machine (or whose
replica cannot see it any more); the execution is marked failed, as a local
reaper would, and the tag deleted. Tags of executions that ended are deleted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from kitaru_mcp.core import settings
from kitaru_mcp.core.statuses import LIVE_RUN_STATUSES

PREFIX = "kitaru-mcp-alive-"
LEASE_S = settings.number("KITARU_MCP_RUNNER_LEASE")
BEAT_S = max(0.5, min(5.0, LEASE_S / 5))

logger = logging.getLogger("kitaru_mcp")


def tag(exec_id: str) -> str:
    return f"{PREFIX}{exec_id}"


def _server() -> Any:
    from kitaru_mcp.gateway import claims

    return claims.ServerClaims()


def start_beating(exec_id: str, server: Any = None) -> threading.Thread:
    """In a runner: keep the execution's alive tag fresh until this process ends."""
    server = server or _server()
    name = tag(exec_id)

    def beat() -> None:
        with contextlib.suppress(Exception):  # a missed beat only shortens the lease
            if not server.create(name):
                server.touch(name)  # a retry or resume of the same execution
        while True:
            time.sleep(BEAT_S)
            with contextlib.suppress(Exception):
                server.touch(name)

    thread = threading.Thread(target=beat, name="kitaru-heartbeat", daemon=True)
    thread.start()
    return thread


def stop_beating(exec_id: str, server: Any = None) -> None:
    """The runner is done with the execution: its tag goes (best effort)."""
    with contextlib.suppress(Exception):
        (server or _server()).release(tag(exec_id))


def reconcile(mine: set[str], status: Any, fail: Any, server: Any = None) -> int:
    """One pass over every runner's heartbeat; the number of executions marked failed.
    ``mine``: executions whose runner this machine sees alive (never judged here)."""
    server = server or _server()
    failed = 0
    now = time.time()
    for name, _created, updated in server.claims(PREFIX):
        exec_id = name[len(PREFIX) :]
        if exec_id in mine or now - updated < LEASE_S:
            continue
        try:
            current = status(exec_id)
        except Exception as exc:  # busy, or not in this server: next pass decides
            logger.info("heartbeats: cannot look at %s: %s", exec_id, exc)
            continue
        if current in LIVE_RUN_STATUSES:
            reason = f"runner died: no heartbeat for {now - updated:.0f} s (its machine is gone?)"
            fail(exec_id, reason)
            logger.warning("execution %s: %s; marked failed", exec_id, reason)
            failed += 1
        with contextlib.suppress(Exception):
            server.release(name)
    return failed
