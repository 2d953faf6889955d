"""Execution tools: list, get, latest."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp import cursor
from kitaru_mcp.errors import NotFound
from kitaru_mcp.gateway import Gateway

_SLACK = 50  # executions that may arrive between two pages without costing a refetch


def list_executions(
    gw: Gateway, params: models.KitaruExecutionsListInput
) -> models.KitaruExecutionsListOutput:
    """Newest first, filtered by status and flow, one page of at most ``limit``.

    On a store that answers keyset queries, a page is one query that starts
    right after the cursor's execution (the same cost at any depth; nothing
    that existed when paging started is repeated or skipped). Elsewhere, the
    page is cut from a listing from the top, after the cursor's execution.
    """
    filters = {"flow": params.flow, "status": params.status}
    position, last_id = cursor.decode(params.cursor, filters)
    key = cursor.resume_key(params.cursor, filters)
    if key is not None or last_id is None:
        keyed = gw.page_executions(
            flow=params.flow, status=params.status, limit=params.limit + 1, after=key
        )
        if keyed is not None:
            items = keyed["executions"][: params.limit]
            has_more = len(keyed["executions"]) > params.limit
            next_cursor = None
            if has_more and items:
                last = len(items) - 1
                next_cursor = cursor.encode(
                    position + len(items), items[last]["exec_id"], filters, keyed["keys"][last]
                )
            return _page(items, has_more, next_cursor)
    fetch = params.limit + 1 + (position + _SLACK if last_id else 0)
    summaries = gw.list_executions(flow=params.flow, status=params.status, limit=fetch)
    page = cursor.paginate(summaries, "exec_id", params.limit, params.cursor, filters)
    return _page(page["items"], page["has_more"], page["next_cursor"])


def _page(
    items: list[dict[str, Any]], has_more: bool, next_cursor: str | None
) -> models.KitaruExecutionsListOutput:
    return models.KitaruExecutionsListOutput.model_validate(
        {
            "executions": items,
            "count": len(items),
            "has_more": has_more,
            "next_cursor": next_cursor,
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
