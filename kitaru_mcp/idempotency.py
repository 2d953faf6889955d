"""Idempotency keys for tools that start work: the same key and arguments, one execution.

Agents retry a call after a timeout; with an ``idempotency_key`` the retry gets
the execution the first call started instead of a second one. Keys live in the
state folder for a window (``KITARU_MCP_IDEMPOTENCY_WINDOW`` seconds, default
900), so they hold across server restarts.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kitaru_mcp import state
from kitaru_mcp.errors import Conflict

WINDOW_S = float(os.environ.get("KITARU_MCP_IDEMPOTENCY_WINDOW", "900"))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@contextmanager
def _locked(path) -> Iterator[None]:
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_once(
    tool: str,
    key: str | None,
    arguments: dict[str, Any],
    start: Callable[[], str],
) -> tuple[str, bool]:
    """Run ``start`` (which returns an exec_id) once per key; return (exec_id, reused)."""
    if key is None:
        return start(), False
    folder = state.state_dir() / "idempotency"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_digest([tool, key])[:32]}.json"
    fingerprint = _digest({k: v for k, v in arguments.items() if k != "idempotency_key"})
    with _locked(path):
        record = state.read_json(path)
        if record and time.time() - record["at"] < WINDOW_S:
            if record["arguments"] != fingerprint:
                raise Conflict(
                    f"idempotency_key {key!r} was already used with different arguments "
                    f"{time.time() - record['at']:.0f} s ago (execution {record['exec_id']}).",
                    field="idempotency_key",
                    hint="Use a new key for a different call, or repeat the same arguments.",
                )
            return record["exec_id"], True
        exec_id = start()
        state.write_json(path, {"exec_id": exec_id, "arguments": fingerprint, "at": time.time()})
        return exec_id, False
