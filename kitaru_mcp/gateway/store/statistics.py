"""Grouped execution counts in one statement per grouping."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from kitaru_mcp.gateway.groups import merge_groups
from kitaru_mcp.gateway.names import raw_for
from kitaru_mcp.gateway.store.tables import table


def statistics(
    engine: Any,
    project_id: uuid.UUID,
    *,
    group_by: list[str],
    flow: str | None,
    status: str | None,
    stack: str | None,
    since: datetime | None,
    until: datetime | None,
    max_groups: int,
) -> dict[str, Any]:
    """One grouped aggregate: counts by the needed columns, the window in the WHERE clause.

    Same groups as Kitaru's ``get_execution_statistics`` (a run's status by
    Kitaru's mapping of ZenML statuses, flow by the run's pipeline, stack by
    its snapshot's stack, day as ``YYYY-MM-DD`` of the start time), sorted and
    cut to ``max_groups`` the way Kitaru sorts them. The aggregate reads the
    run table alone (grouped by pipeline and snapshot ids, no join per run);
    the few ids found are named, and snapshots mapped to stacks, afterwards.
    """
    from sqlalchemy import func, literal, or_, select
    from sqlmodel import Session

    Run = table("PipelineRunSchema")
    Pipeline = table("PipelineSchema")
    Snapshot = table("PipelineSnapshotSchema")
    Stack = table("StackSchema")
    columns: dict[str, Any] = {}
    if "status" in group_by:
        columns["status"] = Run.status
    if "flow" in group_by:
        columns["flow_id"] = Run.pipeline_id
    if "stack" in group_by:
        columns["snapshot_id"] = Run.snapshot_id
    if "day" in group_by:
        if engine.dialect.name == "sqlite":  # times are stored as ISO text: the date is its head
            columns["day"] = func.substr(Run.start_time, 1, 10)
        else:
            columns["day"] = func.date_format(Run.start_time, "%Y-%m-%d")
    keys = list(columns)
    # An aggregate reads most of the table: one sequential scan beats walking the
    # (project_id, created) index and fetching each row at random, so the project
    # test is written so that SQLite does not pick that index.
    in_project = func.coalesce(Run.project_id, Run.project_id) == project_id
    query = select(*columns.values(), func.count(literal(1))).where(in_project)
    if flow is not None:
        named = select(Pipeline.id).where(or_(Pipeline.name == flow, _id_is(Pipeline.id, flow)))
        query = query.where(Run.pipeline_id.in_(named.scalar_subquery()))
    if status is not None:
        query = query.where(Run.status.in_(raw_for(status)))
    if stack is not None:
        stacks = select(Stack.id).where(or_(Stack.name == stack, _id_is(Stack.id, stack)))
        on_stack = select(Snapshot.id).where(Snapshot.stack_id.in_(stacks.scalar_subquery()))
        query = query.where(Run.snapshot_id.in_(on_stack.scalar_subquery()))
    if since is not None:
        query = query.where(Run.start_time >= since.replace(microsecond=0))
    if until is not None:  # whole seconds, as ZenML's start_time filter (lt the next second)
        query = query.where(Run.start_time < until.replace(microsecond=0) + timedelta(seconds=1))
    if columns:
        query = query.group_by(*columns.values())
    with Session(engine) as session:
        rows = [dict(zip([*keys, "count"], row, strict=True)) for row in session.execute(query)]
        names = _names(session, rows)
    for values in rows:
        if "flow_id" in values:
            flow_id = values["flow_id"]
            values["flow_id"] = str(flow_id) if flow_id is not None else None
            values["flow"] = names["pipelines"].get(values["flow_id"])
        if "snapshot_id" in values:
            stack_id = names["snapshot_stacks"].get(str(values.pop("snapshot_id")))
            values["stack_id"] = stack_id
            values["stack"] = names["stacks"].get(stack_id) if stack_id else None
    return merge_groups(rows, group_by, max_groups)


def _names(session: Any, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Names of the pipelines, and stacks (by snapshot) of the groups found."""
    from sqlalchemy import select

    Pipeline = table("PipelineSchema")
    Snapshot = table("PipelineSnapshotSchema")
    Stack = table("StackSchema")
    found: dict[str, dict[str, Any]] = {"pipelines": {}, "snapshot_stacks": {}, "stacks": {}}
    pipeline_ids = {r["flow_id"] for r in rows if r.get("flow_id") is not None}
    if pipeline_ids:
        query = select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_(pipeline_ids))
        found["pipelines"] = {str(i): name for i, name in session.execute(query)}
    snapshot_ids = {r["snapshot_id"] for r in rows if r.get("snapshot_id") is not None}
    if snapshot_ids:
        query = select(Snapshot.id, Snapshot.stack_id).where(Snapshot.id.in_(snapshot_ids))
        found["snapshot_stacks"] = {
            str(i): str(stack) if stack else None for i, stack in session.execute(query)
        }
        stack_ids = {uuid.UUID(s) for s in found["snapshot_stacks"].values() if s}
        if stack_ids:
            query = select(Stack.id, Stack.name).where(Stack.id.in_(stack_ids))
            found["stacks"] = {str(i): name for i, name in session.execute(query)}
    return found


def _id_is(column: Any, text: str) -> Any:
    from sqlalchemy import false

    try:
        return column == uuid.UUID(text)
    except ValueError:
        return false()
