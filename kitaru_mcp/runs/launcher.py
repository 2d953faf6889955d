"""Start a runner process and wait only until it reports the exec_id.

Used by the run, replay, retry and resume handlers (inside a worker thread,
so the event loop never waits on it). The runner lives in its own session: it
keeps going when the server exits, and its output goes to a log file, never to
the server's stdout.

The job travels as data: a JSON job file under the state dir (no tool argument
ever reaches a command line, so no option injection and no argv size limit).
``launch`` writes the job file and asks the runner template (``forkserver``) to
``fork()`` a runner for it; if the template is dead or missing, or ``fork`` is
unavailable, the start falls back to a cold runner (``python -m
kitaru_mcp.runs.runner --job <file>``), logs why, and a new template is started.

Every launch leaves a launch file (``launches/<token>.json``: operation,
source exec_id, launcher and runner pid) until its report is read, so the
reaper never takes a retry's old runner for the live one; each runner's exit
status lands in ``exits/<token>.json`` (written by the template, by the
server's waiter thread for a cold runner, or by the runner itself).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kitaru_mcp.core import processes, settings, state
from kitaru_mcp.core.errors import Internal, Timeout, failure_from_dict
from kitaru_mcp.observe import tracing
from kitaru_mcp.runs import forkserver
from kitaru_mcp.runs.port import Launched

START_TIMEOUT_S = settings.number("KITARU_MCP_START_TIMEOUT")

logger = logging.getLogger("kitaru_mcp")


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _spawn_cold(job_file: Path, log_file: Path) -> subprocess.Popen:
    """``python -m kitaru_mcp.runs.runner --job <file>``: own session, output to ``log_file``."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kitaru_mcp.runs.runner", "--job", str(job_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=forkserver.runner_env(log_file),
            start_new_session=True,
        )


# --- observers (idempotency records the runner as soon as it exists) -----------------

_observers = threading.local()


@contextlib.contextmanager
def observe(callback: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Call ``callback(launch_record)`` in this thread once a launch's runner exists."""
    previous = getattr(_observers, "callback", None)
    _observers.callback = callback
    try:
        yield
    finally:
        _observers.callback = previous


@contextlib.contextmanager
def tagging(tag: str) -> Iterator[None]:
    """Launches from this thread carry ``tag`` (an idempotency claim, ``shared_keys``):
    the runner puts it on the execution the moment the exec_id exists."""
    previous = getattr(_observers, "tag", None)
    _observers.tag = tag
    try:
        yield
    finally:
        _observers.tag = previous


def _notify(record: dict[str, Any]) -> None:
    callback = getattr(_observers, "callback", None)
    if callback is not None:
        callback(dict(record))


# --- launching -----------------------------------------------------------------------


def launch_path(token: str) -> Path:
    return state.subdir("launches") / f"{token}.json"


def launch(operation: str, **options: str | None) -> Launched:
    """Start ``operation`` in a runner (forked from the template, else cold); return once
    the exec_id is known. ``options`` are the runner's inputs (target, args, exec_id...).

    Traced, the launch is a span, and its context goes with the job: the runner's own
    span is its child."""
    attributes = {tracing.OPERATION: operation, tracing.EXEC_ID: options.get("exec_id")}
    with tracing.span(f"kitaru_mcp.runner.launch {operation}", **attributes) as span:
        launched = _launch(operation, options, tracing.carrier())
        tracing.annotate(span, **{tracing.EXEC_ID: launched.exec_id, tracing.OUTCOME: "ok"})
        return launched


def _launch(operation: str, options: dict[str, str | None], trace: dict | None) -> Launched:
    token = uuid.uuid4().hex[:12]
    log_file = state.logs_dir() / f"{operation}-{token}.log"
    report = state.subdir("reports") / f"{token}.json"
    job_file = state.subdir("jobs") / f"{token}.json"
    job = {
        "token": token,
        "operation": operation,
        "options": {k: v for k, v in options.items() if v is not None},
        "report": str(report),
        "log": str(log_file),
        "cwd": os.getcwd(),
    }
    if trace:
        job["trace"] = trace  # W3C trace context: the runner's span joins the launch's trace
    tag = getattr(_observers, "tag", None)
    if tag:
        job["tag"] = tag  # found again by any replica (kitaru_mcp.runs.shared_keys)
    state.write_json(job_file, job)
    record: dict[str, Any] = {
        "token": token,
        "operation": operation,
        "exec_id": options.get("exec_id"),
        "launcher_pid": os.getpid(),
        "launcher_create_time": processes.create_time(),
        "at": time.time(),
        "log": str(log_file),
        "report": str(report),
    }
    state.write_json(launch_path(token), record)
    process: subprocess.Popen | None = None
    try:
        try:
            pid, create_time = forkserver.fork_runner(token, job_file, log_file)
            record["via"] = "template"
        except forkserver.TemplateUnavailable as exc:
            if forkserver.serving():  # a server with a template; `kitaru-mcp call` never has one
                logger.warning("runner template unavailable (%s): starting a cold runner", exc)
            process = _spawn_cold(job_file, log_file)
            pid, create_time = process.pid, processes.create_time(process.pid)
            record["via"] = "cold"
            threading.Thread(target=_reap_cold, args=(process, token), daemon=True).start()
            if (
                forkserver.serving()
            ):  # a new template for the next start, after this one is on its way
                threading.Thread(target=forkserver.start_template, daemon=True).start()
        record.update(runner_pid=pid, runner_create_time=create_time)
        tracing.event("runner started", via=record["via"], pid=pid)
        state.write_json(launch_path(token), record)
        _notify(record)
        _after_launch()
        return _await_report(operation, token, pid, create_time, process, report, log_file)
    finally:
        launch_path(token).unlink(missing_ok=True)
        job_file.unlink(missing_ok=True)


def _reap_cold(process: subprocess.Popen, token: str) -> None:
    """Wait for a cold runner and record how it ended (while this server lives)."""
    state.record_exit(token, process.pid, process.wait(), "server")


_launch_hooks: list[Callable[[], None]] = []


def on_launch(hook: Callable[[], None]) -> None:
    """Call ``hook()`` after every launch (the reaper's wake-up); once per hook."""
    if hook not in _launch_hooks:
        _launch_hooks.append(hook)


def _after_launch() -> None:
    for hook in list(_launch_hooks):
        with contextlib.suppress(Exception):
            hook()


def exit_reason(token: str | None, pid: int | None) -> str:
    """How runner ``pid`` ended, as far as anyone recorded it."""
    record = state.read_json(state.exit_path(token)) if token else None
    if record and record.get("signal"):
        return f"runner process {pid} died: {record['signal']}"
    if record and record.get("returncode") is not None:
        return f"runner process {pid} exited with code {record['returncode']}"
    return f"runner process {pid} died (no exit status was recorded)"


def _runner_gone(pid: int, create_time: float | None, process: subprocess.Popen | None) -> bool:
    if process is not None:
        return process.poll() is not None
    return not processes.alive(pid, create_time)


def _await_report(
    operation: str,
    token: str,
    pid: int,
    create_time: float | None,
    process: subprocess.Popen | None,
    report: Path,
    log_file: Path,
) -> Launched:
    deadline = time.monotonic() + START_TIMEOUT_S
    data = None
    while data is None:
        data = state.read_json(report)
        if data is not None:
            break
        if _runner_gone(pid, create_time, process):
            data = state.read_json(report)
            if data is None:
                time.sleep(0.3)  # let the template record the exit status
                raise Internal(
                    f"The runner for {operation} ended before the execution started "
                    f"({exit_reason(token, pid)}). Last log lines:\n{_log_tail(log_file)}",
                    hint=f"Full log: {log_file}",
                )
            break
        if time.monotonic() > deadline:
            stop_runner(pid)
            raise Timeout(
                f"{operation} did not start an execution within {START_TIMEOUT_S:.0f} s.",
                hint=f"See the runner log {log_file}.",
            )
        time.sleep(0.02)
    report.unlink(missing_ok=True)
    if "error" in data:
        raise failure_from_dict(data["error"])
    execution = data.get("execution")
    return Launched(
        exec_id=data["exec_id"],
        log_file=str(log_file),
        execution=execution if isinstance(execution, dict) else None,
    )


# --- runner processes ------------------------------------------------------------------


def is_our_runner(pid: int | None, create_time: float | None = None) -> bool:
    """Whether ``pid`` is a live runner process (not a recycled pid, not the template)."""
    return processes.is_runner(pid, create_time)


def stop_runner(pid: int | None, grace_s: float = 2.0) -> bool:
    """Stop a runner's process tree (SIGTERM, then SIGKILL). True if one was stopped."""
    if not pid or not is_our_runner(pid):
        return False
    processes.stop_tree(pid, grace_s=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # anything left in its session
    return True
