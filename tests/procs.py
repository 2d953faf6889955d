"""Read the live processes from /proc, for tests about servers and runners."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    state: str
    ppid: int
    session: int
    cmdline: str


def processes() -> Iterator[Proc]:
    """Every live (not zombie) process we may read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split(")")[-1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat[0] != "Z":
            yield Proc(int(entry.name), stat[0], int(stat[1]), int(stat[4]), cmdline)


def children(parent: int) -> set[int]:
    return {p.pid for p in processes() if p.ppid == parent}


def session_members(sid: int) -> set[int]:
    return {p.pid for p in processes() if p.session == sid}


def environ_has(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
