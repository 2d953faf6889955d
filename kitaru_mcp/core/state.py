"""Where the server keeps what outlives one call: runner records, jobs, exits and logs.

It lives beside Kitaru's own configuration (``$KITARU_CONFIG_PATH`` or
``~/.config/kitaru``), under ``mcp/``, unless ``KITARU_MCP_STATE_DIR`` says
otherwise. Nothing here imports Kitaru.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    explicit = os.environ.get("KITARU_MCP_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("KITARU_CONFIG_PATH")
    base = Path(config).expanduser() if config else Path.home() / ".config" / "kitaru"
    return base / "mcp"


def runs_dir() -> Path:
    path = state_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = state_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: readers see the old file or the new one, never half."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def record_path(exec_id: str) -> Path:
    return runs_dir() / f"{exec_id}.json"


def read_record(exec_id: str) -> dict[str, Any] | None:
    """What this server knows of an execution it started (target, runner pid, logs)."""
    return read_json(record_path(exec_id))


def subdir(name: str) -> Path:
    """A folder under the state dir (``reports``, ``jobs``, ``launches``, ``exits``), created."""
    path = state_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def exit_path(token: str) -> Path:
    """Where the exit status of the runner started for launch ``token`` is written."""
    return subdir("exits") / f"{token}.json"


def record_exit(token: str | None, pid: int, returncode: int, by: str) -> None:
    """Leave how runner ``pid`` ended (``returncode``, negative for a signal, whose name
    goes beside it) where any later server reads it; ``by`` says who saw it end (the
    runner itself, the template or the server). Never raises for a full or missing disk."""
    if not token:
        return
    record: dict[str, Any] = {"pid": pid, "returncode": returncode, "by": by, "at": time.time()}
    if returncode < 0:
        try:
            record["signal"] = signal.Signals(-returncode).name
        except ValueError:
            record["signal"] = f"signal {-returncode}"
    with contextlib.suppress(OSError):
        write_json(exit_path(token), record)


def pid_alive(pid: int | None, create_time: float | None = None) -> bool:
    """Whether ``pid`` is a live process (a zombie is not); see ``kitaru_mcp.core.processes``."""
    from kitaru_mcp.core import processes

    return processes.alive(pid, create_time)
