"""A varied Kitaru store, fast: a few real flow runs, then copies of their rows.

Used by ``bench/scale.py`` and ``tests/test_differential.py``. The real runs
(two ``two_steps`` with different inputs, a failed one, one paused on a wait)
give executions with checkpoints, artifacts, inputs and a pending wait; the
copies are their pipeline-run rows inserted through ZenML's own SQL schema
(``PipelineRunSchema.from_request``; ``bench/harness.py``'s ``seed_executions``
calls ``seed`` too) with a random status, start time (over ``DAYS`` days), template
(so flow inputs and snapshots vary) and, now and then, an ``original_run``
(a replay). Ten thousand executions take a few seconds.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAYS = 12
STATUSES = ("completed",) * 6 + ("failed", "failed", "cancelled", "stopped", "running", "paused")


def _run(script: Path, flow: str, args: dict[str, Any], background: bool = False) -> Any:
    command = [
        sys.executable,
        str(ROOT / "tests" / "run_example.py"),
        str(script),
        flow,
        json.dumps(args),
    ]
    if background:
        return subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{script.name}:{flow} printed nothing:\n{out.stderr[-2000:]}")
    return json.loads(lines[-1]).get("exec_id")


def real_runs() -> list[str]:
    """Run the template flows; return their exec_ids (the paused one's runner is killed)."""
    examples, flows = ROOT / "examples", ROOT / "tests" / "flows"
    waiting = _run(examples / "approval.py", "approval", {"topic": "seed"}, background=True)
    ids = [
        _run(examples / "two_steps.py", "two_steps", {"name": "alpha"}),
        _run(examples / "two_steps.py", "two_steps", {"name": "beta", "punctuation": "?"}),
    ]
    _run(flows / "failing_two_steps.py", "two_steps", {"name": "gamma"})  # prints no exec_id
    ids.append(_latest("two_steps", "failed"))
    deadline = time.monotonic() + 180
    paused = None
    while paused is None and time.monotonic() < deadline:
        time.sleep(1)
        paused = _paused_run()
    os.killpg(waiting.pid, 9)
    waiting.wait()
    if paused:
        ids.append(paused)
    return [i for i in ids if i]


def _latest(flow: str, status: str) -> str | None:
    from kitaru import KitaruClient

    found = KitaruClient().executions.list(flow=flow, status=status, limit=1)
    return found[0].exec_id if found else None


def _paused_run() -> str | None:
    return _latest("approval", "waiting")


def count() -> int:
    from zenml.client import Client

    return int(Client().list_pipeline_runs(size=1).total)


def seed(
    templates: list[str],
    total: int,
    rng: random.Random | None = None,
    days: int = DAYS,
    statuses: tuple[str, ...] = STATUSES,
    replays: float = 0.1,
) -> float:
    """Copy template rows until the store holds ``total`` executions; seconds taken.

    Start (and creation) times are spread over the last ``days`` days; with
    ``days=0`` the copies are new arrivals, each a millisecond after the last.
    Each copy takes one of ``statuses``; a share ``replays`` of them are replays of
    their template.
    """
    from sqlmodel import Session, select
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunRequest
    from zenml.zen_stores.schemas import PipelineRunSchema

    rng = rng or random.Random(18)
    start = time.perf_counter()
    missing = total - count()
    if missing <= 0:
        return 0.0
    store = Client().zen_store
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with Session(store.engine) as session:
        rows = [session.get(PipelineRunSchema, uuid.UUID(t)) for t in templates]
        last = {
            row.pipeline_id: session.exec(
                select(PipelineRunSchema.index)
                .where(PipelineRunSchema.pipeline_id == row.pipeline_id)
                .order_by(PipelineRunSchema.index.desc())
            ).first()
            or 0
            for row in rows
        }
        for number in range(missing):
            template = rng.choice(rows)
            last[template.pipeline_id] += 1
            if days:
                started = now - timedelta(seconds=rng.randrange(days * 86400))
            else:
                started = datetime.now(UTC).replace(tzinfo=None) + timedelta(milliseconds=number)
            status = rng.choice(statuses)
            request = PipelineRunRequest(
                name=f"seed-{last[template.pipeline_id]}-{os.urandom(4).hex()}",
                snapshot=template.snapshot_id,
                project=template.project_id,
                user=template.user_id,
                status=ExecutionStatus.RUNNING,
                start_time=started,
            )
            row = PipelineRunSchema.from_request(
                request,
                pipeline_id=template.pipeline_id,
                index=last[template.pipeline_id],
                enable_heartbeat=False,
            )
            row.status = status
            row.in_progress = status in ("running", "paused")
            row.end_time = None if row.in_progress else started + timedelta(seconds=3)
            row.created = started  # the SDK lists by creation time: spread it too
            if rng.random() < replays:
                row.original_run_id = template.id
            session.add(row)
        session.commit()
    return time.perf_counter() - start
