"""Reads straight from the embedded store's SQL tables: only what the contract returns.

On a local (SQL) store, the read tools skip the SDK's per-run model building
and ask ZenML's own SQL schema (SQLModel tables on the store's engine) for
exactly the columns they return, in one statement where possible. Each query
gives the same answer as the SDK call it replaces; ``tests/test_differential.py``
checks that field by field on a seeded store. On a server connection there is
no engine: ``engine()`` answers None and the gateway takes the SDK path
(or, for one execution in full, ``server_reads``).

Private ZenML API (pinned in ``tests/test_gateway_pins.py``):
``SqlZenStore.engine`` and the table schemas ``PipelineRunSchema``,
``PipelineSnapshotSchema``, ``PipelineSchema``, ``StackSchema``,
``RunWaitConditionSchema`` and ``ProjectSchema`` (their column names).
Private Kitaru API (pinned too): ``_RAW_STATUSES_BY_PUBLIC_STATUS`` (how a
run's ZenML status maps onto an execution status) and
``PIPELINE_SOURCE_ALIAS_PREFIX`` (the second stored name of a flow).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

_RAW_STATUS: dict[str, str] = {}  # ZenML run status -> execution status
_RUNNING = "running"
_WAITING = "waiting"
_inputs_lock = threading.Lock()
_inputs: dict[str, dict[str, Any]] = {}  # snapshot id -> flow parameters (never change)


def _table(name: str) -> Any:
    """One of ZenML's SQLModel table classes (typed Any: its columns are used in queries)."""
    from zenml.zen_stores import schemas

    return getattr(schemas, name)


def engine(zen: Any) -> Any | None:
    """The embedded store's SQLAlchemy engine; None on a server (REST) connection.

    Private ZenML API: ``SqlZenStore.engine`` (the store's own engine).
    """
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    store = zen.zen_store
    return store.engine if isinstance(store, SqlZenStore) else None


def raw_statuses() -> dict[str, str]:
    """ZenML run status -> execution status, as Kitaru maps them.

    Private Kitaru API: ``kitaru._client._mappers._RAW_STATUSES_BY_PUBLIC_STATUS``.
    """
    if not _RAW_STATUS:
        from kitaru._client._mappers import _RAW_STATUSES_BY_PUBLIC_STATUS

        for public, raws in _RAW_STATUSES_BY_PUBLIC_STATUS.items():
            for raw in raws:
                _RAW_STATUS[raw] = str(public.value)
    return _RAW_STATUS


def raw_for(public: str) -> list[str]:
    return [raw for raw, mapped in raw_statuses().items() if mapped == public]


def flow_names(flow: str) -> list[str]:
    """Both names a Kitaru flow is stored under (Kitaru's ``pipeline_name`` filter).

    Private Kitaru API: ``kitaru._source_aliases.PIPELINE_SOURCE_ALIAS_PREFIX``.
    """
    from kitaru._source_aliases import PIPELINE_SOURCE_ALIAS_PREFIX

    return [flow, f"{PIPELINE_SOURCE_ALIAS_PREFIX}{flow}"]


def public_flow_name(name: str | None) -> str | None:
    from kitaru._source_aliases import normalize_flow_name

    return normalize_flow_name(name)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ------------------------------------------------------------------ summaries


def _summary_query(project_id: uuid.UUID | None) -> Any:
    """Every column an ExecutionSummary needs, one row per run (pending wait as a flag)."""
    from sqlalchemy import and_, exists, func, select

    Run = _table("PipelineRunSchema")
    Pipeline = _table("PipelineSchema")
    Snapshot = _table("PipelineSnapshotSchema")
    Wait = _table("RunWaitConditionSchema")
    Stack = _table("StackSchema")

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


def _summary(row: Any) -> dict[str, Any]:
    run_id, raw, started, ended, original, _created, flow, stack, pending = row
    status = raw_statuses().get(raw, raw)
    if status == _RUNNING and pending:
        status = _WAITING
    return {
        "exec_id": str(run_id),
        "flow": public_flow_name(flow),
        "status": status,
        "stack": stack,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "original_exec_id": str(original) if original else None,
    }


def _with_status(query: Any, status: str | None) -> Any:
    """The SDK's status filter, exact: a running run with a pending wait is waiting."""
    from sqlalchemy import and_, exists, not_, or_

    Run = _table("PipelineRunSchema")
    Wait = _table("RunWaitConditionSchema")

    if status is None:
        return query
    pending = exists().where(and_(Wait.run_id == Run.id, Wait.status == "pending"))
    running = Run.status.in_(raw_for(_RUNNING))
    if status == _RUNNING:
        return query.where(running, not_(pending))
    if status == _WAITING:
        return query.where(or_(Run.status.in_(raw_for(_WAITING)), and_(running, pending)))
    return query.where(Run.status.in_(raw_for(status)))


def list_summaries(
    engine: Any,
    project_id: uuid.UUID,
    *,
    flow: str | None,
    status: str | None,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """(summary, resume key) newest first, as the SDK orders them (created, then id,
    descending); ``after`` continues strictly after a key (keyset pagination)."""
    from sqlalchemy import and_, or_
    from sqlmodel import Session

    Run = _table("PipelineRunSchema")
    Pipeline = _table("PipelineSchema")

    query = _with_status(_summary_query(project_id), status)
    if flow is not None:
        query = query.where(Pipeline.name.in_(flow_names(flow)))
    if after is not None:
        created, last_id = after[0], uuid.UUID(after[1])
        query = query.where(
            or_(Run.created < created, and_(Run.created == created, Run.id < last_id))
        )
    query = query.order_by(Run.created.desc(), Run.id.desc()).limit(limit)
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [(_summary(row), encode_key(row[5], row[0])) for row in rows]


def encode_key(created: datetime, run_id: Any) -> str:
    return f"{created.isoformat()}|{run_id}"


def decode_key(key: str) -> tuple[datetime, str]:
    """The (naive UTC creation time, run id) a key names; ValueError for anything else."""
    created, _, run_id = key.partition("|")
    return run_key(datetime.fromisoformat(created), run_id)


def run_key(created: datetime, run_id: Any) -> tuple[datetime, str]:
    """A run's place in the listing order, comparable with a decoded key (naive UTC)."""
    if created.tzinfo is not None:
        created = created.astimezone(UTC).replace(tzinfo=None)
    return created, str(uuid.UUID(str(run_id)))


def whole_second_after(moment: datetime) -> str:
    """The REST filters' datetime format (whole seconds), rounded up: ``lte`` it keeps
    every run created at or before ``moment``."""
    rounded = moment.replace(microsecond=0)
    if rounded < moment:
        rounded += timedelta(seconds=1)
    return rounded.strftime("%Y-%m-%d %H:%M:%S")


def pipeline_exists(engine: Any, project_id: uuid.UUID, flow: str) -> bool:
    from sqlalchemy import select
    from sqlmodel import Session

    Pipeline = _table("PipelineSchema")

    query = select(Pipeline.id).where(
        Pipeline.project_id == project_id, Pipeline.name.in_(flow_names(flow))
    )
    with Session(engine) as session:
        return session.execute(query.limit(1)).first() is not None


# ------------------------------------------------------------------ flow inputs


def flow_inputs(engine: Any, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """run id -> the flow parameters it ran with (a run's ``config.parameters``).

    Parameters live in the run's snapshot (``pipeline_configuration``), shared
    by every run of that snapshot: each snapshot's JSON is read and parsed once
    per process (a snapshot never changes), so a cohort of thousands of runs
    costs one small query plus the few snapshots not seen before.
    """
    from sqlalchemy import select
    from sqlmodel import Session

    Run = _table("PipelineRunSchema")
    Snapshot = _table("PipelineSnapshotSchema")

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


# ------------------------------------------------------------------ statistics


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

    Run = _table("PipelineRunSchema")
    Pipeline = _table("PipelineSchema")
    Snapshot = _table("PipelineSnapshotSchema")
    Stack = _table("StackSchema")
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


def _names(session: Any, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Names of the pipelines, and stacks (by snapshot) of the groups found."""
    from sqlalchemy import select

    Pipeline = _table("PipelineSchema")
    Snapshot = _table("PipelineSnapshotSchema")
    Stack = _table("StackSchema")
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


# ------------------------------------------------------------------ stacks


def stacks(engine: Any) -> list[dict[str, Any]]:
    """Every stack with its components as ``(name, id, components)``, in two small queries.

    The components of a stack in the order the Stack shape lists them from
    ZenML's hydrated model: by type; within a type (sandboxes, alerters...
    may be several) the type's default first, then in the order they were
    added (the order in which ZenML's model loads them from SQLite).
    """
    from sqlalchemy import select
    from sqlmodel import Session

    Stack = _table("StackSchema")
    Composition = _table("StackCompositionSchema")
    Component = _table("StackComponentSchema")
    with Session(engine) as session:
        found = {
            str(stack_id): {"name": name, "id": str(stack_id), "components": []}
            for stack_id, name in session.execute(select(Stack.id, Stack.name))
        }
        members = (
            select(
                Composition.stack_id,
                Composition.default_for_type,
                Component.type,
                Component.name,
                Component.flavor,
            )
            .join(Component, Component.id == Composition.component_id)
            .order_by(*_insertion_order(engine, "stack_composition"))
        )
        ranked: dict[str, list[tuple[tuple[str, bool], dict[str, Any]]]] = {}
        for stack_id, default, kind, name, flavor in session.execute(members):
            component = {"type": str(kind), "name": name, "flavor": flavor}
            ranked.setdefault(str(stack_id), []).append(((str(kind), default is None), component))
    for stack_id, members_of in ranked.items():
        if stack_id in found:
            members_of.sort(key=lambda member: member[0])  # stable: component id order kept
            found[stack_id]["components"] = [component for _, component in members_of]
    return list(found.values())


def _insertion_order(engine: Any, table: str) -> list[Any]:
    """ORDER BY terms for the order rows were added: SQLite's rowid; none elsewhere."""
    from sqlalchemy import literal_column

    return [literal_column(f"{table}.rowid")] if engine.dialect.name == "sqlite" else []


# ------------------------------------------------------------------ one execution in full

ADAPTER_TYPES = {"llm_call", "tool_call"}  # their inputs and fallback kinds: the SDK maps them


class _Traceback:
    """What Kitaru's failure mapping reads from an ``ExceptionInfo``: its traceback."""

    def __init__(self, raw: str | None) -> None:
        data = json.loads(raw) if raw else {}
        self.traceback = data.get("traceback") if isinstance(data, dict) else None


def _failure(
    status_reason: str | None, raw_exception: str | None, origin: Any, fallback: str | None
) -> dict[str, Any] | None:
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


def execution(engine: Any, run_id: str) -> dict[str, Any] | None:
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

    Run = _table("PipelineRunSchema")
    Wait = _table("RunWaitConditionSchema")

    Step = _table("StepRunSchema")

    try:
        wanted = uuid.UUID(run_id)
    except ValueError:
        return None
    with Session(engine) as session:
        query = _summary_query(None).add_columns(
            Run.status_reason, Run.exception_info, Run.project_id
        )
        row = session.execute(query.where(Run.id == wanted)).first()
        if row is None:
            return None
        summary = _summary(row[:9])
        status_reason, raw_exception, project_id = row[9:]
        pending_wait = None
        if summary["status"] in (_RUNNING, _WAITING):
            wait = session.execute(
                select(Wait.id, Wait.name, Wait.question, Wait.data_schema_json, Wait.created)
                .where(Wait.run_id == wanted, Wait.status == "pending")
                .order_by(Wait.created, Wait.id)
                .limit(1)
            ).first()
            if wait is not None:
                summary["status"] = _WAITING
                pending_wait = {
                    "name": wait[1],
                    "wait_id": str(wait[0]),
                    "question": wait[2],
                    "schema": dict(json.loads(wait[3])) if wait[3] else None,
                    "entered_waiting_at": _iso(wait[4]),
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
    checkpoints, artifacts, seen = [], [], set()
    for shown, attempts in visible:
        name = normalize_checkpoint_name(shown[1])
        last = attempts[-1]
        last_status = raw_statuses().get(last[2], last[2])
        checkpoints.append(
            {
                "call_id": str(shown[0]),
                "name": name,
                "status": raw_statuses().get(shown[2], shown[2]),
                "started_at": _iso(shown[3]),
                "ended_at": _iso(shown[4]),
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

    Config = _table("StepConfigurationSchema")

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


def _outputs(session: Any, step_ids: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """step id -> its output artifacts (ArtifactRef shape without the checkpoint)."""
    from sqlalchemy import select

    ArtifactSchema = _table("ArtifactSchema")
    ArtifactVersionSchema = _table("ArtifactVersionSchema")
    Resource = _table("RunMetadataResourceSchema")
    Metadata = _table("RunMetadataSchema")

    Output = _table("StepRunOutputArtifactSchema")

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
    found: dict[str, list[dict[str, Any]]] = {}
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
