"""The live processes, through psutil, for tests about servers and runners."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Proc:
    pid: int
    state: str
    ppid: int
    session: int
    cmdline: str


def processes() -> Iterator[Proc]:
    """Every live (not zombie) process we may read."""
    for process in psutil.process_iter(["pid", "status", "ppid", "cmdline"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE or info["cmdline"] is None:
            continue
        try:
            session = os.getsid(info["pid"])
        except OSError:
            continue
        yield Proc(info["pid"], info["status"], info["ppid"], session, " ".join(info["cmdline"]))


def server_pids() -> set[int]:
    """Our kitaru-mcp server processes (children of this test process, not runners)."""
    return {
        p.pid
        for p in processes()
        if p.ppid == os.getpid()
        and "kitaru_mcp" in p.cmdline
        and "kitaru_mcp.runs.runner" not in p.cmdline
    }


def cmdline(pid: int) -> str:
    with contextlib.suppress(psutil.Error):
        return " ".join(psutil.Process(pid).cmdline())
    return ""


def children(parent: int) -> set[int]:
    return {p.pid for p in processes() if p.ppid == parent}


def session_members(sid: int) -> set[int]:
    return {p.pid for p in processes() if p.session == sid}


def has_open_file(pid: int, path: str) -> bool:
    """Whether ``pid`` holds ``path`` open (a runner holds its log open as stdout)."""
    with contextlib.suppress(psutil.Error):
        return any(f.path == path for f in psutil.Process(pid).open_files())
    return False


def environ_has(pid: int, entry: str) -> bool:
    """Whether ``pid`` started with ``entry`` (NAME=value) in its environment."""
    name, _, value = entry.partition("=")
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).environ().get(name) == value
    return False


def template_of(server: int) -> int | None:
    """The runner template child of ``server``, if any."""
    found = [
        p.pid
        for p in processes()
        if p.ppid == server and "kitaru_mcp.runs.runner --template" in p.cmdline
    ]
    return found[0] if found else None
