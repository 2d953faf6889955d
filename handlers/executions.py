"""Execution tools: list, get, latest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp.calls import budget, cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import NotFound
from kitaru_mcp.gateway.ports import GatewayPort

_SLACK = 50  # executions that may arrive between two pages without costing a refetch


def list_executions(
    gw: GatewayPort, params: models.KitaruExecutionsListInput
) -> models.KitaruExecutionsListOutput:
    """Newest first, filtered by status and flow, one page of at most ``limit``.

    A page is one keyset query that starts right after the cursor's execution
    (the same cost at any depth; nothing that existed when paging started is
    repeated or skipped). A cursor without a key (issued before keyset pages
    reached server connections) is followed from a listing from the top.
    """
    filters = {"flow": params.flow, "status": params.status}
    position, last_id = cursor.decode(params.cursor, filters)
    key = cursor.resume_key(params.cursor, filters)
    if key is not None or last_id is None:
        keyed = gw.page_executions(
            flow=params.flow, status=params.status, limit=params.limit + 1, after=key
        )
        found = keyed["executions"][: params.limit]
        items, _ = budget.fit_items(found, current().max_result_chars - budget.SLACK * 2)
        has_more = len(keyed["executions"]) > len(items)  # past the limit, or cut at the budget
        next_cursor = None
        if has_more and items:
            last = len(items) - 1
            next_cursor = cursor.encode(
                position + len(items), items[last]["exec_id"], filters, keyed["keys"][last]
            )
        return _page(items, has_more, next_cursor)
    fetch = params.limit + 1 + (position + _SLACK if last_id else 0)
    summaries = gw.list_executions(flow=params.flow, status=params.status, limit=fetch)
    page = cursor.paginate(
        summaries, "exec_id", params.limit, params.cursor, filters, current().max_result_chars
    )
    return _page(page["items"], page["has_more"], page["next_cursor"])


def _page(
    items: Sequence[Mapping[str, Any]], has_more: bool, next_cursor: str | None
) -> models.KitaruExecutionsListOutput:
    page = {"items": items, "has_more": has_more, "next_cursor": next_cursor}
    return models.KitaruExecutionsListOutput.model_validate(cursor.answer(page, "executions"))


def fitted_execution(
    gw: GatewayPort,
    exec_id: str,
    beside: dict[str, Any] | None = None,
    known: Mapping[str, Any] | None = None,
) -> dict:
    """The execution as an action's answer carries it: within the result budget, after what
    the answer holds ``beside`` it (checkpoints paged when it must be), so an action that
    happened is never answered by a budget error. ``known``: the execution as read already
    (a runner's report), else the gateway reads it."""
    room = current().max_result_chars - budget.size(beside or {}) - budget.SLACK
    return fit_execution(known if known is not None else gw.get_execution(exec_id), room)


def _short(text: str | None, room: int) -> str | None:
    if text is None or budget.size(text) <= room:
        return text
    cut, _ = budget.cut_text(text, room - 60)
    return f"{cut}… (cut at the result budget: {len(text)} characters in all)"


def _short_failure(item: dict[str, Any], room: int) -> dict[str, Any]:
    failure = item.get("failure")
    if not failure or budget.size(failure.get("message")) <= room:
        return item
    return {**item, "failure": {**failure, "message": _short(failure["message"], room)}}


def _with_short_texts(execution: Mapping[str, Any], room: int) -> dict[str, Any]:
    """The execution with its free texts (failure messages, status reason, the wait's
    question) cut: each to ``room`` characters of JSON, a checkpoint's to a tenth of it,
    so that no text alone fills the budget or keeps a checkpoint off every page."""
    short = _short_failure(dict(execution), room)
    short["checkpoints"] = [_short_failure(c, room // 10) for c in execution["checkpoints"]]
    if execution.get("status_reason"):
        short["status_reason"] = _short(execution["status_reason"], room)
    if (execution.get("pending_wait") or {}).get("question"):
        question = _short(execution["pending_wait"]["question"], room)
        short["pending_wait"] = {**execution["pending_wait"], "question": question}
    return short


def fit_execution(
    execution: Mapping[str, Any],
    max_chars: int,
    limit: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The execution within ``max_chars`` of JSON: one page of checkpoints (from ``token``,
    at most ``limit``) and as many artifacts as fit, flagged ``truncated`` with totals, a
    cursor for the next checkpoints and a note. Unchanged when it fits and no page was asked."""
    execution = _with_short_texts(execution, max_chars // 4)
    checkpoints, artifacts = execution["checkpoints"], execution["artifacts"]
    if limit is None and token is None and budget.size(execution) <= max_chars:
        return execution
    filters = {"exec_id": execution["exec_id"]}
    position, _ = cursor.decode(token, filters)
    start = min(position, len(checkpoints))
    window = checkpoints[start : start + limit] if limit else checkpoints[start:]
    base = {**execution, "checkpoints": [], "artifacts": []}
    base.update(truncated=True, checkpoints_total=len(checkpoints), artifacts_total=len(artifacts))
    base.update(checkpoints_next_cursor=cursor.encode(0, "", filters), note="x" * 400)
    room = max_chars - budget.size(base) - budget.SLACK
    artifact_room = min(budget.size(artifacts), room // 4)
    kept_artifacts, _ = budget.fit_items(artifacts, artifact_room)
    kept, _ = budget.fit_items(window, room - budget.size(kept_artifacts))
    end = start + len(kept)
    more = end < len(checkpoints)
    left_out = []
    if start or more:
        left_out.append(f"checkpoints {start + 1}-{end} of {len(checkpoints)} are here")
    if len(kept_artifacts) < len(artifacts):
        left_out.append(
            f"{len(kept_artifacts)} of {len(artifacts)} artifacts (all: kitaru_artifacts_list)"
        )
    note = "; ".join(left_out) or "nothing was left out"
    if more:
        note += "; pass checkpoints_next_cursor as checkpoints_cursor for the next checkpoints"
    return {
        **execution,
        "checkpoints": kept,
        "artifacts": kept_artifacts,
        "truncated": bool(left_out),
        "checkpoints_total": len(checkpoints),
        "artifacts_total": len(artifacts),
        "checkpoints_next_cursor": (
            cursor.encode(end, kept[-1]["call_id"], filters) if more and kept else None
        ),
        "note": note[:400],
    }


def get_execution(gw: GatewayPort, params: models.KitaruExecutionsGetInput) -> models.Execution:
    """The full execution, or one page of its checkpoints when asked or over the budget."""
    execution = gw.get_execution(params.exec_id)
    fitted = fit_execution(
        execution, current().max_result_chars, params.checkpoints_limit, params.checkpoints_cursor
    )
    return models.Execution.model_validate(fitted)


def latest_execution(
    gw: GatewayPort, params: models.KitaruExecutionsLatestInput
) -> models.Execution:
    """The newest execution matching the filters, in full."""
    found = gw.list_executions(flow=params.flow, status=params.status, limit=1)
    if not found:
        filters = [f"{k}={v!r}" for k, v in (("flow", params.flow), ("status", params.status)) if v]
        raise NotFound(
            f"No executions found{' for ' + ' and '.join(filters) if filters else ''}.",
            hint="Run a flow with kitaru_executions_run, or relax the filters.",
        )
    execution = gw.get_execution(found[0]["exec_id"])
    return models.Execution.model_validate(fit_execution(execution, current().max_result_chars))
