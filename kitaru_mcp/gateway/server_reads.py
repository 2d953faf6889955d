"""One execution in full on a server connection, in fewer requests than the SDK's.

``KitaruClient().executions.get`` asks a server for the run, lists the run's
steps twice (every attempt, then again without retried ones, which adds
nothing the first listing did not have) and fetches each output artifact
on its own to read its metadata. Here: the run, one listing of the attempts
and one request for all output artifacts, mapped by Kitaru's own helpers.
``tests/test_differential.py`` proves the answer equal to the SDK's.

Private Kitaru API (pinned in ``tests/test_gateway_pins.py``):
``KitaruClient._get_pipeline_run``, and from ``kitaru._client._mappers``
``_map_execution`` (here without details: no step listing),
``_first_pending_wait``, ``_list_checkpoint_attempts_for_run``,
``_map_checkpoint_attempt``, ``_normalize_checkpoint_name`` and
``_to_public_status``; ``kitaru._checkpoint_steps.visible_checkpoint_step_for_lineage``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway import filters, serialize
from kitaru_mcp.gateway.names import ADAPTER_TYPES, public_status

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ArtifactRef, Checkpoint, Execution


def execution(client: Any, exec_id: str) -> Execution | None:
    """The Execution shape, as ``serialize.execution(client.executions.get(exec_id))``.

    None (the caller takes the SDK path, which fetches the run and its steps
    again) when a checkpoint is an adapter call or the attempts cannot be
    listed. A missing execution raises as the SDK does.
    """
    from kitaru._client._mappers import (
        _first_pending_wait,
        _list_checkpoint_attempts_for_run,
        _map_execution,
    )
    from kitaru._client._models import ExecutionStatus
    from kitaru.errors import KitaruBackendError

    run = client._get_pipeline_run(exec_id, hydrate=True)
    light = _map_execution(run=run, client=client, include_details=False)
    try:
        lineages = _list_checkpoint_attempts_for_run(run=run, client=client)
    except KitaruBackendError:
        return None
    shown = [_shown(attempts) for attempts in lineages.values()]
    steps = [step for step in shown if step is not None]
    if any(_step_type(step) in ADAPTER_TYPES for step, _ in steps):
        return None
    if light.status == ExecutionStatus.RUNNING and light.pending_wait is None:
        # what the SDK's detailed mapping adds: waits only a listing shows
        pending = _first_pending_wait(run=run, client=client)
        if pending is not None:
            light = dataclasses.replace(light, status=ExecutionStatus.WAITING, pending_wait=pending)
    kinds = _artifact_kinds(client, [a for step, _ in steps for a in _outputs(step)])
    checkpoints: list[Checkpoint] = []
    artifacts: list[ArtifactRef] = []
    seen: set[str] = set()
    for step, attempts in steps:
        call = _checkpoint(step, attempts)
        checkpoints.append(call)
        for artifact in _outputs(step):
            artifact_id = str(artifact.id)
            if artifact_id in seen:
                continue
            seen.add(artifact_id)
            kind = kinds.get(artifact_id)
            artifacts.append(
                {
                    "artifact_id": artifact_id,
                    "name": artifact.name,
                    "kind": kind if isinstance(kind, str) else None,
                    "save_type": str(artifact.save_type.value),
                    "checkpoint": call["name"],
                }
            )
    return {**serialize.execution(light), "checkpoints": checkpoints, "artifacts": artifacts}


def _shown(attempts: list[Any]) -> tuple[Any, list[Any]] | None:
    """The attempt a checkpoint shows (Kitaru's choice), with all of its attempts."""
    from kitaru._checkpoint_steps import visible_checkpoint_step_for_lineage

    step = visible_checkpoint_step_for_lineage(attempts)
    return None if step is None else (step, attempts)


def _step_type(step: Any) -> str | None:
    kind = getattr(step, "type", None)
    return str(getattr(kind, "value", kind)) if kind is not None else None


def _outputs(step: Any) -> list[Any]:
    return [artifact for versions in step.outputs.values() for artifact in versions]


def _checkpoint(step: Any, attempts: list[Any]) -> Checkpoint:
    """The Checkpoint shape, as Kitaru's ``_map_checkpoint_call`` fills it."""
    from kitaru._client._mappers import (
        _map_checkpoint_attempt,
        _normalize_checkpoint_name,
        _to_public_status,
    )

    return {
        "call_id": str(step.id),
        "name": _normalize_checkpoint_name(step.name),
        "status": public_status(_to_public_status(step.status)),
        "started_at": serialize.timestamp(step.start_time),
        "ended_at": serialize.timestamp(step.end_time),
        "attempts": len(attempts),
        "failure": serialize.failure(_map_checkpoint_attempt(attempts[-1]).failure),
    }


def _artifact_kinds(client: Any, artifacts: list[Any]) -> dict[str, Any]:
    """artifact id -> its ``kitaru_artifact_type`` metadata, 100 artifacts per request.

    The metadata comes with hydrated artifact versions only. An artifact a
    listing leaves out, or every one of a server that refuses the ``oneof``
    filter, is read on its own, as the SDK reads each.
    """
    unique = {str(artifact.id): artifact for artifact in artifacts}
    ids = sorted(unique)
    found: dict[str, Any] = {}
    for chunk in filters.chunks(ids):
        try:
            page = client._client().list_artifact_versions(
                id=filters.one_of(chunk),
                project=client._project,
                hydrate=True,
                size=len(chunk),
            )
        except Exception:  # an older server: one request per artifact below
            continue
        found.update({str(version.id): version for version in page.items})
    versions = [found.get(artifact_id, unique[artifact_id]) for artifact_id in ids]
    return {
        str(version.id): dict(version.run_metadata or {}).get("kitaru_artifact_type")
        for version in versions
    }
