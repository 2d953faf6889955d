"""An inter-process lock around the first use of the embedded store.

Every process (server, warm-up, runners) takes it before its first store
access, so the SQLite store is created and migrated exactly once. POSIX
``flock``; where that is missing, an exclusive lock file.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from kitaru_mcp import state

LOCK_TIMEOUT_S = 300.0


def lock_path() -> str:
    folder = state.state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "store.lock")


@contextlib.contextmanager
def store_lock(timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the store lock for the block (waits up to ``timeout_s``)."""
    path = lock_path()
    try:
        import fcntl
    except ImportError:  # no flock: an exclusive lock file
        yield from _lock_file(path + ".excl", timeout_s)
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _lock_file(path: str, timeout_s: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the store lock {path} is held too long") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        os.close(fd)
        os.unlink(path)
