"""Start a runner process and wait only until it reports the exec_id.

Used by the run, replay, retry and resume handlers (inside a worker thread,
so the event loop never waits on it). The runner lives in its own session: it
keeps going when the server exits, and its output goes to a log file, never to
the server's stdout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kitaru_mcp import state
from kitaru_mcp.errors import Internal, Timeout, failure_from_dict

START_TIMEOUT_S = float(os.environ.get("KITARU_MCP_START_TIMEOUT", "300"))


@dataclass(frozen=True)
class Launched:
    exec_id: str
    log_file: str | None
    pid: int


def _flags(options: dict[str, str | None]) -> list[str]:
    flags: list[str] = []
    for name, value in options.items():
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", value]
    return flags


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def launch(operation: str, **options: str | None) -> Launched:
    """Spawn ``python -m kitaru_mcp.runner <operation>``; return once the exec_id is known."""
    token = uuid.uuid4().hex[:12]
    log_file = state.logs_dir() / f"{operation}-{token}.log"
    report = state.state_dir() / "reports" / f"{token}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "kitaru_mcp.runner", operation, "--report", str(report)]
    env = {
        **os.environ,
        "KITARU_MCP_RUNNER_LOG": str(log_file),
        "PYTHONUNBUFFERED": "1",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
    }
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            command + _flags(options),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    deadline = time.monotonic() + START_TIMEOUT_S
    data = None
    while data is None:
        data = state.read_json(report)
        if data is not None:
            break
        if process.poll() is not None:
            data = state.read_json(report)
            if data is None:
                raise Internal(
                    f"The runner for {operation} exited with code {process.returncode} "
                    f"before the execution started. Last log lines:\n{_log_tail(log_file)}",
                    hint=f"Full log: {log_file}",
                )
            break
        if time.monotonic() > deadline:
            _kill_group(process.pid)
            raise Timeout(
                f"{operation} did not start an execution within {START_TIMEOUT_S:.0f} s.",
                hint=f"See the runner log {log_file}.",
            )
        time.sleep(0.05)
    report.unlink(missing_ok=True)
    threading.Thread(target=process.wait, daemon=True).start()  # reap it when it ends
    if "error" in data:
        raise failure_from_dict(data["error"])
    return Launched(exec_id=data["exec_id"], log_file=str(log_file), pid=process.pid)


def is_our_runner(pid: int | None) -> bool:
    """Whether ``pid`` is a live runner process (not a recycled pid)."""
    if not state.pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"kitaru_mcp.runner" in cmdline


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_runner(pid: int | None, grace_s: float = 2.0) -> bool:
    """Stop a runner's whole process group: SIGTERM, then SIGKILL. True if one was stopped."""
    if not pid or not is_our_runner(pid):
        return False
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and state.pid_alive(pid):
        time.sleep(0.05)
    if state.pid_alive(pid):
        _kill_group(pid, signal.SIGKILL)
    return True
