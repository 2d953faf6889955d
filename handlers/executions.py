"""Execution tools: list, get, latest."""

from __future__ import annotations

from kitaru_mcp.generated import models

from kitaru_mcp import cursor
from kitaru_mcp.errors import NotFound
from kitaru_mcp.gateway import Gateway

_SLACK = 50  # executions that may arrive between two pages without costing a refetch


def list_executions(
    gw: Gateway, params: models.KitaruExecutionsListInput
) -> models.KitaruExecutionsListOutput:
    """Newest first, filtered by status and flow, one page of at most ``limit``."""
    filters = {"flow": params.flow, "status": params.status}
    position, last_id = cursor.decode(params.cursor, filters)
    fetch = params.limit + 1 + (position + _SLACK if last_id else 0)
    summaries = gw.list_executions(flow=params.flow, status=params.status, limit=fetch)
    page = cursor.paginate(summaries, "exec_id", params.limit, params.cursor, filters)
    return models.KitaruExecutionsListOutput.model_validate(
        {
            "executions": page["items"],
            "count": len(page["items"]),
            "has_more": page["has_more"],
            "next_cursor": page["next_cursor"],
        }
    )


def get_execution(gw: Gateway, params: models.KitaruExecutionsGetInput) -> models.Execution:
    """The full execution."""
    return models.Execution.model_validate(gw.get_execution(params.exec_id))


def latest_execution(gw: Gateway, params: models.KitaruExecutionsLatestInput) -> models.Execution:
    """The newest execution matching the filters, in full."""
    found = gw.list_executions(flow=params.flow, status=params.status, limit=1)
    if not found:
        filters = [f"{k}={v!r}" for k, v in (("flow", params.flow), ("status", params.status)) if v]
        raise NotFound(
            f"No executions found{' for ' + ' and '.join(filters) if filters else ''}.",
            hint="Run a flow with kitaru_executions_run, or relax the filters.",
        )
    return models.Execution.model_validate(gw.get_execution(found[0]["exec_id"]))
