"""Start a runner process and wait only until it reports the exec_id.

Used by the run, replay, retry and resume handlers (inside a worker thread,
so the event loop never waits on it). The runner lives in its own session: it
keeps going when the server exits, and its output goes to a log file, never to
the server's stdout.

The job travels as data: a JSON job file under the state dir (no tool argument
ever reaches a command line, so no option injection and no argv size limit).

Fork-server: a serving process calls ``serve_template()`` once, and
``start_template()`` when the template is first needed (the server: once its
warm-up is over, so the two never compete for the CPU, or when a call that starts
runners arrives, whichever comes first); one template
process (``python -m kitaru_mcp.runner --template``, see
``kitaru_mcp.template``) imports Kitaru and waits. ``launch`` writes the job
file and asks the template to ``fork()``: the child is a ready runner at once,
and the template stays for the next start (nothing to refill). If the template
is dead or missing, or ``fork`` is unavailable, the start falls back to a cold
runner (``python -m kitaru_mcp.runner --job <file>``), logs why, and a new
template is started. ``shutdown()`` lets the template go (never a runner).
``KITARU_MCP_WARM_RUNNER=0`` turns the template off.

Every launch leaves a launch file (``launches/<token>.json``: operation,
source exec_id, launcher and runner pid) until its report is read, so the
reaper never takes a retry's old runner for the live one; each runner's exit
status lands in ``exits/<token>.json`` (written by the template, by the
server's waiter thread for a cold runner, or by the runner itself).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kitaru_mcp import processes, state
from kitaru_mcp.errors import Internal, Timeout, failure_from_dict
from kitaru_mcp.observe import tracing
from kitaru_mcp.runs_port import Launched

START_TIMEOUT_S = float(os.environ.get("KITARU_MCP_START_TIMEOUT", "300"))
FORK_REPLY_TIMEOUT_S = 30.0
WARM_RUNNER_ENV = "KITARU_MCP_WARM_RUNNER"
REPLY_FD_ENV = "KITARU_MCP_TEMPLATE_REPLY_FD"

logger = logging.getLogger("kitaru_mcp")


class TemplateUnavailable(Exception):
    """The template cannot take this job; start a cold runner instead."""


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _runner_env(log_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KITARU_MCP_RUNNER_LOG": str(log_file),
        "PYTHONUNBUFFERED": "1",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
    }


def _spawn_cold(job_file: Path, log_file: Path) -> subprocess.Popen:
    """``python -m kitaru_mcp.runner --job <file>`` in its own session, output to ``log_file``."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kitaru_mcp.runner", "--job", str(job_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_runner_env(log_file),
            start_new_session=True,
        )


# --- the template --------------------------------------------------------------------


class _Template:
    """The server's handle on its template: job pipe in, reply pipe out."""

    def __init__(self) -> None:
        self.log_file = state.logs_dir() / f"template-{uuid.uuid4().hex[:12]}.log"
        read_fd, write_fd = os.pipe()
        try:
            env = {**_runner_env(self.log_file), REPLY_FD_ENV: str(write_fd)}
            with open(self.log_file, "ab") as out:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kitaru_mcp.runner", "--template"],
                    stdin=subprocess.PIPE,
                    stdout=out,  # never the server's fd 1: that is the protocol's
                    stderr=subprocess.STDOUT,
                    env=env,
                    pass_fds=(write_fd,),
                )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.reply_fd = read_fd
        self.buffer = b""
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read_reply(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TemplateUnavailable("the template did not answer")
            readable, _, _ = select.select([self.reply_fd], [], [], min(left, 0.5))
            if not readable:
                if not self.alive():
                    raise TemplateUnavailable("the template exited")
                continue
            chunk = os.read(self.reply_fd, 4096)
            if not chunk:
                raise TemplateUnavailable("the template closed its reply pipe")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def fork(self, token: str, job_file: Path, log_file: Path) -> tuple[int, float | None]:
        """Have the template fork a runner for the job; (pid, create_time) of the child."""
        request = {"token": token, "job": str(job_file), "log": str(log_file)}
        with self.lock:
            if not self.alive():
                raise TemplateUnavailable(f"the template exited ({self.process.returncode})")
            pipe = self.process.stdin
            try:
                assert pipe is not None  # started with stdin=PIPE
                pipe.write(json.dumps(request).encode() + b"\n")
                pipe.flush()
            except (OSError, ValueError) as exc:
                raise TemplateUnavailable(f"the template's pipe is closed: {exc}") from exc
            while True:  # a reply to an abandoned request may come first
                reply = self._read_reply(time.monotonic() + FORK_REPLY_TIMEOUT_S)
                if reply.get("token") == token:
                    break
        if "error" in reply:
            raise TemplateUnavailable(reply["error"])
        return int(reply["pid"]), reply.get("create_time")

    def close(self, grace_s: float = 0.3) -> None:
        """Let the template go: close its stdin, then terminate it (runners are untouched).

        Quick: a server exits right after (its client may kill it if it lingers),
        and a template still importing Kitaru reads its stdin only afterwards.
        """
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=1.0)
        with contextlib.suppress(OSError):
            os.close(self.reply_fd)
        self.log_file.unlink(missing_ok=True)


_template_lock = threading.Lock()
_template: _Template | None = None
_serving = False


def fork_available() -> bool:
    return os.name == "posix" and hasattr(os, "fork")


def template_enabled() -> bool:
    off = {"0", "false", "no", "off"}
    return os.environ.get(WARM_RUNNER_ENV, "1").strip().lower() not in off and fork_available()


def serve_template() -> None:
    """From now on this process keeps a template, started at its first need
    (``start_template``): the server calls it once its warm-up is over, or at once
    when a call that starts runners arrives. Nothing is started here."""
    global _serving
    if not template_enabled():
        if not fork_available():
            logger.warning("fork() is not available here: every run starts a cold runner")
        return
    with _template_lock:
        if not _serving:
            _serving = True
            atexit.register(shutdown)


def start_template() -> int | None:
    """Have one live template from now on (a no-op when one lives); its pid, if any."""
    global _template
    serve_template()
    if not _serving:
        return None
    with _template_lock:
        if _template is not None and _template.alive():
            return _template.process.pid
        old, _template = _template, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        try:
            _template = _Template()
        except OSError as exc:
            logger.warning("cannot start the runner template: %s", exc)
            return None
        return _template.process.pid


def start_served_template() -> None:
    """The first ``start_template`` of a process that serves one (``serve_template``);
    else nothing. A template that died later is replaced by the start that finds it
    dead (which runs cold meanwhile), as before."""
    if _serving and _template is None:
        start_template()


def template_pid() -> int | None:
    """The live template's pid (for diagnostics and tests)."""
    template = _template
    return template.process.pid if template is not None and template.alive() else None


def shutdown() -> None:
    """Release the template (runners and their flows go on). Safe to call twice."""
    global _template, _serving
    with _template_lock:
        template, _template, _serving = _template, None, False
    if template is not None:
        with contextlib.suppress(Exception):
            template.close()


def _fork_from_template(token: str, job_file: Path, log_file: Path) -> tuple[int, float | None]:
    template = _template
    if not _serving or template is None:
        raise TemplateUnavailable("no template is running")
    try:
        return template.fork(token, job_file, log_file)
    except TemplateUnavailable:
        with contextlib.suppress(Exception):
            template.process.kill()  # a template that failed once is not trusted again
        raise


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
            pid, create_time = _fork_from_template(token, job_file, log_file)
            record["via"] = "template"
        except TemplateUnavailable as exc:
            if _serving:  # a server with a template; `kitaru-mcp call` never has one
                logger.warning("runner template unavailable (%s): starting a cold runner", exc)
            process = _spawn_cold(job_file, log_file)
            pid, create_time = process.pid, processes.create_time(process.pid)
            record["via"] = "cold"
            threading.Thread(target=_reap_cold, args=(process, token), daemon=True).start()
            if _serving:  # a new template for the next start, after this one is on its way
                threading.Thread(target=start_template, daemon=True).start()
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
    code = process.wait()
    exit_record: dict[str, Any] = {"pid": process.pid, "returncode": code, "by": "server"}
    if code < 0:
        with contextlib.suppress(ValueError):
            exit_record["signal"] = signal.Signals(-code).name
    exit_record["at"] = time.time()
    with contextlib.suppress(OSError):
        state.write_json(state.exit_path(token), exit_record)


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
    return Launched(exec_id=data["exec_id"], log_file=str(log_file))


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
