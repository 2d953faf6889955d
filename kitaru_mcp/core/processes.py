"""Processes through psutil: liveness, "is this our runner", stopping a process tree.

No ``/proc`` reads: psutil works the same on Linux and macOS. A zombie (exited,
not yet reaped by its parent) counts as dead. A pid may be recycled, so a
process is identified by its pid *and* its creation time when one is known.
"""

from __future__ import annotations

import contextlib
import itertools
import os

import psutil

RUNNER_MODULE = "kitaru_mcp.runs.runner"
TEMPLATE_FLAG = "--template"


def _process(pid: int | None, create_time: float | None = None) -> psutil.Process | None:
    """The live process ``pid`` (created at ``create_time`` when given), else None."""
    if not pid or pid <= 0:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if create_time is not None and abs(process.create_time() - create_time) > 0.05:
            return None  # the pid was recycled by another process
        return process
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return psutil.Process(pid) if create_time is None else None


def alive(pid: int | None, create_time: float | None = None) -> bool:
    """Whether ``pid`` is a live process (a zombie is dead; a recycled pid is not it)."""
    return _process(pid, create_time) is not None


def create_time(pid: int | None = None) -> float | None:
    """The creation time of ``pid`` (this process by default), or None if it is gone."""
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid or os.getpid()).create_time()
    return None


def cmdline(pid: int) -> list[str]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).cmdline()
    return []


def _runs_module(argv: list[str]) -> bool:
    """``python -m kitaru_mcp.runs.runner ...`` (not merely the word somewhere in argv)."""
    return any(a == "-m" and b == RUNNER_MODULE for a, b in itertools.pairwise(argv))


def is_runner(pid: int | None, create_time: float | None = None) -> bool:
    """A live runner: ``python -m kitaru_mcp.runs.runner`` (cold, or forked from the template)
    that leads its own session. The template itself never leads a session."""
    process = _process(pid, create_time)
    if process is None:
        return False
    try:
        argv = process.cmdline()
    except psutil.Error:
        return False
    if not _runs_module(argv):
        return False
    try:
        return os.getsid(process.pid) == process.pid
    except OSError:
        return False


def is_template(pid: int | None) -> bool:
    """A live runner template (``kitaru_mcp.runs.runner --template``, no session of its own)."""
    process = _process(pid)
    if process is None:
        return False
    with contextlib.suppress(psutil.Error, OSError):
        argv = process.cmdline()
        return _runs_module(argv) and TEMPLATE_FLAG in argv and os.getsid(process.pid) != pid
    return False


def stop_tree(pid: int, grace_s: float = 2.0, kill_s: float = 2.0) -> bool:
    """Terminate ``pid`` and all its descendants; kill what is left after ``grace_s``.

    Returns True if every process of the tree is gone afterwards.
    """
    root = _process(pid)
    if root is None:
        return True
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        tree = [root]
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive_left = psutil.wait_procs(tree, timeout=grace_s)
    for process in alive_left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    _, alive_left = psutil.wait_procs(alive_left, timeout=kill_s)
    return not [p for p in alive_left if alive(p.pid)]


def rss_bytes(pid: int) -> int | None:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).memory_info().rss
    return None


def num_threads(pid: int) -> int | None:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).num_threads()
    return None
