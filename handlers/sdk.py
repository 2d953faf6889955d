"""Lazy access to the Kitaru SDK, and the not-found translation every handler shares."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kitaru_mcp import backend
from kitaru_mcp.errors import NotFound, to_failure
from kitaru_mcp.state import local_store_missing

if TYPE_CHECKING:
    from kitaru import KitaruClient


def prewarm() -> None:
    """Get Kitaru ready before a runner starts.

    On a fresh home the store is created first, here (two processes creating
    the same SQLite store at once break it); otherwise Kitaru is imported in
    the background while the runner starts.
    """
    if local_store_missing():
        client()
        return
    threading.Thread(target=client, name="kitaru-prewarm", daemon=True).start()


logger = logging.getLogger("kitaru_mcp")
_config_lock = threading.Lock()
_config_seen: dict[str, str | None] = {}


def _config_stamp(path: str) -> str | None:
    """A digest of the file's content (ZenML rewrites it unchanged on every load)."""
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None


def sync_connection(probe: bool = True) -> None:
    """Follow connection changes made by other processes (``kitaru login``, ``stack use``...).

    ZenML loads its global configuration once per process and keeps it in
    singletons, so a long-lived server would keep using the connection and
    active stack it saw first. When the configuration file's content changed
    since the last call (ZenML rewrites it on every load, so not its time
    stamp), drop those singletons: the next use reloads the file, exactly as a
    fresh CLI process would. Every handler calls this first.

    Then, unless ``probe`` is false, the configured server must accept a
    connection (``kitaru_mcp.backend``): a server that is down fails the call
    in milliseconds with ``cannot reach <url>`` instead of ZenML's ~30 s of retries.
    """
    from kitaru_mcp.gateway.runtime import import_sdk

    import_sdk()  # one thread at a time: concurrent ZenML imports break
    from zenml.utils.io_utils import get_global_config_directory

    path = os.path.join(get_global_config_directory(), "config.yaml")
    with _config_lock:
        stamp = _config_stamp(path)
        if path in _config_seen and _config_seen[path] != stamp:
            from zenml.client import Client
            from zenml.config.global_config import GlobalConfiguration

            GlobalConfiguration._reset_instance()
            Client._reset_instance()
            logger.info("Kitaru configuration changed on disk: reloading the connection")
        _config_seen[path] = stamp
    if probe:
        backend.ensure_reachable()


def client() -> KitaruClient:
    """A Kitaru client on the connection the CLI would use (imports Kitaru on first use)."""
    from kitaru import KitaruClient

    from kitaru_mcp.gateway.store_lock import ensure_store

    sync_connection()
    ensure_store()  # the first store use of this process is under the store lock
    return KitaruClient()


@contextmanager
def not_found_as(message: str, *, field: str, hint: str) -> Iterator[None]:
    """Re-raise any not-found failure inside the block as NotFound(message, field, hint)."""
    try:
        yield
    except Exception as exc:
        if not isinstance(to_failure(exc), NotFound):
            raise
        raise NotFound(message, field=field, hint=hint) from exc


def missing_execution(exec_id: str) -> Any:
    """The block's not-found failures name the execution."""
    return not_found_as(
        f"No execution with exec_id {exec_id!r}.",
        field="exec_id",
        hint="List executions with kitaru_executions_list to find a valid exec_id.",
    )


def get_execution(exec_id: str) -> Any:
    """The SDK execution, or NotFound naming the id."""
    with missing_execution(exec_id):
        return client().executions.get(exec_id)
