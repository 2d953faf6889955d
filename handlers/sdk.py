"""Lazy access to the Kitaru SDK, and the not-found translation every handler shares."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from kitaru_mcp.errors import NotFound, to_failure

if TYPE_CHECKING:
    from kitaru import KitaruClient


def _local_store_missing() -> bool:
    from kitaru_mcp.state import state_dir

    config = state_dir().parent
    has_remote = any(os.environ.get(n) for n in ("KITARU_SERVER_URL", "ZENML_STORE_URL"))
    return not has_remote and not (config / "local_stores").exists()


def prewarm() -> None:
    """Get Kitaru ready before a runner starts.

    On a fresh home the store is created first, here (two processes creating
    the same SQLite store at once break it); otherwise Kitaru is imported in
    the background while the runner starts.
    """
    if _local_store_missing():
        client().executions.list(limit=1)
        return
    threading.Thread(target=client, name="kitaru-prewarm", daemon=True).start()


def client() -> KitaruClient:
    """A Kitaru client on the connection the CLI would use (imports Kitaru on first use)."""
    from kitaru import KitaruClient

    return KitaruClient()


def get_execution(exec_id: str) -> Any:
    """The SDK execution, or NotFound naming the id."""
    try:
        return client().executions.get(exec_id)
    except Exception as exc:
        if not isinstance(to_failure(exc), NotFound):
            raise
        raise NotFound(
            f"No execution with exec_id {exec_id!r}.",
            field="exec_id",
            hint="List executions with kitaru_executions_list to find a valid exec_id.",
        ) from exc
