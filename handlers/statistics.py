"""The statistics tool: execution counts grouped by status, flow, stack or day."""

from __future__ import annotations

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.inspection import window

from kitaru_mcp.calls import budget
from kitaru_mcp.calls.context import current
from kitaru_mcp.gateway.ports import GatewayPort


def statistics(
    gw: GatewayPort, params: models.KitaruExecutionsStatisticsInput
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
    result = {
        "groups": [],
        "total": 0,
        "group_by": group_by,
        "truncated": found["truncated"],
        "window": {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
    }
    room = budget.room_for(result, "groups", current().max_result_chars)
    # Kitaru's own cut: by day, the newest days are kept (they come last); else the largest
    result["groups"], cut = budget.fit_items(groups, room, from_end="day" in group_by)
    result["truncated"] = result["truncated"] or cut
    result["total"] = sum(g["count"] for g in result["groups"])
    return models.KitaruExecutionsStatisticsOutput.model_validate(result)
