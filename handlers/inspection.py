"""Inspection tools: statistics, diff, cohort (read-only views over many executions)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk
from kitaru_mcp.handlers.serialize import timestamp

from kitaru_mcp.errors import InvalidArgument, NotFound, to_failure

PREVIEW_CHARS = 300
_ZENML_TIME = "%Y-%m-%d %H:%M:%S"  # the only format ZenML's datetime filters accept


# --------------------------------------------------------------------- helpers


def instant(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time as a naive UTC datetime (how the store records times)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"{field}: {value!r} is not an ISO 8601 time.",
            field=field,
            hint="Use e.g. 2026-11-01, 2026-11-01T08:00:00 or 2026-11-01T08:00:00+02:00.",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def window(since_text: str | None, until_text: str | None) -> tuple[datetime | None, ...]:
    since, until = instant(since_text, "since"), instant(until_text, "until")
    if since is not None and until is not None and since > until:
        raise InvalidArgument(
            f"since ({since.isoformat()}) is later than until ({until.isoformat()}).",
            field="since",
        )
    return since, until


def bounded(value: Any) -> Any:
    """A JSON value as is when small, else a preview string of it."""
    text = json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    if len(text) <= PREVIEW_CHARS:
        return json.loads(text)
    return text[:PREVIEW_CHARS] + "…"


def _same_json(left: Any, right: Any) -> bool:
    return json.dumps(left, default=str, sort_keys=True) == json.dumps(
        right, default=str, sort_keys=True
    )


def flow_inputs(exec_id: str) -> dict[str, Any]:
    """The flow parameters an execution ran with (defaults included)."""
    from zenml.client import Client

    run = Client().get_pipeline_run(exec_id, hydrate=True)
    return dict(run.config.parameters or {})


# ------------------------------------------------------------------ statistics


class _WindowedStore:
    """A zen store whose run statistics only count runs started inside a time window."""

    def __init__(self, store: Any, conditions: list[str]) -> None:
        self._store = store
        self._conditions = conditions

    def get_run_statistics(self, request: Any) -> Any:
        narrowed = request.filter.model_copy(update={"start_time": list(self._conditions)})
        return self._store.get_run_statistics(request.model_copy(update={"filter": narrowed}))


class _WindowedClient:
    """Stands in for KitaruClient in Kitaru's statistics helper, adding a start-time window.

    Kitaru 0.21's statistics API has no time filter, while ZenML's run filter
    has one (``start_time`` with gte/lt conditions): this hands the SDK a store
    that adds the window to every request the SDK builds.
    """

    def __init__(self, client: Any, conditions: list[str]) -> None:
        self._inner = client
        self._conditions = conditions

    @property
    def _project(self) -> Any:
        return self._inner._project

    def _client(self) -> Any:
        zenml_client = self._inner._client()

        class _Client:
            zen_store = _WindowedStore(zenml_client.zen_store, self._conditions)

        return _Client()


def _time_conditions(since: datetime | None, until: datetime | None) -> list[str]:
    conditions = []
    if since is not None:
        conditions.append(f"gte:{since.replace(microsecond=0):{_ZENML_TIME}}")
    if until is not None:  # whole seconds only: include the rest of the second asked for
        upper = until.replace(microsecond=0) + timedelta(seconds=1)
        conditions.append(f"lt:{upper:{_ZENML_TIME}}")
    return conditions


@cache
def _flow_name(flow_id: str) -> str:
    from zenml.client import Client

    try:
        return Client().get_pipeline(flow_id, hydrate=False).name
    except Exception:
        return flow_id


@cache
def _stack_name(stack_id: str) -> str:
    from zenml.client import Client

    try:
        return Client().get_stack(stack_id, hydrate=False).name
    except Exception:
        return stack_id


def _group(keys: dict[str, Any], count: int) -> dict[str, Any]:
    group: dict[str, Any] = {"count": count}
    for key, value in keys.items():
        text = None if value is None else str(value)
        if key == "flow_id":
            group["flow"] = _flow_name(text) if text else None
        elif key == "stack_id":
            group["stack"] = _stack_name(text) if text else None
        elif key in ("status", "day"):
            group[key] = text
    return group


def statistics(
    params: models.KitaruExecutionsStatisticsInput,
) -> models.KitaruExecutionsStatisticsOutput:
    """Execution counts grouped by status/flow/stack/day, within an optional time window."""
    from kitaru._client._statistics import get_execution_statistics

    since, until = window(params.since, params.until)
    group_by = list(params.group_by or [])
    sdk_group_by = ["time:day" if name == "day" else name for name in group_by]
    client = sdk.client()
    conditions = _time_conditions(since, until)
    source = _WindowedClient(client, conditions) if conditions else client
    if params.stack:
        _check_stack(params.stack)
    result = get_execution_statistics(
        client=source,
        group_by=sdk_group_by,
        flow=params.flow,
        status=params.status,
        stack=params.stack,
        max_groups=params.max_groups or 100,
    )
    groups = [_group(group.keys, group.execution_count) for group in result.groups]
    if not group_by:  # one group for the total, or none when nothing matched
        groups = [g for g in groups if g["count"]] or [{"count": 0}]
    return models.KitaruExecutionsStatisticsOutput.model_validate(
        {
            "groups": groups,
            "total": sum(g["count"] for g in groups),
            "group_by": group_by,
            "truncated": bool(result.truncated),
            "window": {
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
        }
    )


def _check_stack(stack: str) -> None:
    from zenml.client import Client

    try:
        Client().get_stack(stack, hydrate=False)
    except Exception as exc:
        if isinstance(to_failure(exc), NotFound):
            raise NotFound(
                f"No stack named {stack!r}.",
                field="stack",
                hint="List stacks with kitaru_stacks_list.",
            ) from None
        raise


# ------------------------------------------------------------------------ diff


def _input_differences(base: dict[str, Any], other: dict[str, Any]) -> list[dict[str, Any]]:
    differences = []
    for name in sorted(set(base) | set(other)):
        if name in base and name in other and _same_json(base[name], other[name]):
            continue
        entry: dict[str, Any] = {"name": name}
        if name in base:
            entry["base"] = bounded(base[name])
        if name in other:
            entry["other"] = bounded(other[name])
        differences.append(entry)
    return differences


def _preview(artifact_id: str | None) -> str | None:
    if artifact_id is None:
        return None
    try:
        value = sdk.client().artifacts.get(artifact_id).load()
        text = repr(value)
    except Exception:
        return None
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _artifact_ids(execution: Any) -> dict[tuple[str, str], str]:
    """(call_id, artifact name) -> artifact_id, for a checkpoint's outputs."""
    ids = {}
    for call in execution.checkpoints:
        for artifact in call.artifacts:
            ids[(call.call_id, artifact.name or artifact.kind or "artifact")] = artifact.artifact_id
    return ids


def diff(params: models.KitaruExecutionsDiffInput) -> models.KitaruExecutionsDiffOutput:
    """Inputs, checkpoint statuses and outputs of two executions, side by side."""
    from kitaru.diff import diff as kitaru_diff

    base = sdk.get_execution(params.exec_id)
    try:
        other = sdk.get_execution(params.other_exec_id)
    except NotFound as exc:
        exc.field = "other_exec_id"
        raise
    compared = kitaru_diff(base.exec_id, other.exec_id)
    checkpoint_diffs = compared.compared[0][1] if compared.compared else []

    base_calls = {call.call_id: call for call in base.checkpoints}
    other_calls = {call.call_id: call for call in other.checkpoints}
    base_ids, other_ids = _artifact_ids(base), _artifact_ids(other)
    checkpoints, outputs = [], []
    token_delta, cost_delta = {}, {}
    for item in checkpoint_diffs:
        base_call = base_calls.get(item.original_call_id or "")
        other_call = other_calls.get(item.replay_call_id or "")
        hashes = item.artifact_hashes
        comparable = bool(hashes) and all(
            left is not None and right is not None for left, right in hashes.values()
        )
        outputs_match = (
            all(left == right for left, right in hashes.values())
            if comparable and base_call and other_call
            else None
        )
        if base_call is None and other_call is None:
            continue
        if base_call is not None and other_call is not None and not hashes:
            outputs_match = True  # neither recorded an output
        checkpoints.append(
            {
                "name": item.name,
                "base_status": str(base_call.status.value) if base_call else None,
                "other_status": str(other_call.status.value) if other_call else None,
                "status_match": item.status_match,
                "outputs_match": outputs_match,
                "duration_delta_ms": (
                    round(item.duration_delta_ms, 3) if item.duration_delta_ms is not None else None
                ),
                "base_call_id": item.original_call_id,
                "other_call_id": item.replay_call_id,
            }
        )
        for artifact, (left, right) in sorted(hashes.items()):
            if left is not None and right is not None and left != right:
                outputs.append(
                    {
                        "checkpoint": item.name,
                        "artifact": artifact,
                        "base_preview": _preview(base_ids.get((item.original_call_id, artifact))),
                        "other_preview": _preview(other_ids.get((item.replay_call_id, artifact))),
                    }
                )
        if item.token_delta:
            token_delta[item.name] = item.token_delta
        if item.cost_delta_usd:
            cost_delta[item.name] = item.cost_delta_usd

    inputs = _input_differences(flow_inputs(base.exec_id), flow_inputs(other.exec_id))
    base_status, other_status = str(base.status.value), str(other.status.value)
    differences = {
        "inputs": [entry["name"] for entry in inputs],
        "checkpoint_statuses": [c["name"] for c in checkpoints if not c["status_match"]],
        "checkpoint_outputs": sorted(
            {c["name"] for c in checkpoints if c["outputs_match"] is False}
            | {o["checkpoint"] for o in outputs}
        ),
    }
    identical = base_status == other_status and not any(differences.values())
    identical = identical and all(c["outputs_match"] is not None for c in checkpoints)
    return models.KitaruExecutionsDiffOutput.model_validate(
        {
            "exec_id": base.exec_id,
            "other_exec_id": other.exec_id,
            "identical": identical,
            "flow": {
                "base": base.flow_name,
                "other": other.flow_name,
                "same": base.flow_name == other.flow_name,
            },
            "status": {
                "base": base_status,
                "other": other_status,
                "same": base_status == other_status,
            },
            "inputs": inputs,
            "checkpoints": checkpoints,
            "outputs": outputs[:50],
            "differences": differences,
            "details": {
                "urls": list(compared.urls)[:5],
                "warnings": [str(w)[:500] for w in compared.warnings][:10],
                "token_delta": token_delta,
                "cost_delta_usd": cost_delta,
            },
        }
    )


# ---------------------------------------------------------------------- cohort


def _scan(
    client: Any,
    *,
    flow: str,
    statuses: set[str],
    include_replays: bool,
    since: datetime | None,
    until: datetime | None,
    max_scan: int,
) -> tuple[list[Any], int, bool, Counter]:
    """The flow's newest executions passing the filters (no checkpoint filter)."""
    found: list[Any] = []
    filtered: Counter = Counter()
    scanned = listed = 0
    page, size, exhausted = 1, min(100, max_scan), False
    while scanned < max_scan and not exhausted:
        batch = client.executions.list(flow=flow, page=page, size=size)
        listed += len(batch)
        exhausted = len(batch) < size
        page += 1
        for execution in batch[: max_scan - scanned]:
            scanned += 1
            started = execution.started_at
            if started is not None and started.tzinfo is not None:
                started = started.astimezone(UTC).replace(tzinfo=None)
            if str(execution.status.value) not in statuses:
                filtered["status"] += 1
            elif execution.original_exec_id and not include_replays:
                filtered["replays"] += 1
            elif (since or until) and (
                started is None
                or (since is not None and started < since)
                or (until is not None and started > until)
            ):
                filtered["window"] += 1
            else:
                found.append(execution)
    partial = not (exhausted and scanned == listed)
    return found, scanned, partial, filtered


def _reached(client: Any, execution: Any, at: str) -> str:
    """Kitaru's own test of whether checkpoint ``at`` resolves in an execution."""
    from kitaru.cohort import execution_replay_at_status

    status = execution_replay_at_status(execution=execution, at=at)
    if status == "no_checkpoints":  # list summaries carry no checkpoints: load it in full
        status = execution_replay_at_status(
            execution=client.executions.get(execution.exec_id), at=at
        )
    return status


def cohort(params: models.KitaruExecutionsCohortInput) -> models.KitaruExecutionsCohortOutput:
    """Executions of one flow sharing the given inputs, newest first."""
    if params.inputs and params.same_inputs_as:
        raise InvalidArgument(
            "Pass either inputs or same_inputs_as, not both.", field="same_inputs_as"
        )
    flow = params.flow
    wanted = dict(params.inputs or {})
    if params.same_inputs_as:
        try:
            reference = sdk.get_execution(params.same_inputs_as)
        except NotFound as exc:
            exc.field = "same_inputs_as"
            raise
        flow = flow or reference.flow_name
        if reference.flow_name != flow:
            raise InvalidArgument(
                f"Execution {params.same_inputs_as} belongs to flow {reference.flow_name!r}, "
                f"not {flow!r}.",
                field="same_inputs_as",
            )
        wanted = flow_inputs(reference.exec_id)
    if not flow:
        raise InvalidArgument(
            "flow is required unless same_inputs_as names an execution.",
            field="flow",
            hint="Find flow names with kitaru_executions_list.",
        )
    since, until = window(params.since, params.until)
    client = sdk.client()
    candidates, scanned, partial, filtered = _scan(
        client,
        flow=flow,
        statuses=set(params.statuses or ["completed"]),
        include_replays=bool(params.include_replays),
        since=since,
        until=until,
        max_scan=params.max_scan or 500,
    )
    limit = params.limit or 20
    members = []
    for execution in candidates:
        if len(members) >= limit:
            break
        inputs = flow_inputs(execution.exec_id)
        if any(name not in inputs or not _same_json(inputs[name], v) for name, v in wanted.items()):
            filtered["inputs"] += 1
            continue
        if params.at and (reached := _reached(client, execution, params.at)) != "present":
            filtered["checkpoint_ambiguous" if reached == "ambiguous" else "checkpoint"] += 1
            continue
        members.append(
            {
                "exec_id": execution.exec_id,
                "status": str(execution.status.value),
                "started_at": timestamp(execution.started_at),
                "ended_at": timestamp(execution.ended_at),
                "original_exec_id": execution.original_exec_id,
                "inputs": {name: bounded(value) for name, value in inputs.items()},
            }
        )
    for key in ("status", "replays", "window", "inputs", *(("checkpoint",) if params.at else ())):
        filtered.setdefault(key, 0)
    return models.KitaruExecutionsCohortOutput.model_validate(
        {
            "flow": flow,
            "at": params.at,
            "inputs": {name: bounded(value) for name, value in wanted.items()},
            "executions": members,
            "count": len(members),
            "scanned": scanned,
            "partial": bool(partial and len(members) < limit),
            "filtered": dict(filtered),
        }
    )
