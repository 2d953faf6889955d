"""Notice runner deaths: an execution whose runner died must not say "running" forever.

A small background thread in the server reconciles the executions launched
from this HOME (runner records in ``state.runs_dir()``): once at start, then
every ``INTERVAL_S`` while any of them still has a live runner or a launch is
under way. A record whose runner process is gone, whose execution is not being
started again (no launch file for it), and whose execution the store still
shows as live, is marked failed in the store with the reason the runner's
parent recorded ("runner process N died: SIGKILL", "... exited with code C")
or what is known ("runner process N died"). ``get``, ``wait`` and ``list``
then report it failed, and ``retry`` works.

It begins once the client listed the tools (``begin()``, from the server's
``tools/list`` and ``tools/call`` handlers), then makes its first pass.

On a Kitaru server connection, a live runner whose execution the store says
was asked to stop (``stopping`` or ``stopped``: a ``cancel`` through another
replica, which cannot reach this machine's processes, leaves that request in
the server) is stopped here once the request is ``STOP_GRACE_S`` old, and the
execution recorded ``stopped``. (On the embedded store every server of the
machine stops runners itself, so the store is not asked on every pass.)

With a Kitaru server as the connection it also reads every replica's runner
heartbeats (``kitaru_mcp.runs.heartbeats``), every ``SHARED_INTERVAL_S`` even when
nothing lives here: a runner that died with its machine is noticed by the
others.

A record is marked ``settled`` once its runner is gone and the store agrees it
ended, so it is not looked at again (until a new runner reports on it).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from typing import Any

from kitaru_mcp.core import processes, state
from kitaru_mcp.core.errors import is_not_found
from kitaru_mcp.core.statuses import LIVE_RUN_STATUSES
from kitaru_mcp.runs import heartbeats, launcher

INTERVAL_S = 2.0
logger = logging.getLogger("kitaru_mcp")

_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def poke() -> None:
    """A launch happened: scan soon, and keep scanning while it lives."""
    _wake.set()


def _launches_in_flight() -> tuple[set[str], int]:
    """exec_ids being started again right now, and how many launches are under way."""
    busy: set[str] = set()
    count = 0
    folder = state.subdir("launches")
    for path in folder.glob("*.json"):
        record = state.read_json(path)
        if not record:
            continue
        live = processes.alive(
            record.get("launcher_pid"), record.get("launcher_create_time")
        ) or processes.alive(record.get("runner_pid"), record.get("runner_create_time"))
        if not live:
            with contextlib.suppress(OSError):
                path.unlink()  # its launcher and runner are both gone
            continue
        count += 1
        if record.get("exec_id"):
            busy.add(record["exec_id"])
    return busy, count


def _runner_alive(record: dict[str, Any]) -> bool:
    return processes.is_runner(record.get("pid"), record.get("create_time"))


STOP_REQUESTED = frozenset({"stopping", "stopped"})
STOP_GRACE_S = 3.0  # as long as cancel itself waits for a graceful stop
_stop_seen: dict[str, float] = {}


def _stop_if_requested(exec_id: str, record: dict[str, Any], status: Any, stop: Any) -> None:
    """A live runner whose execution was asked to stop (by a cancel through any replica:
    the request is in the store) and has not within ``STOP_GRACE_S``: stop it here."""
    try:
        current = status(exec_id)
    except Exception:  # the store may be busy: next pass
        return
    if current not in STOP_REQUESTED:
        _stop_seen.pop(exec_id, None)
        return
    since = _stop_seen.setdefault(exec_id, time.monotonic())
    if time.monotonic() - since < STOP_GRACE_S:
        return
    _stop_seen.pop(exec_id, None)
    logger.warning("execution %s: a stop was requested (%s); stopping its runner", exec_id, current)
    stop(exec_id, record.get("pid"))


def _stop_runner(exec_id: str, pid: int | None) -> None:
    from kitaru_mcp.gateway import runtime

    launcher.stop_runner(pid)
    if runtime.run_status(exec_id) in LIVE_RUN_STATUSES | {"stopping"}:
        runtime.mark_stopped(exec_id)


def reconcile(fail: Any = None, status: Any = None, stop: Any = None) -> int:
    """One pass over the runner records; the number still live (runners or launches).

    ``fail(exec_id, reason)``, ``status(exec_id)`` and ``stop(exec_id, pid)`` default
    to the gateway's ``runtime.mark_failed`` and ``runtime.run_status``, and stopping
    the runner (tests pass fakes).
    """
    busy, live = _launches_in_flight()
    alive = _alive_here
    alive.clear()
    for path in state.runs_dir().glob("*.json"):
        record = state.read_json(path)
        if not record or record.get("settled") or not record.get("pid"):
            continue
        if record.get("elsewhere"):  # a remote orchestrator carries it: our exit means nothing
            continue
        exec_id = record.get("exec_id") or path.stem
        if _runner_alive(record):
            live += 1
            alive.add(exec_id)
            if status is None and _on_a_server:  # stop requests come from other replicas
                from kitaru_mcp.gateway import runtime

                status = runtime.run_status
            if status is not None:
                _stop_if_requested(exec_id, record, status, stop or _stop_runner)
            continue
        if exec_id in busy:
            continue
        if status is None or fail is None:
            from kitaru_mcp.gateway import runtime

            status = status or runtime.run_status
            fail = fail or runtime.mark_failed
        try:
            current = status(exec_id)
            if current in LIVE_RUN_STATUSES:
                if _exit_status_due(exec_id, record.get("token")):
                    live += 1  # look again next pass, when the template has recorded it
                    continue
                _dead_since.pop(exec_id, None)
                reason = launcher.exit_reason(record.get("token"), record.get("pid"))
                fail(exec_id, reason)
                logger.warning("execution %s: %s; marked failed", exec_id, reason)
                record["reconciled"] = reason
        except Exception as exc:  # the store may be busy or gone; try again next pass
            if not is_not_found(exc):
                logger.info("reaper: cannot reconcile %s: %s", exec_id, exc)
                continue
            record["reconciled"] = "not in this store"
        latest = state.read_json(path) or {}
        if latest.get("pid") == record.get("pid"):  # no new runner reported meanwhile
            state.write_json(path, {**latest, **record, "settled": True})
    return live


_alive_here: set[str] = set()  # executions whose runner this machine saw alive last pass
# A runner that just died is reaped by whoever started it (the template polls every
# 0.25 s) before its exit status is on record: its failure waits that long for it.
EXIT_STATUS_GRACE_S = 1.0
_dead_since: dict[str, float] = {}


def _exit_status_due(exec_id: str, token: str | None) -> bool:
    """Whether a dead runner's exit status may still be on its way (first seen dead less
    than ``EXIT_STATUS_GRACE_S`` ago, none recorded yet): then its reason waits a pass."""
    if not token or state.read_json(state.exit_path(token)) is not None:
        return False
    first = _dead_since.setdefault(exec_id, time.monotonic())
    return time.monotonic() - first < EXIT_STATUS_GRACE_S


# The connection is a Kitaru server (as the last pass found): only then can a stop be
# requested where this machine's cancel cannot see it, so only then is the store asked.
_on_a_server = False
SHARED_INTERVAL_S = max(INTERVAL_S, heartbeats.LEASE_S / 3)


def _shared() -> bool | None:
    """The connection is a Kitaru server: other replicas' runners are ours to watch too.
    None while nothing has imported Kitaru yet: the reaper never imports it first (a
    server imports it after ``tools/list``, and two first imports of ZenML deadlock)."""
    if "kitaru.client" not in sys.modules:
        return None
    from kitaru_mcp.gateway import backend, sdk

    sdk.import_sdk()  # waits for an import still under way
    return backend.server_url() is not None


def _set_on_a_server(value: bool) -> None:
    global _on_a_server
    _on_a_server = value


def _reconcile_heartbeats() -> None:
    """Runners of any replica that stopped beating (``kitaru_mcp.runs.heartbeats``)."""
    from kitaru_mcp.gateway import runtime

    heartbeats.reconcile(set(_alive_here), runtime.run_status, runtime.mark_failed)


BEGIN_AT_THE_LATEST_S = 10.0
AFTER_BEGIN_S = 0.1
_begun = threading.Event()


def begin() -> None:
    """The client listed the tools (or made a call): the reaper may go to work.

    Until then it does nothing, so ``initialize`` and ``tools/list`` never share the
    process with a Kitaru import (a server that never hears ``tools/list`` still
    begins ``BEGIN_AT_THE_LATEST_S`` after start).
    """
    _begun.set()


def _loop() -> None:
    _begun.wait(BEGIN_AT_THE_LATEST_S)
    if _stop.wait(AFTER_BEGIN_S):  # the tools/list answer goes out first
        return
    while not _stop.is_set():
        _wake.clear()  # before the pass: a launch during it wakes the wait below at once
        shared: bool | None = None
        try:
            live = reconcile()
            shared = _shared()
            _set_on_a_server(bool(shared))
            if shared:
                _reconcile_heartbeats()
        except Exception:
            logger.exception("reaper pass failed")
            live = 1
        if live:
            _stop.wait(INTERVAL_S)
        else:  # nothing live here: sleep until a launch pokes us (or the next shared look)
            _wake.wait(SHARED_INTERVAL_S if shared is not False else None)
            _stop.wait(INTERVAL_S / 4)  # let the new runner report first


def start() -> None:
    """Start the reaper thread (once per process): a pass once the client listed the
    tools, then while anything lives. (The server's own warm-up gets Kitaru ready.)"""
    global _thread
    launcher.on_launch(poke)
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(target=_loop, name="kitaru-reaper", daemon=True)
        _thread.start()


def stop() -> None:
    """Stop the reaper thread (the server is shutting down)."""
    _stop.set()
    _wake.set()
    _begun.set()
