"""One execution in full from a few small queries (one steps listing)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.names import ADAPTER_TYPES, RUNNING, WAITING, public_status, raw_statuses
from kitaru_mcp.gateway.store import summaries
from kitaru_mcp.gateway.store.tables import iso, table

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ArtifactRef, Checkpoint, Execution, Failure, PendingWait


class _Traceback:
    """What Kitaru's failure mapping reads from an ``ExceptionInfo``: its traceback."""

    def __init__(self, raw: str | None) -> None:
        data = json.loads(raw) if raw else {}
        self.traceback = data.get("traceback") if isinstance(data, dict) else None


def _failure(
    status_reason: str | None, raw_exception: str | None, origin: Any, fallback: str | None
) -> Failure | None:
    """Kitaru's ``_map_failure_info`` on the stored exception info, in the Failure shape.

    Private Kitaru API: ``kitaru._client._mappers._map_failure_info``.
    """
    from kitaru._client._mappers import _map_failure_info

    from kitaru_mcp.gateway import serialize

    info = _map_failure_info(
        status_reason=status_reason,
        exception_info=_Traceback(raw_exception) if raw_exception else None,
        default_origin=origin,
        fallback_message=fallback,
    )
    return serialize.failure(info)


def execution(engine: Any, run_id: str) -> Execution | None:
    """The Execution shape of one run, from a few small queries (one steps listing).

    The same answer as ``KitaruClient().executions.get`` mapped by
    ``serialize.execution``: checkpoints are the run's step attempts grouped by
    name in the order they were first created, each showing its newest attempt
    that is not ``retried``; artifacts are their outputs. None (the caller
    takes the SDK path) when the run is not there, or when a checkpoint is an
    adapter call (``llm_call``/``tool_call``: the SDK maps their inputs too).

    Private ZenML API, besides the tables of the module docstring:
    ``StepRunSchema``, ``StepConfigurationSchema``, ``StepRunOutputArtifactSchema``,
    ``ArtifactVersionSchema``, ``ArtifactSchema``, ``RunMetadataSchema``,
    ``RunMetadataResourceSchema``. Private Kitaru API:
    ``kitaru._source_aliases.normalize_checkpoint_name`` and the failure
    mapping above.
    """
    from kitaru._client._models import FailureOrigin
    from kitaru._source_aliases import normalize_checkpoint_name
    from sqlalchemy import select
    from sqlmodel import Session

    Run = table("PipelineRunSchema")
    Wait = table("RunWaitConditionSchema")

    Step = table("StepRunSchema")

    try:
        wanted = uuid.UUID(run_id)
    except ValueError:
        return None
    with Session(engine) as session:
        query = summaries.summary_query(None).add_columns(
            Run.status_reason, Run.exception_info, Run.project_id
        )
        row = session.execute(query.where(Run.id == wanted)).first()
        if row is None:
            return None
        summary = summaries.summary(row[:9])
        status_reason, raw_exception, project_id = row[9:]
        pending_wait: PendingWait | None = None
        if summary["status"] in (RUNNING, WAITING):
            wait = session.execute(
                select(Wait.id, Wait.name, Wait.question, Wait.data_schema_json, Wait.created)
                .where(Wait.run_id == wanted, Wait.status == "pending")
                .order_by(Wait.created, Wait.id)
                .limit(1)
            ).first()
            if wait is not None:
                summary["status"] = WAITING
                pending_wait = {
                    "name": wait[1],
                    "wait_id": str(wait[0]),
                    "question": wait[2],
                    "schema": dict(json.loads(wait[3])) if wait[3] else None,
                    "entered_waiting_at": iso(wait[4]),
                }
        steps = session.execute(
            select(
                Step.id,
                Step.name,
                Step.status,
                Step.start_time,
                Step.end_time,
                Step.version,
                Step.exception_info,
                Step.snapshot_id,
            )
            .where(Step.pipeline_run_id == wanted)
            .order_by(Step.created, Step.id)
        ).all()
        if any(kind in ADAPTER_TYPES for kind in _step_types(session, steps)):
            return None
        lineages: dict[str, list[Any]] = {}
        for step in steps:
            lineages.setdefault(step[1], []).append(step)
        visible = []
        for attempts in lineages.values():
            attempts.sort(key=lambda step: step[5])
            shown = next((s for s in reversed(attempts) if s[2] != "retried"), attempts[-1])
            visible.append((shown, attempts))
        outputs = _outputs(session, [shown[0] for shown, _ in visible])
    checkpoints: list[Checkpoint] = []
    artifacts: list[ArtifactRef] = []
    seen: set[str] = set()
    for shown, attempts in visible:
        name = normalize_checkpoint_name(shown[1])
        last = attempts[-1]
        last_status = raw_statuses().get(last[2], last[2])
        checkpoints.append(
            {
                "call_id": str(shown[0]),
                "name": name,
                "status": public_status(raw_statuses().get(shown[2], shown[2])),
                "started_at": iso(shown[3]),
                "ended_at": iso(shown[4]),
                "attempts": len(attempts),
                "failure": _failure(
                    None,
                    last[6],
                    FailureOrigin.USER_CODE,
                    f"Checkpoint '{normalize_checkpoint_name(last[1])}' failed."
                    if last_status == "failed"
                    else None,
                ),
            }
        )
        for artifact in outputs.get(str(shown[0]), []):
            if artifact["artifact_id"] not in seen:
                seen.add(artifact["artifact_id"])
                artifacts.append({**artifact, "checkpoint": name})
    failure = None
    if summary["status"] == "failed":
        failure = _failure(
            status_reason,
            raw_exception,
            FailureOrigin.USER_CODE if raw_exception is not None else FailureOrigin.UNKNOWN,
            f"Execution {summary['exec_id']} failed.",
        )
    return {
        **summary,
        "status_reason": status_reason,
        "project": str(project_id),
        "checkpoints": checkpoints,
        "artifacts": artifacts,
        "pending_wait": pending_wait,
        "failure": failure,
    }


def _step_types(session: Any, steps: Sequence[Any]) -> list[str | None]:
    """Each step's ``config.step_type``: its own (dynamic) configuration, else the snapshot's."""
    from sqlalchemy import and_, or_, select

    Config = table("StepConfigurationSchema")

    if not steps:
        return []
    ids = [step[0] for step in steps]
    named = [
        and_(Config.snapshot_id == step[7], Config.name == step[1]) for step in steps if step[7]
    ]
    rows = session.execute(
        select(Config.step_run_id, Config.snapshot_id, Config.name, Config.config).where(
            or_(Config.step_run_id.in_(ids), *named)
        )
    ).all()
    dynamic = {str(r[0]): r[3] for r in rows if r[0] is not None}
    static = {(str(r[1]), r[2]): r[3] for r in rows if r[1] is not None}
    kinds = []
    for step in steps:
        raw = dynamic.get(str(step[0])) or static.get((str(step[7]), step[1]))
        config = (json.loads(raw).get("config") or {}) if raw else {}
        kinds.append(config.get("step_type"))
    return kinds


def _outputs(session: Any, step_ids: list[Any]) -> dict[str, list[ArtifactRef]]:
    """step id -> its output artifacts (ArtifactRef shape without the checkpoint)."""
    from sqlalchemy import select

    ArtifactSchema = table("ArtifactSchema")
    ArtifactVersionSchema = table("ArtifactVersionSchema")
    Resource = table("RunMetadataResourceSchema")
    Metadata = table("RunMetadataSchema")

    Output = table("StepRunOutputArtifactSchema")

    if not step_ids:
        return {}
    rows = session.execute(
        select(
            Output.step_id,
            ArtifactVersionSchema.id,
            ArtifactVersionSchema.save_type,
            ArtifactSchema.name,
        )
        .join(ArtifactVersionSchema, ArtifactVersionSchema.id == Output.artifact_id)
        .join(ArtifactSchema, ArtifactSchema.id == ArtifactVersionSchema.artifact_id)
        .where(Output.step_id.in_(step_ids))
    ).all()
    kinds: dict[str, Any] = {}
    if rows:
        for resource_id, value in session.execute(
            select(Resource.resource_id, Metadata.value)
            .join(Metadata, Metadata.id == Resource.run_metadata_id)
            .where(
                Resource.resource_type == "artifact_version",
                Resource.resource_id.in_([row[1] for row in rows]),
                Metadata.key == "kitaru_artifact_type",
            )
            .order_by(Metadata.created)
        ).all():
            kinds[str(resource_id)] = json.loads(value)
    found: dict[str, list[ArtifactRef]] = {}
    for step_id, artifact_id, save_type, name in rows:
        kind = kinds.get(str(artifact_id))
        found.setdefault(str(step_id), []).append(
            {
                "artifact_id": str(artifact_id),
                "name": name,
                "kind": kind if isinstance(kind, str) else None,
                "save_type": str(save_type),
            }
        )
    return found
