"""Execution summaries straight from the run table: a listing page, one query."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.keyset import encode_key
from kitaru_mcp.gateway.names import (
    RUNNING,
    WAITING,
    flow_names,
    public_flow_name,
    public_status,
    raw_for,
    raw_statuses,
)
from kitaru_mcp.gateway.store.tables import iso, table

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ExecutionSummary


Tables = Callable[[str], Any]  # a table class by its ZenML name: tables.table or light.table


def summary_query(project_id: uuid.UUID | None, tables: Tables = table) -> Any:
    """Every column an ExecutionSummary needs, one row per run (pending wait as a flag)."""
    from sqlalchemy import and_, exists, func, select

    Run = tables("PipelineRunSchema")
    Pipeline = tables("PipelineSchema")
    Snapshot = tables("PipelineSnapshotSchema")
    Wait = tables("RunWaitConditionSchema")
    Stack = tables("StackSchema")

    pending = exists().where(and_(Wait.run_id == Run.id, Wait.status == "pending"))
    stack_id = func.coalesce(Snapshot.stack_id, Run.stack_id)
    query = (
        select(
            Run.id,
            Run.status,
            Run.start_time,
            Run.end_time,
            Run.original_run_id,
            Run.created,
            Pipeline.name,
            Stack.name,
            pending,
        )
        .select_from(Run)
        .outerjoin(Snapshot, Snapshot.id == Run.snapshot_id)
        .outerjoin(Pipeline, Pipeline.id == Run.pipeline_id)
        .outerjoin(Stack, Stack.id == stack_id)
    )
    return query if project_id is None else query.where(Run.project_id == project_id)


def summary(row: Any) -> ExecutionSummary:
    run_id, raw, started, ended, original, _created, flow, stack, pending = row
    status = public_status(raw_statuses().get(raw, raw))
    if status == RUNNING and pending:
        status = WAITING
    return {
        "exec_id": str(run_id),
        "flow": public_flow_name(flow),
        "status": status,
        "stack": stack,
        "started_at": iso(started),
        "ended_at": iso(ended),
        "original_exec_id": str(original) if original else None,
    }


def _with_status(query: Any, status: str | None, tables: Tables = table) -> Any:
    """The SDK's status filter, exact: a running run with a pending wait is waiting."""
    from sqlalchemy import and_, exists, not_, or_

    Run = tables("PipelineRunSchema")
    Wait = tables("RunWaitConditionSchema")

    if status is None:
        return query
    pending = exists().where(and_(Wait.run_id == Run.id, Wait.status == "pending"))
    running = Run.status.in_(raw_for(RUNNING))
    if status == RUNNING:
        return query.where(running, not_(pending))
    if status == WAITING:
        return query.where(or_(Run.status.in_(raw_for(WAITING)), and_(running, pending)))
    return query.where(Run.status.in_(raw_for(status)))


def list_summaries(
    engine: Any,
    project_id: uuid.UUID,
    *,
    flow: str | None,
    status: str | None,
    limit: int,
    after: tuple[datetime, str] | None = None,
    tables: Tables = table,
) -> list[tuple[ExecutionSummary, str]]:
    """(summary, resume key) newest first, as the SDK orders them (created, then id,
    descending); ``after`` continues strictly after a key (keyset pagination)."""
    from sqlalchemy import and_, or_

    Run = tables("PipelineRunSchema")
    Pipeline = tables("PipelineSchema")

    query = _with_status(summary_query(project_id, tables), status, tables)
    if flow is not None:
        query = query.where(Pipeline.name.in_(flow_names(flow)))
    if after is not None:
        created, last_id = after[0], uuid.UUID(after[1])
        query = query.where(
            or_(Run.created < created, and_(Run.created == created, Run.id < last_id))
        )
    query = query.order_by(Run.created.desc(), Run.id.desc()).limit(limit)
    with engine.connect() as conn:  # plain columns: no ORM session needed
        rows = conn.execute(query).all()
    return [(summary(row), encode_key(row[5], row[0])) for row in rows]


def pipeline_exists(engine: Any, project_id: uuid.UUID, flow: str) -> bool:
    from sqlalchemy import select
    from sqlmodel import Session

    Pipeline = table("PipelineSchema")

    query = select(Pipeline.id).where(
        Pipeline.project_id == project_id, Pipeline.name.in_(flow_names(flow))
    )
    with Session(engine) as session:
        return session.execute(query.limit(1)).first() is not None
