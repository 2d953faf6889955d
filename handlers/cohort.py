"""The cohort tool: executions of one flow that ran with the same inputs, newest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.inspection import bounded, same_json, window

from kitaru_mcp.calls import budget
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import InvalidArgument, NotFound
from kitaru_mcp.gateway.ports import GatewayPort

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ExecutionSummary


@dataclass
class Scan:
    """The flow's newest executions that passed the cheap filters (no inputs or checkpoint)."""

    candidates: list[ExecutionSummary]
    scanned: int
    partial: bool  # older executions exist beyond max_scan
    filtered: Counter[str] = field(default_factory=Counter)


def _started(summary: Mapping[str, Any]) -> datetime | None:
    """The execution's start as a naive UTC datetime (how the window is expressed)."""
    text = summary.get("started_at")
    if not text:
        return None
    started = datetime.fromisoformat(text)
    if started.tzinfo is not None:
        started = started.astimezone(UTC).replace(tzinfo=None)
    return started


def _outside(started: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return False
    return (
        started is None
        or (since is not None and started < since)
        or (until is not None and started > until)
    )


def scan(
    gw: GatewayPort,
    *,
    flow: str,
    statuses: set[str],
    include_replays: bool,
    since: datetime | None,
    until: datetime | None,
    max_scan: int,
) -> Scan:
    """Look at the flow's ``max_scan`` newest executions, filtered by status, replay and window.

    One listing of ``max_scan + 1`` (the extra one only tells whether older
    executions exist): never a page past the end, whatever the flow's count.
    """
    listed = gw.list_executions(flow=flow, limit=max_scan + 1)
    looked_at = listed[:max_scan]
    result = Scan(candidates=[], scanned=len(looked_at), partial=len(listed) > max_scan)
    for summary in looked_at:
        if summary["status"] not in statuses:
            result.filtered["status"] += 1
        elif summary["original_exec_id"] and not include_replays:
            result.filtered["replays"] += 1
        elif _outside(_started(summary), since, until):
            result.filtered["window"] += 1
        else:
            result.candidates.append(summary)
    return result


def _reference(gw: GatewayPort, exec_id: str, flow: str | None) -> tuple[str, dict[str, Any]]:
    """(flow, inputs) of the execution named by same_inputs_as."""
    try:
        reference = gw.get_execution(exec_id)
    except NotFound as exc:
        exc.field = "same_inputs_as"
        raise
    if flow and reference["flow"] != flow:
        raise InvalidArgument(
            f"Execution {exec_id} belongs to flow {reference['flow']!r}, not {flow!r}.",
            field="same_inputs_as",
        )
    if not reference.get("flow"):
        raise InvalidArgument(
            f"Execution {exec_id} has no flow name to compare within.",
            field="same_inputs_as",
            hint="Pass flow as well.",
        )
    return str(reference.get("flow")), gw.flow_inputs(reference["exec_id"])


def target(
    gw: GatewayPort, params: models.KitaruExecutionsCohortInput
) -> tuple[str, dict[str, Any]]:
    """(flow, the inputs members must share), from the arguments."""
    if params.inputs and params.same_inputs_as:
        raise InvalidArgument(
            "Pass either inputs or same_inputs_as, not both.", field="same_inputs_as"
        )
    flow, wanted = params.flow, dict(params.inputs or {})
    if params.same_inputs_as:
        flow, wanted = _reference(gw, params.same_inputs_as, flow)
    if not flow:
        raise InvalidArgument(
            "flow is required unless same_inputs_as names an execution.",
            field="flow",
            hint="Find flow names with kitaru_executions_list.",
        )
    if not params.same_inputs_as and not gw.flow_exists(flow):
        raise NotFound(
            f"No flow named {flow!r}.",
            field="flow",
            hint="Find flow names with kitaru_executions_list.",
        )
    return flow, wanted


def _member(summary: Mapping[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "exec_id": summary["exec_id"],
        "status": summary["status"],
        "started_at": summary["started_at"],
        "ended_at": summary["ended_at"],
        "original_exec_id": summary["original_exec_id"],
        "inputs": {name: bounded(value) for name, value in inputs.items()},
    }


def match(
    gw: GatewayPort, found: Scan, wanted: dict[str, Any], at: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` candidates with the wanted inputs that reached ``at``; counts the rest."""
    members: list[dict[str, Any]] = []
    every = gw.flow_inputs_many([summary["exec_id"] for summary in found.candidates])
    for summary in found.candidates:
        if len(members) >= limit:
            break
        inputs = every.get(summary["exec_id"], {})
        if any(name not in inputs or not same_json(inputs[name], v) for name, v in wanted.items()):
            found.filtered["inputs"] += 1
            continue
        if at and (reached := gw.checkpoint_reached(summary["exec_id"], at)) != "present":
            found.filtered["checkpoint_ambiguous" if reached == "ambiguous" else "checkpoint"] += 1
            continue
        members.append(_member(summary, inputs))
    return members


def cohort(
    gw: GatewayPort, params: models.KitaruExecutionsCohortInput
) -> models.KitaruExecutionsCohortOutput:
    """Executions of one flow sharing the given inputs, newest first."""
    flow, wanted = target(gw, params)
    since, until = window(params.since, params.until)
    found = scan(
        gw,
        flow=flow,
        statuses=set(params.statuses or ["completed"]),
        include_replays=bool(params.include_replays),
        since=since,
        until=until,
        max_scan=params.max_scan or 500,
    )
    limit = params.limit or 20
    members = match(gw, found, wanted, params.at, limit)
    for key in ("status", "replays", "window", "inputs", *(("checkpoint",) if params.at else ())):
        found.filtered.setdefault(key, 0)
    result: dict[str, Any] = {
        "flow": flow,
        "at": params.at,
        "inputs": {name: bounded(value) for name, value in wanted.items()},
        "executions": [],
        "count": 0,
        "scanned": found.scanned,
        "partial": found.partial and len(members) < limit,
        "filtered": dict(found.filtered),
    }
    room = budget.room_for(result, "executions", current().max_result_chars)
    result["executions"], cut = budget.fit_items(members, room)  # newest first
    result["count"] = len(result["executions"])
    if cut:
        result["truncated"] = True
    return models.KitaruExecutionsCohortOutput.model_validate(result)
