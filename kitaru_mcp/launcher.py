"""Start a runner process and wait only until it reports the exec_id.

Used by the run, replay, retry and resume handlers (inside a worker thread,
so the event loop never waits on it). The runner lives in its own session: it
keeps going when the server exits, and its output goes to a log file, never to
the server's stdout.

Warm runner: a runner started cold pays Python's and Kitaru's imports and the
store connection (several seconds) before it can start anything. A serving
process calls ``keep_warm()``, and from then on one runner is kept waiting,
already warmed up (``python -m kitaru_mcp.runner --warm``), for one job on its
stdin. ``launch`` hands the next job to it (renaming its log to the job's log
name) or, when none waits, starts a cold runner as before; the server's
``keep_warm()`` after that call starts the replacement (not earlier: on a
small machine its warm-up would slow the start it replaces). A waiting runner
exits by itself when its stdin closes or its parent changes, so none outlives
the server; once it got its job it is an ordinary runner.
``KITARU_MCP_WARM_RUNNER=0`` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
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
WARM_RUNNER_ENV = "KITARU_MCP_WARM_RUNNER"


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


def _spawn(arguments: list[str], log_file: Path, stdin: int) -> subprocess.Popen:
    """``python -m kitaru_mcp.runner <arguments>`` in its own session, output to ``log_file``."""
    env = {
        **os.environ,
        "KITARU_MCP_RUNNER_LOG": str(log_file),
        "PYTHONUNBUFFERED": "1",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
    }
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kitaru_mcp.runner", *arguments],
            stdin=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


@dataclass
class _Warm:
    process: subprocess.Popen
    log_file: Path


_warm_lock = threading.Lock()
_warm: _Warm | None = None
_keep_warm = False


def warm_runner_enabled() -> bool:
    return os.environ.get(WARM_RUNNER_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def keep_warm() -> None:
    """Have a warm runner waiting from now on (cheap when one already waits).

    The server calls this after each tool call, never before the first one:
    by then any embedded store the call needed exists, so the warm runner
    never races the server to create it.
    """
    global _keep_warm
    if not warm_runner_enabled():
        return
    if not _keep_warm:
        _keep_warm = True
        atexit.register(discard_warm)
    if not _warm_lock.acquire(blocking=False):
        return  # a refill or a hand-over is under way; the event loop never waits on it
    try:
        if _warm is not None and _warm.process.poll() is None:
            return
    finally:
        _warm_lock.release()
    threading.Thread(target=_refill, name="kitaru-warm-runner", daemon=True).start()


def _refill() -> None:
    global _warm
    with _warm_lock:
        if not _keep_warm or (_warm is not None and _warm.process.poll() is None):
            return
        log_file = state.logs_dir() / f"warm-{uuid.uuid4().hex[:12]}.log"
        try:
            _warm = _Warm(_spawn(["--warm"], log_file, subprocess.PIPE), log_file)
        except OSError:
            _warm = None


def discard_warm() -> None:
    """Let the waiting runner go (it exits when its stdin closes); the server is done."""
    global _warm, _keep_warm
    with _warm_lock:
        warm, _warm, _keep_warm = _warm, None, False
    if warm is not None:
        with contextlib.suppress(OSError):
            warm.process.stdin.close()


def _hand_to_warm(arguments: list[str], log_file: Path) -> subprocess.Popen | None:
    """Give the job to the waiting warm runner, if there is a live one."""
    global _warm
    with _warm_lock:
        warm, _warm = _warm, None
    if warm is None:
        return None
    job = json.dumps({"argv": arguments, "log": str(log_file), "cwd": os.getcwd()})
    try:
        if warm.process.poll() is not None:
            raise OSError("the warm runner is gone")
        os.replace(warm.log_file, log_file)  # its open log becomes the job's log
        warm.process.stdin.write(job.encode() + b"\n")
        warm.process.stdin.close()
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            warm.process.stdin.close()
        warm.log_file.unlink(missing_ok=True)
        return None
    return warm.process


def launch(operation: str, **options: str | None) -> Launched:
    """Run ``python -m kitaru_mcp.runner <operation>``; return once the exec_id is known.

    A warm runner takes the job when one waits; otherwise a cold one starts.
    """
    token = uuid.uuid4().hex[:12]
    log_file = state.logs_dir() / f"{operation}-{token}.log"
    report = state.state_dir() / "reports" / f"{token}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    arguments = [operation, "--report", str(report), *_flags(options)]
    process = _hand_to_warm(arguments, log_file)
    if process is None:
        process = _spawn(arguments, log_file, subprocess.DEVNULL)
    return _await_report(operation, process, report, log_file)


def _await_report(
    operation: str, process: subprocess.Popen, report: Path, log_file: Path
) -> Launched:
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
        time.sleep(0.02)
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


def shutdown() -> None:
    """Release the processes kept ready for starts (never a running flow)."""
    discard_warm()
