"""The flow parameters each run started with (a snapshot's ``config``, cached:
it never changes).
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from kitaru_mcp.gateway.store.tables import table

_inputs_lock = threading.Lock()


_inputs: dict[str, dict[str, Any]] = {}  # snapshot id -> flow parameters (never change)


def flow_inputs(engine: Any, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """run id -> the flow parameters it ran with (a run's ``config.parameters``).

    Parameters live in the run's snapshot (``pipeline_configuration``), shared
    by every run of that snapshot: each snapshot's JSON is read and parsed once
    per process (a snapshot never changes), so a cohort of thousands of runs
    costs one small query plus the few snapshots not seen before.
    """
    from sqlalchemy import select
    from sqlmodel import Session

    Run = table("PipelineRunSchema")
    Snapshot = table("PipelineSnapshotSchema")

    ids = [uuid.UUID(run_id) for run_id in run_ids]
    found: dict[str, dict[str, Any]] = {}
    with Session(engine) as session:
        links: list[tuple[Any, Any, str | None]] = []
        for start in range(0, len(ids), 500):  # bounded IN lists
            chunk = ids[start : start + 500]
            query = select(Run.id, Run.snapshot_id, Run.pipeline_configuration).where(
                Run.id.in_(chunk)
            )
            links += [tuple(row) for row in session.execute(query).all()]
        with _inputs_lock:
            missing = {str(s) for _, s, _ in links if s is not None and str(s) not in _inputs}
        if missing:
            query = select(Snapshot.id, Snapshot.pipeline_configuration).where(
                Snapshot.id.in_([uuid.UUID(s) for s in missing])
            )
            parsed = {
                str(snapshot_id): _parameters(config)
                for snapshot_id, config in session.execute(query).all()
            }
            with _inputs_lock:
                _inputs.update(parsed)
    with _inputs_lock:
        for run_id, snapshot_id, own_config in links:
            if snapshot_id is not None:
                found[str(run_id)] = dict(_inputs.get(str(snapshot_id), {}))
            else:  # a legacy run without a snapshot keeps its own configuration
                found[str(run_id)] = _parameters(own_config)
    return found


def _parameters(config: str | None) -> dict[str, Any]:
    if not config:
        return {}
    return dict(json.loads(config).get("parameters") or {})
