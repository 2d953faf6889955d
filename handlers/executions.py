"""Execution tools: list, get, latest."""

from __future__ import annotations

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk, serialize

from kitaru_mcp.errors import NotFound


def list_executions(params: models.KitaruExecutionsListInput) -> models.KitaruExecutionsListOutput:
    """Newest first, filtered by status and flow, at most ``limit``."""
    found = sdk.client().executions.list(flow=params.flow, status=params.status, limit=params.limit)
    summaries = [serialize.execution_summary(execution) for execution in found]
    return models.KitaruExecutionsListOutput.model_validate(
        {"executions": summaries, "count": len(summaries)}
    )


def get_execution(params: models.KitaruExecutionsGetInput) -> models.Execution:
    """The full execution."""
    return models.Execution.model_validate(serialize.execution(sdk.get_execution(params.exec_id)))


def latest_execution(params: models.KitaruExecutionsLatestInput) -> models.Execution:
    """The newest execution matching the filters, in full."""
    found = sdk.client().executions.list(flow=params.flow, status=params.status, limit=1)
    if not found:
        filters = [f"{k}={v!r}" for k, v in (("flow", params.flow), ("status", params.status)) if v]
        raise NotFound(
            f"No executions found{' for ' + ' and '.join(filters) if filters else ''}.",
            hint="Run a flow with kitaru_executions_run, or relax the filters.",
        )
    return models.Execution.model_validate(serialize.execution(sdk.get_execution(found[0].exec_id)))
