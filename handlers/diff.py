"""The diff tool: inputs, checkpoint statuses and outputs of two executions, side by side."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.inspection import PREVIEW_CHARS, bounded, same_json

from kitaru_mcp.calls import budget
from kitaru_mcp.calls.context import current
from kitaru_mcp.gateway.ports import GatewayPort

MAX_OUTPUTS = 50
MAX_URLS = 5
MAX_WARNINGS = 10


def input_differences(base: dict[str, Any], other: dict[str, Any]) -> list[dict[str, Any]]:
    """Parameters that differ or are passed on one side only, by name, values bounded."""
    differences = []
    for name in sorted(set(base) | set(other)):
        if name in base and name in other and same_json(base[name], other[name]):
            continue
        entry: dict[str, Any] = {"name": name}
        if name in base:
            entry["base"] = bounded(base[name])
        if name in other:
            entry["other"] = bounded(other[name])
        differences.append(entry)
    return differences


def outputs_match(item: dict[str, Any], on_both_sides: bool) -> bool | None:
    """Whether every output hash matches; None when not comparable."""
    hashes = item["artifact_hashes"]
    if not on_both_sides:
        return None
    if not hashes:
        return True  # neither recorded an output
    if any(left is None or right is None for left, right in hashes.values()):
        return None  # an output could not be hashed (not loadable)
    return all(left == right for left, right in hashes.values())


def _checkpoint_row(
    item: dict[str, Any], base_call: dict[str, Any] | None, other_call: dict[str, Any] | None
) -> dict[str, Any]:
    delta = item["duration_delta_ms"]
    return {
        "name": item["name"],
        "base_status": base_call["status"] if base_call else None,
        "other_status": other_call["status"] if other_call else None,
        "status_match": item["status_match"],
        "outputs_match": outputs_match(item, base_call is not None and other_call is not None),
        "duration_delta_ms": round(delta, 3) if delta is not None else None,
        "base_call_id": item["base_call_id"],
        "other_call_id": item["other_call_id"],
    }


def _differing_outputs(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The outputs of one checkpoint hashed on both sides, with different hashes."""
    return [
        {
            "checkpoint": item["name"],
            "artifact": artifact,
            "base_call_id": item["base_call_id"],
            "other_call_id": item["other_call_id"],
        }
        for artifact, (left, right) in sorted(item["artifact_hashes"].items())
        if left is not None and right is not None and left != right
    ]


def preview(values: dict[str, Any], artifact_id: str | None) -> str | None:
    """repr of an artifact's value (loaded by the comparison), cut to PREVIEW_CHARS;
    None when absent or unreadable."""
    if artifact_id is None or artifact_id not in values:
        return None
    try:
        text = repr(values[artifact_id])
    except Exception:  # a preview is best effort: the hashes already say they differ
        return None
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _with_previews(outputs: list[dict[str, Any]], compared: dict[str, Any]) -> list[dict[str, Any]]:
    """The outputs in the result's shape, each with previews of both values."""
    ids, values = compared["artifact_ids"], compared["values"]
    return [
        {
            "checkpoint": o["checkpoint"],
            "artifact": o["artifact"],
            "base_preview": preview(values, ids.get(o["base_call_id"], {}).get(o["artifact"])),
            "other_preview": preview(values, ids.get(o["other_call_id"], {}).get(o["artifact"])),
        }
        for o in outputs
    ]


def _compare_checkpoints(
    items: list[dict[str, Any]], base: dict[str, Any], other: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(checkpoint rows, differing outputs, token deltas, cost deltas) from Kitaru's pairs."""
    base_calls = {call["call_id"]: call for call in base["checkpoints"]}
    other_calls = {call["call_id"]: call for call in other["checkpoints"]}
    rows, outputs, tokens, costs = [], [], {}, {}
    for item in items:
        base_call = base_calls.get(item["base_call_id"] or "")
        other_call = other_calls.get(item["other_call_id"] or "")
        if base_call is None and other_call is None:
            continue
        rows.append(_checkpoint_row(item, base_call, other_call))
        outputs += _differing_outputs(item)
        if item["token_delta"]:
            tokens[item["name"]] = item["token_delta"]
        if item["cost_delta_usd"]:
            costs[item["name"]] = item["cost_delta_usd"]
    return rows, outputs, tokens, costs


def differences(
    inputs: list[dict[str, Any]], rows: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """The names of what differs, by kind."""
    return {
        "inputs": [entry["name"] for entry in inputs],
        "checkpoint_statuses": [r["name"] for r in rows if not r["status_match"]],
        "checkpoint_outputs": sorted(
            {r["name"] for r in rows if r["outputs_match"] is False}
            | {o["checkpoint"] for o in outputs}
        ),
    }


def _flow_inputs(gw: GatewayPort, *exec_ids: str) -> list[dict[str, Any]]:
    """Each execution's flow inputs, read together (one query, or one request on a server);
    one deleted since it was compared is looked up alone, which names it as not found."""
    found = gw.flow_inputs_many(list(exec_ids))
    return [found[i] if i in found else gw.flow_inputs(i) for i in exec_ids]


def _side_by_side(base: Any, other: Any) -> dict[str, Any]:
    return {"base": base, "other": other, "same": base == other}


def diff(
    gw: GatewayPort, params: models.KitaruExecutionsDiffInput
) -> models.KitaruExecutionsDiffOutput:
    """Inputs, checkpoint statuses and outputs of two executions, side by side."""
    compared = gw.compare_executions(params.exec_id, params.other_exec_id)
    base, other = compared["base"], compared["other"]
    rows, outputs, tokens, costs = _compare_checkpoints(compared["checkpoints"], base, other)
    inputs = input_differences(*_flow_inputs(gw, base["exec_id"], other["exec_id"]))
    different = differences(inputs, rows, outputs)
    identical = (
        base["status"] == other["status"]
        and not any(different.values())
        and all(r["outputs_match"] is not None for r in rows)
    )
    result = fit_diff(
        {
            "exec_id": base["exec_id"],
            "other_exec_id": other["exec_id"],
            "identical": identical,
            "flow": _side_by_side(base["flow"], other["flow"]),
            "status": _side_by_side(base["status"], other["status"]),
            "inputs": inputs,
            "checkpoints": rows,
            "outputs": _with_previews(outputs[:MAX_OUTPUTS], compared),
            "differences": different,
            "details": {
                "urls": compared["urls"][:MAX_URLS],
                "warnings": [w[:500] for w in compared["warnings"]][:MAX_WARNINGS],
                "token_delta": tokens,
                "cost_delta_usd": costs,
            },
        },
        current().max_result_chars,
    )
    return models.KitaruExecutionsDiffOutput.model_validate(result)


def _differs(row: dict[str, Any]) -> bool:
    return not row["status_match"] or row.get("outputs_match") is False


def fit_diff(result: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """The comparison within ``max_chars`` of JSON: outputs, then equal checkpoint rows,
    then the rest of the rows and inputs are left out (``truncated``, with a note)."""
    if budget.size(result) <= max_chars:
        return result
    result = {**result, "truncated": True, "note": "x" * 300}
    counts = {key: len(result[key]) for key in ("outputs", "checkpoints", "inputs")}
    limit = max_chars - budget.SLACK
    if budget.size(result) > limit:
        room = budget.room_for(result, "outputs", max_chars)
        result["outputs"], _ = budget.fit_items(result["outputs"], room)
    if budget.size(result) > limit:
        result["checkpoints"] = [row for row in result["checkpoints"] if _differs(row)]
    for key in ("checkpoints", "inputs"):
        if budget.size(result) > limit:
            room = budget.room_for(result, key, max_chars)
            result[key], _ = budget.fit_items(result[key], room)
    kept = ", ".join(f"{len(result[k])} of {n} {k}" for k, n in counts.items())
    result["note"] = (
        f"Cut at the result budget ({max_chars} characters): {kept} are here; "
        "`differences` names every difference. Compare fewer things with "
        "kitaru_executions_get or kitaru_artifacts_get."
    )
    return result
