"""``kitaru-mcp --transport http --workers N``: N server processes behind one socket.

uvicorn's own worker model: this process binds the port once
(``http_transport.listen``) and supervises N worker processes (uvicorn's
``Multiprocess``: spawned, pinged, replaced when one dies, stopped on SIGTERM
or SIGINT); the kernel hands each connection to one of them. On Linux each
worker listens on a socket of its own bound with ``SO_REUSEPORT`` beside the
supervisor's (which only holds the port), and the kernel spreads connections
evenly across them; on one shared listening socket, the worker that wakes first
takes every connection a burst of keep-alive clients opens (seen: 20 of 20),
and the others idle. Elsewhere (macOS: its ``SO_REUSEPORT`` does not spread)
the workers share the supervisor's listening socket. Each worker is a
whole server (``server.build_server`` + ``http_transport.serve_http`` on the
shared socket): every tool, its own runner template and reaper.

Workers never share memory, so HTTP is stateless with more than one
(``--stateless`` is implied): no ``Mcp-Session-Id`` to remember, and what a
later request needs is on disk or in the Kitaru server. On this machine they
share the state directory (runner records, idempotency keys, the reaper's
view, the request-state key), whose writes are atomic and whose read-modify-
write steps hold file locks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("kitaru_mcp")


@dataclass(frozen=True)
class WorkerSpec:
    """What each worker process needs to serve (it gets this, pickled, from the supervisor)."""

    serve: Any  # dispatch.ServeOptions
    http: Any  # http_transport.HttpOptions (stateless)
    audit_log: str | None
    log_level: str


class Worker(Process):
    """uvicorn's worker process, running a kitaru-mcp server (``serve_worker``) on the
    shared socket; pickled into a spawned child, so it lives at module level."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], spec: WorkerSpec):
        self.spec = spec
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        threading.Thread(target=self.always_pong, daemon=True).start()
        serve_worker(self.spec, (sockets or [])[0])

    def pong(self) -> None:  # pragma: no cover - in the child
        self.child_conn.recv()
        self.child_conn.send(True)  # alive and serving (uvicorn's own Server is not used)


class Supervisor(Multiprocess):
    """uvicorn's supervisor, starting ``Worker`` processes (and replacing one that dies)."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, spec: WorkerSpec) -> None:
        self.spec = spec
        self.failed_start = False
        super().__init__(config, sockets=[sock])

    def _started(self) -> Process:
        process = Worker(self.config, self.sockets, self.spec)
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._started() for _ in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # it would fail the same way again
                logger.error("worker %s could not start: stopping", process.pid)
                self.failed_start = True
                self.should_exit.set()
                return
            logger.warning(
                "worker %s ended (exit %s): starting another", process.pid, process.exitcode
            )
            self.processes[index] = self._started()

    def restart_all(self) -> None:  # SIGHUP: replace each worker, one at a time
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            self.processes[index] = self._started()
            old.terminate()
            old.join()


def supervise(spec: WorkerSpec, sock: socket.socket, count: int) -> int:
    """Run ``count`` workers on ``sock`` until SIGTERM or SIGINT; the exit code."""
    # uvicorn's Config is only the supervisor's bookkeeping here (the count, health
    # checks): each worker builds its own server and front from ``spec``.
    config = uvicorn.Config(
        "kitaru_mcp.surface.supervisor:Worker", workers=count, log_level="warning"
    )
    print(
        f"kitaru-mcp: serving MCP over streamable HTTP at {spec.http.url} "
        f"({count} workers, stateless)",
        file=sys.stderr,
    )
    supervisor = Supervisor(config, sock, spec)
    supervisor.run()
    return 1 if supervisor.failed_start else 0


def serve_worker(spec: WorkerSpec, sock: socket.socket) -> None:  # pragma: no cover - a child
    """One worker: the same server as ``kitaru-mcp --transport http``, on ``sock``."""
    import anyio

    from kitaru_mcp.core.errors import install_log_handlers
    from kitaru_mcp.observe import audit, tracing
    from kitaru_mcp.surface.http_transport import listen_beside, serve_http
    from kitaru_mcp.surface.server import background, build_server
    from kitaru_mcp.surface.stdio_transport import guard_stdout

    guard_stdout()  # over HTTP stdout carries nothing
    install_log_handlers(spec.log_level)
    if spec.audit_log is not None:
        from pathlib import Path

        audit.install(audit.open_log(Path(spec.audit_log)))
    tracing.configure()
    try:
        server = build_server(spec.serve)
    except Exception as exc:  # e.g. an unusable request-state key: the same in every worker
        print(f"kitaru-mcp: worker {os.getpid()}: {exc}", file=sys.stderr)
        os._exit(STARTUP_FAILURE)
    sock = listen_beside(sock)
    serve = partial(serve_http, server, replace(spec.http, stateless=True), sock, banner=False)
    with contextlib.suppress(KeyboardInterrupt), background(spec.serve):
        anyio.run(serve)
    tracing.finish()
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(0)  # skip Kitaru's slow interpreter teardown (see cli._exit_now)
