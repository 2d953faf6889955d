"""The runner template (fork-server), as the server sees it: start it, fork runners, let go.

A serving process calls ``start_template()`` once; one template process
(``python -m kitaru_mcp.runs.runner --template``, see ``kitaru_mcp.runs.template``)
imports Kitaru and waits. ``fork_runner`` sends it a job over its stdin and reads
the forked child's pid from the reply pipe: the child is a ready runner at once,
and the template stays for the next start (nothing to refill). ``shutdown()``
lets the template go (never a runner). ``KITARU_MCP_WARM_RUNNER=0`` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kitaru_mcp.core import settings, state

FORK_REPLY_TIMEOUT_S = 30.0
WARM_RUNNER_ENV = "KITARU_MCP_WARM_RUNNER"
REPLY_FD_ENV = "KITARU_MCP_TEMPLATE_REPLY_FD"  # read by the template (``runs.template``)

logger = logging.getLogger("kitaru_mcp")


class TemplateUnavailable(Exception):
    """The template cannot take this job; start a cold runner instead."""


def runner_env(log_file: Path) -> dict[str, str]:
    """The environment of a runner (cold or the template): its log, unbuffered, no colours."""
    return {
        **os.environ,
        "KITARU_MCP_RUNNER_LOG": str(log_file),
        "PYTHONUNBUFFERED": "1",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
    }


class _Template:
    """The server's handle on its template: job pipe in, reply pipe out."""

    def __init__(self) -> None:
        self.log_file = state.logs_dir() / f"template-{uuid.uuid4().hex[:12]}.log"
        read_fd, write_fd = os.pipe()
        try:
            env = {**runner_env(self.log_file), REPLY_FD_ENV: str(write_fd)}
            with open(self.log_file, "ab") as out:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kitaru_mcp.runs.runner", "--template"],
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
    return settings.switch(WARM_RUNNER_ENV) and fork_available()


def start_template() -> int | None:
    """Have one live template from now on (a no-op when one lives); its pid, if any."""
    global _template, _serving
    if not template_enabled():
        if not fork_available():
            logger.warning("fork() is not available here: every run starts a cold runner")
        return None
    with _template_lock:
        if not _serving:
            _serving = True
            atexit.register(shutdown)
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


def serving() -> bool:
    """Whether this process keeps a template (a server; ``kitaru-mcp call`` never does)."""
    return _serving


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


def fork_runner(token: str, job_file: Path, log_file: Path) -> tuple[int, float | None]:
    """(pid, create_time) of a runner the live template forked for the job; else
    TemplateUnavailable (a template that failed once is killed, never trusted again)."""
    template = _template
    if not _serving or template is None:
        raise TemplateUnavailable("no template is running")
    try:
        return template.fork(token, job_file, log_file)
    except TemplateUnavailable:
        with contextlib.suppress(Exception):
            template.process.kill()  # a template that failed once is not trusted again
        raise
