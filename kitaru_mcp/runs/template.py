"""The runner template: one process that forks a ready runner per start.

Started by the server (``python -m kitaru_mcp.runs.runner --template``, see
``kitaru_mcp.runs.launcher``). It imports Kitaru and everything a run needs, then
waits on its stdin for jobs while holding no store connection, open database
file, lock, or thread besides its main one. (When the embedded store exists it
makes one read first, so SQLAlchemy's statement cache is warm in every child,
then disposes of the engine's pool: see ``gateway.runtime.warm_store``.) Then
it freezes its objects out of the garbage collector's reach, so a forked runner
keeps sharing the template's pages instead of copying them.

Each job line ``{"job": <job file>, "token": ..., "log": ...}`` is answered on
the reply pipe with ``{"token", "pid", "create_time"}``
right after ``fork()``; the child calls ``setsid`` (it outlives the server),
points fds 0-2 at ``/dev/null`` and its own log, connects to the store and runs
the job as a cold runner would (``runner.run_job``).

The template reaps its children and writes each one's exit status
(``returncode``, negative for a signal, and the signal's name) to
``state.exit_path(token)``, where the reaper of any later server reads it.

It exits as soon as its stdin closes or its parent changes (the server is
gone); forked runners are in their own sessions and go on.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kitaru_mcp.core import collector, state
from kitaru_mcp.runs.forkserver import REPLY_FD_ENV

POLL_S = 0.25


def _warm_up() -> None:
    """Everything a run needs that does not depend on the job, no connection opened."""
    from kitaru_mcp.gateway import runtime

    # No store lock here: imports never touch the store, and holding the lock for
    # seconds would make the server's first call wait for this warm-up.
    runtime.preload()
    runtime.freeze_python_packages()
    import kitaru_mcp.core.errors  # the runner's error mapping
    import kitaru_mcp.runs.runner  # noqa: F401
    from kitaru_mcp.observe import tracing

    tracing.preload()  # configured only in each child, after the fork


def _warm_store() -> bool:
    """One read under the store lock, once the store exists; True when done."""
    from kitaru_mcp.gateway import backend, runtime
    from kitaru_mcp.gateway.store_lock import store_lock

    if backend.local_store_missing():
        return False  # never the process that creates the store; try again when idle
    began = time.monotonic()
    with store_lock(), contextlib.suppress(Exception):
        runtime.warm_store()  # then closes every connection it opened
    print(f"kitaru-mcp runner template warm in {time.monotonic() - began:.1f} s", flush=True)
    return True


def _freeze() -> None:
    """Put every object made so far out of the collector's reach (``gc.freeze``): a
    forked runner's collections then never write to the pages it shares with us."""
    gc.collect()
    gc.freeze()


def _child(job_file: str, log: str, reply_fd: int) -> None:
    """In the forked child: become a runner in its own session; never returns."""
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.close(reply_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        from kitaru_mcp.gateway import runtime
        from kitaru_mcp.runs import runner

        print(f"kitaru-mcp runner forked from template {os.getppid()} (pid {os.getpid()})")
        runtime.after_fork()  # its own connections (and `kitaru login` since the warm-up)
        code = runner.run_job(runner.read_job(Path(job_file)))
    except BaseException:
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Template:
    """The template's loop: read jobs, fork, reap, leave with the server."""

    def __init__(self, reply_fd: int) -> None:
        self.reply_fd = reply_fd
        self.parent = os.getppid()
        self.children: dict[int, str] = {}  # pid -> token
        self.buffer = b""

    def reply(self, message: dict[str, Any]) -> None:
        os.write(self.reply_fd, json.dumps(message).encode() + b"\n")

    def fork(self, request: dict[str, Any]) -> None:
        token = str(request.get("token"))
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.reply({"token": token, "error": f"fork failed: {exc}"})
            return
        if pid == 0:
            _child(str(request["job"]), str(request["log"]), self.reply_fd)
        self.children[pid] = token
        from kitaru_mcp.core import processes

        self.reply({"token": token, "pid": pid, "create_time": processes.create_time(pid)})

    def reap(self) -> None:
        """Collect ended children; their exit status goes where any server can read it."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            token = self.children.pop(pid, None)
            if token is None:
                continue
            state.record_exit(token, pid, os.waitstatus_to_exitcode(status), "template")

    def read_jobs(self) -> bool:
        """Fork for every complete job line on stdin; False once stdin is closed."""
        chunk = os.read(0, 65536)
        if not chunk:
            return False
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                request = json.loads(line)
            except ValueError:
                continue
            self.fork(request)
        return True

    def loop(self) -> None:
        """Fork a runner per job; when idle, finish warming up (``_warm_store``, ``_freeze``).

        A start that came during the import is forked first, before anything else: the
        first run of a session waits for nothing it does not need.
        """
        warm = frozen = False
        timeout = 0.0
        while True:
            readable, _, _ = select.select([0], [], [], timeout)
            timeout = POLL_S
            self.reap()
            if readable:
                if not self.read_jobs():
                    return  # the server closed our stdin: it is done
            elif not (warm and frozen):
                if not warm and _warm_store():
                    warm, frozen = True, False  # what it made is frozen too
                if not frozen:
                    _freeze()
                    frozen = True
            if os.getppid() != self.parent:
                return  # the server died (its pipe may live on elsewhere)


def serve() -> int:
    """Warm up, then fork a runner per job until the server goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is for the server
    reply_fd = int(os.environ.pop(REPLY_FD_ENV))
    began = time.monotonic()
    with collector.paused():
        _warm_up()
    gc.freeze()  # no forked runner's collection touches these objects' pages (later: _freeze)
    print(
        f"kitaru-mcp runner template ready in {time.monotonic() - began:.1f} s "
        f"(pid {os.getpid()}, threads {threading.active_count()})",
        flush=True,
    )
    template = Template(reply_fd)
    try:
        template.loop()
    finally:
        template.reap()
        with contextlib.suppress(OSError):
            os.unlink(os.environ.get("KITARU_MCP_RUNNER_LOG", ""))
    return 0
