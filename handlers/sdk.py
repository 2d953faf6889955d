"""Lazy access to the Kitaru SDK, and the not-found translation every handler shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_mcp.errors import NotFound, to_failure

if TYPE_CHECKING:
    from kitaru import KitaruClient


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
