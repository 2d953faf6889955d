"""Idempotency keys for tools that start work: the same key and arguments, one execution.

Agents retry a call after a timeout; with an ``idempotency_key`` the retry gets
the execution the first call started instead of a second one. Keys live in the
state folder for a window (``KITARU_MCP_IDEMPOTENCY_WINDOW`` seconds, default
900), so they hold across server restarts and crashes.

A key is recorded as *pending* (with the launching process, then the runner's
pid and launch token as soon as the runner exists) before anything starts, and
the lock is not held while the runner starts. The same call then gets:

- the execution, once the key holds an exec_id (or its runner reported one to
  a server that crashed before recording it);
- ``StartInProgress`` (a retryable conflict) while the start is under way;
- a fresh start when the pending start's launcher and runner are both gone
  and no exec_id was ever reported (the key is released).

When the connection is a Kitaru server, ``runs.ProcessRuns`` keeps keys in the
server instead (``kitaru_mcp.runs.shared_keys``): replicas with their own state
directories then find them as this machine's workers find these files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kitaru_mcp.core import processes, settings, state
from kitaru_mcp.core.errors import Conflict
from kitaru_mcp.runs.shared_keys import StartInProgress

__all__ = ["StartInProgress", "start_once"]

WINDOW_S = settings.number("KITARU_MCP_IDEMPOTENCY_WINDOW")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An inter-process lock for one key (flock; the store lock's fallback elsewhere)."""
    from kitaru_mcp.gateway.store_lock import fcntl

    lock_file = path.with_suffix(".lock")
    if fcntl is None:  # pragma: no cover - not POSIX
        from kitaru_mcp.gateway.store_lock import _exclusive_file

        with _exclusive_file(lock_file.with_suffix(".excl"), 30.0):
            yield
        return
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _reported_exec_id(pending: dict[str, Any]) -> str | None:
    """The exec_id a pending start's runner reported, if a crash kept it from the key."""
    token = pending.get("token")
    if not token:
        return None
    report = state.read_json(state.subdir("reports") / f"{token}.json") or {}
    if report.get("exec_id"):
        return report["exec_id"]
    for path in state.runs_dir().glob("*.json"):
        record = state.read_json(path) or {}
        if record.get("token") == token:
            return record.get("exec_id") or path.stem
    return None


def _start_alive(pending: dict[str, Any]) -> bool:
    launcher_alive = processes.alive(pending.get("pid"), pending.get("create_time"))
    runner_alive = processes.alive(pending.get("runner_pid"), pending.get("runner_create_time"))
    return launcher_alive or runner_alive


def _key_path(tool: str, key: str) -> Path:
    folder = state.subdir("idempotency")
    return folder / f"{_digest([tool, key])[:32]}.json"


def _existing(path: Path, key: str, fingerprint: str, record: dict[str, Any] | None) -> str | None:
    """The exec_id to reuse for a live record; raise on a conflict; None to start anew."""
    if not record or time.time() - record["at"] >= WINDOW_S:
        return None
    if record["arguments"] != fingerprint:
        known = record.get("exec_id") or "still starting"
        raise Conflict(
            f"idempotency_key {key!r} was already used with different arguments "
            f"{time.time() - record['at']:.0f} s ago (execution {known}).",
            field="idempotency_key",
            hint="Use a new key for a different call, or repeat the same arguments.",
        )
    if record.get("exec_id"):
        return record["exec_id"]
    pending = record.get("pending") or {}
    reported = _reported_exec_id(pending)
    if reported:
        state.write_json(path, {**record, "exec_id": reported, "pending": None})
        return reported
    if _start_alive(pending):
        raise StartInProgress(
            f"idempotency_key {key!r}: the start it names is still in progress "
            f"(began {time.time() - pending.get('since', record['at']):.0f} s ago).",
            field="idempotency_key",
            hint="Call again in a few seconds with the same key: you will get its execution.",
        )
    return None  # the start died without an execution: release the key


def start_once(
    tool: str,
    key: str | None,
    arguments: dict[str, Any],
    start: Callable[[], str],
) -> tuple[str, bool]:
    """Run ``start`` (which returns an exec_id) once per key; return (exec_id, reused)."""
    if key is None:
        return start(), False
    from kitaru_mcp.runs import launcher

    path = _key_path(tool, key)
    fingerprint = _digest({k: v for k, v in arguments.items() if k != "idempotency_key"})
    with _locked(path):
        reused = _existing(path, key, fingerprint, state.read_json(path))
        if reused:
            return reused, True
        pending = {"pid": os.getpid(), "create_time": processes.create_time(), "since": time.time()}
        record = {"exec_id": None, "arguments": fingerprint, "at": time.time(), "pending": pending}
        state.write_json(path, record)

    def runner_started(launch: dict[str, Any]) -> None:
        pending.update(
            token=launch.get("token"),
            runner_pid=launch.get("runner_pid"),
            runner_create_time=launch.get("runner_create_time"),
        )
        with _locked(path):
            state.write_json(path, {**record, "pending": pending})

    try:
        with launcher.observe(runner_started):
            exec_id = start()
    except BaseException:
        with _locked(path), contextlib.suppress(OSError):
            current = state.read_json(path) or {}
            if current.get("pending", {}) and current["pending"].get("since") == pending["since"]:
                path.unlink()  # nothing started: the key is free again
        raise
    with _locked(path):
        state.write_json(path, {**record, "exec_id": exec_id, "pending": None})
    return exec_id, False
