"""The embedded store is created (and migrated) by exactly one process.

ZenML creates its SQLite store on a process's first ``Client().zen_store``
access; two processes doing that at once on a fresh home break it. Every
process that uses the SDK (server, runner template, runners) therefore makes
its first store access inside ``store_lock()``: an inter-process lock on a file
beside the state dir (``fcntl.flock`` on POSIX; elsewhere an ``O_EXCL`` lock
file whose holder's pid is checked, so a crashed holder never blocks others).
``ensure_store()`` does that first access once per process, thread-safely.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kitaru_mcp.core import settings, state

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_TIMEOUT_S = settings.number("KITARU_MCP_STORE_LOCK_TIMEOUT")
MIGRATIONS_OFF_ENV = "DISABLE_DATABASE_MIGRATION"  # ZenML's; see ``_first_access``

_thread_lock = threading.Lock()
_ready_pid: int | None = None  # the process that touched the store (a forked child has not)


def lock_path() -> Path:
    """``<state dir>.store.lock``, beside the state dir (``~/.config/kitaru/mcp.store.lock``)."""
    directory = state.state_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    return directory.with_name(directory.name + ".store.lock")


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder_gone(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return False  # gone already, or its holder is writing its pid right now
    return not state.pid_alive(pid)


@contextlib.contextmanager
def _exclusive_file(path: Path, timeout_s: float) -> Iterator[None]:
    """Portable fallback: whoever creates the file with O_EXCL holds the lock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            break
        except FileExistsError:
            if _holder_gone(path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"the store lock {path} is still held") from None
            time.sleep(0.05)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def store_lock(timeout_s: float = LOCK_TIMEOUT_S, portable: bool | None = None) -> Iterator[None]:
    """Hold the inter-process store lock for the block (threads of one process too)."""
    path = lock_path()
    use_flock = fcntl is not None if portable is None else not portable
    with _flock(path) if use_flock else _exclusive_file(path.with_suffix(".excl"), timeout_s):
        yield


@contextlib.contextmanager
def _first_access() -> Iterator[None]:
    """Around a process's first store access: the store lock, unless the embedded store is
    there at the installed schema (``embedded.connection``). That access then creates and
    migrates nothing, and waiting while another process opens the store (seconds, when
    it competes with an import) would only delay this one: a runner's first checkpoint.

    ZenML's migration check still loads its ~290 revision files then (0.15 s); a process
    with one thread (a runner) turns it off by ZenML's own switch for the moment of the
    access. A threaded one (the server) leaves its environment alone.

    Private ZenML API: ``zenml.constants.ENV_ZENML_DISABLE_DATABASE_MIGRATION``.
    """
    from kitaru_mcp.gateway import embedded

    if embedded.connection() is None:
        with store_lock():
            yield
        return
    if threading.active_count() > 1 or MIGRATIONS_OFF_ENV in os.environ:
        yield
        return
    os.environ[MIGRATIONS_OFF_ENV] = "true"
    try:
        yield
    finally:
        os.environ.pop(MIGRATIONS_OFF_ENV, None)


def store_open() -> bool:
    """Whether this process has opened the store (``ensure_store`` has returned)."""
    return _ready_pid == os.getpid()


def ensure_store() -> None:
    """Create or open the store once per process, under the lock; later calls return at once."""
    global _ready_pid
    if _ready_pid == os.getpid():
        return
    with _thread_lock:
        if _ready_pid == os.getpid():
            return
        from kitaru_mcp.gateway import backend, sdk

        sdk.import_sdk()

        if backend.server_url() is None:  # a server-backed connection has no local store
            with _first_access():
                from zenml.client import Client

                Client().zen_store  # noqa: B018 - the first access creates/migrates the store
        _ready_pid = os.getpid()
