"""``completion/complete``: argument values for the prompts and resource templates.

Values come from the store through the gateway (in a worker thread, under a
time limit), newest execution first, filtered by what the user typed so far,
at most 100 of them:

- ``review_pending_waits`` ``flow``: flows that have executions waiting for input;
- ``debug_failed_execution`` ``exec_id``: ids of failed executions;
- ``kitaru://executions/{exec_id}`` and ``.../logs``: ids of any execution.

Completion is a convenience: when the store cannot be read, or the prompt or
template is not served here, the answer is an empty list, never an error.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.to_thread
import mcp.types as types

from kitaru_mcp.surface import prompts, resources
from kitaru_mcp.surface.dispatch import Dispatcher

logger = logging.getLogger("kitaru_mcp")

MAX_VALUES = 100  # the specification's limit per answer
SCAN = 500  # newest executions looked at for one answer
TIME_LIMIT_S = 10.0


def source(params: types.CompleteRequestParams, dispatcher: Dispatcher) -> dict[str, Any] | None:
    """What to list for this reference and argument: {"field", "status"}; None for nothing."""
    ref, argument = params.ref, params.argument.name
    if isinstance(ref, types.PromptReference):
        if ref.name not in prompts.served(dispatcher):
            return None
        if ref.name == "review_pending_waits" and argument == "flow":
            return {"field": "flow", "status": "waiting"}
        if ref.name == "debug_failed_execution" and argument == "exec_id":
            return {"field": "exec_id", "status": "failed"}
        return None
    served = {t.uri_template for t in resources.served(dispatcher)}
    if ref.uri in served and argument == "exec_id":
        return {"field": "exec_id", "status": None}
    return None


def candidates(gw: Any, field: str, status: str | None, prefix: str) -> list[str]:
    """Distinct values of ``field`` over the newest executions, in that order, that
    start with ``prefix``."""
    seen: dict[str, None] = {}
    with gw.using():
        for summary in gw.list_executions(status=status, limit=SCAN):
            value = summary.get(field)
            if isinstance(value, str) and value.startswith(prefix):
                seen.setdefault(value, None)
    return list(seen)


def result(values: list[str]) -> types.CompleteResult:
    return types.CompleteResult(
        completion=types.Completion(
            values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES
        )
    )


async def complete(
    params: types.CompleteRequestParams, dispatcher: Dispatcher
) -> types.CompleteResult:
    wanted = source(params, dispatcher)
    if wanted is None:
        return result([])
    prefix = params.argument.value or ""
    try:
        with anyio.fail_after(TIME_LIMIT_S):
            values = await anyio.to_thread.run_sync(
                lambda: candidates(dispatcher.gateway(), wanted["field"], wanted["status"], prefix),
                abandon_on_cancel=True,
            )
    except Exception:  # a convenience must not fail the client: log, answer nothing
        logger.warning("completion failed for %s", params.argument.name, exc_info=True)
        values = []
    return result(values)
