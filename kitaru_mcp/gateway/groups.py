"""Statistics groups in the contract's shape, merged and cut the way Kitaru's own
statistics cut them (both read paths).
"""

from __future__ import annotations

from typing import Any

from kitaru_mcp.gateway.names import raw_statuses


def merge_groups(
    rows: list[dict[str, Any]], group_by: list[str], max_groups: int, truncated: bool = False
) -> dict[str, Any]:
    """Rows of (ZenML status, flow_id, flow, stack_id, stack, day, count) as Kitaru's groups.

    ZenML statuses become execution statuses (several merge into one), then
    the groups are sorted and cut to ``max_groups`` as Kitaru does.
    """
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for values in rows:
        if values.get("status") is not None:
            values["status"] = raw_statuses().get(values["status"], values["status"])
        identity = tuple(values.get(k) for k in ("status", "flow_id", "stack_id", "day"))
        group = merged.setdefault(identity, {**values, "count": 0})
        group["count"] += int(values["count"])
    groups = list(merged.values())
    if not group_by:
        groups = [{"count": sum(g["count"] for g in groups)}]
    groups.sort(key=lambda g: _sort_key(g, "day" in group_by))
    if len(groups) > max_groups:
        truncated = True
        groups = groups[-max_groups:] if "day" in group_by else groups[:max_groups]
    return {"groups": [_public_group(g) for g in groups], "truncated": truncated}


def _sort_key(group: dict[str, Any], by_day: bool) -> tuple[Any, ...]:
    """Kitaru's order (``_group_sort_key``): by day when grouped by day, else largest first."""
    keys = sorted(k for k in ("day", "flow_id", "stack_id", "status") if k in group)
    if by_day:
        others = tuple((k, repr(group[k])) for k in keys if k != "day")
        return (repr(group["day"]), others, -group["count"])
    return (-group["count"], tuple((k, repr(group[k])) for k in keys))


def _public_group(group: dict[str, Any]) -> dict[str, Any]:
    public: dict[str, Any] = {"count": group["count"]}
    for key in ("status", "flow", "stack", "day"):
        if key in group:
            public[key] = group[key]
    return public
