"""SDK objects -> plain dicts in the shapes of schemas/defs (then validated by the models)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.names import public_status

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import (
        ArtifactRef,
        Checkpoint,
        Execution,
        ExecutionSummary,
        Failure,
        PendingWait,
    )


def text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def failure(info: Any) -> Failure | None:
    if info is None:
        return None
    return {
        "message": str(info.message),
        "exception_type": info.exception_type,
        "origin": text(info.origin),
    }


def pending_wait(wait: Any) -> PendingWait | None:
    if wait is None:
        return None
    return {
        "name": wait.name,
        "wait_id": str(wait.wait_id),
        "question": wait.question,
        "schema": wait.schema,
        "entered_waiting_at": timestamp(wait.entered_waiting_at),
    }


def artifact_ref(artifact: Any) -> ArtifactRef:
    return {
        "artifact_id": str(artifact.artifact_id),
        "name": artifact.name,
        "kind": artifact.kind,
        "save_type": str(artifact.save_type),
        "checkpoint": artifact.producing_call,
    }


def checkpoint(call: Any) -> Checkpoint:
    return {
        "call_id": str(call.call_id),
        "name": call.name,
        "status": public_status(call.status),
        "started_at": timestamp(call.started_at),
        "ended_at": timestamp(call.ended_at),
        "attempts": len(call.attempts),
        "failure": failure(call.failure),
    }


def execution_summary(execution: Any) -> ExecutionSummary:
    return {
        "exec_id": execution.exec_id,
        "flow": execution.flow_name,
        "status": public_status(execution.status),
        "stack": execution.stack_name,
        "started_at": timestamp(execution.started_at),
        "ended_at": timestamp(execution.ended_at),
        "original_exec_id": execution.original_exec_id,
    }


def execution(execution: Any) -> Execution:
    return {
        **execution_summary(execution),
        "status_reason": execution.status_reason,
        "project": execution.project_name or execution.project_id,
        "checkpoints": [checkpoint(call) for call in execution.checkpoints],
        "artifacts": [artifact_ref(a) for a in execution.artifacts],
        "pending_wait": pending_wait(execution.pending_wait),
        "failure": failure(execution.failure),
    }
