"""The statistics tool: execution counts grouped by status, flow, stack or day."""

from __future__ import annotations

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.inspection import window

from kitaru_mcp.gateway import Gateway


def statistics(
    gw: Gateway, params: models.KitaruExecutionsStatisticsInput
) -> models.KitaruExecutionsStatisticsOutput:
    """Execution counts grouped by status/flow/stack/day, within an optional time window."""
    since, until = window(params.since, params.until)
    group_by = list(params.group_by or [])
    found = gw.execution_statistics(
        group_by=group_by,
        flow=params.flow,
        status=params.status,
        stack=params.stack,
        since=since,
        until=until,
        max_groups=params.max_groups or 100,
    )
    groups = found["groups"]
    if not group_by:  # one group for the total, or none when nothing matched
        groups = [g for g in groups if g["count"]] or [{"count": 0}]
    return models.KitaruExecutionsStatisticsOutput.model_validate(
        {
            "groups": groups,
            "total": sum(g["count"] for g in groups),
            "group_by": group_by,
            "truncated": found["truncated"],
            "window": {
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
        }
    )
