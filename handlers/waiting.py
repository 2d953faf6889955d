"""Tools that wait on an execution: follow it with progress, or ask the user for input."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import executions, lifecycle

from kitaru_mcp.calls.context import current
from kitaru_mcp.core.statuses import FINISHED
from kitaru_mcp.gateway.ports import GatewayPort

POLL_S = 1.0  # the longest pause between two looks
FIRST_POLL_S = 0.1  # short flows end within a second or two: look often at first


def poll_interval(looks: int) -> float:
    """The pause after ``looks`` looks: 0.1 s, growing by half each time, to ``POLL_S``."""
    return min(POLL_S, FIRST_POLL_S * 1.5**looks)


def _progress_message(execution: Mapping[str, Any]) -> tuple[int, str]:
    done = sum(1 for c in execution["checkpoints"] if c["status"] == "completed")
    count = len(execution["checkpoints"])
    text = f"{execution['status']}: {done} of {count} checkpoints done"
    if execution["pending_wait"]:
        text += f", waiting on {execution['pending_wait']['name']!r}"
    return done, text


def wait_for(
    gw: GatewayPort, params: models.KitaruExecutionsWaitInput
) -> models.KitaruExecutionsWaitOutput:
    """Poll until the execution finishes (or waits), time runs out, or the call is cancelled."""
    call = current()
    targets = FINISHED | ({"waiting"} if params.until == "finished_or_waiting" else set())
    started = time.monotonic()
    last = None
    looks = 0
    while True:
        execution = gw.get_execution(params.exec_id)
        done, message = _progress_message(execution)
        if message != last:
            call.progress(done, None, message)
            last = message
        reached = execution["status"] in targets
        waited = time.monotonic() - started
        pause = min(poll_interval(looks), max(0.0, params.timeout_s - waited))
        looks += 1
        if reached or waited >= params.timeout_s or call.sleep(pause):
            break
    fitted = executions.fit_execution(execution, call.max_result_chars - 200)
    return models.KitaruExecutionsWaitOutput.model_validate(
        {"execution": fitted, "timed_out": not reached, "waited_s": round(waited, 2)}
    )


_PRIMITIVES = {"boolean", "string", "number", "integer"}


def form_schema(schema: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """The elicitation form for a wait schema, and whether the answer is wrapped in `value`.

    Elicitation forms hold a flat object of primitive fields: a primitive schema
    becomes one field named `value`; a flat object of primitives is used as is.
    """
    if not schema:
        return None, False
    kind = schema.get("type")
    if kind in _PRIMITIVES:
        field = {k: v for k, v in schema.items() if k not in ("$schema", "title")}
        field["title"] = schema.get("title") or "Answer"
        return {"type": "object", "properties": {"value": field}, "required": ["value"]}, True
    properties = schema.get("properties")
    if (
        kind == "object"
        and properties
        and all(isinstance(p, dict) and p.get("type") in _PRIMITIVES for p in properties.values())
    ):
        return {
            "type": "object",
            "properties": properties,
            "required": list(schema.get("required", [])),
        }, False
    return None, False


def ask_user(
    gw: GatewayPort, params: models.KitaruExecutionsAskUserInput
) -> models.KitaruExecutionsAskUserOutput:
    """Elicit the wait's answer from the user and send it; send nothing otherwise.

    On a 2026-07-28 call the first round ends in ``call.ask`` (the server answers
    with the form); the client's retry runs this again from the top, so the wait
    is looked up afresh and the answer is checked against it exactly as a pushed
    answer is.
    """
    pending = lifecycle.pending_wait(gw, params.exec_id, params.wait)
    result: dict[str, Any] = {"question": pending.get("question"), "schema": pending.get("schema")}
    form, wrapped = form_schema(pending.get("schema"))
    call = current()
    if not call.can_ask:
        outcome = "not_supported"
    elif form is None:
        outcome = "unsupported_schema"
    else:
        message = pending.get("question") or f"Input for wait {pending['name']!r}"
        state = {"exec_id": params.exec_id, "wait": pending["name"]}
        answer = call.ask(f"{message} (execution {params.exec_id})", form, state)
        outcome = {"accept": "answered", "decline": "declined"}.get(answer.action, "cancelled")
        if outcome == "answered":
            content = answer.content or {}
            value = content.get("value") if wrapped else content
            lifecycle.check_value(pending, value)
            gw.send_input(params.exec_id, pending["name"], value)
            resolution = lifecycle.continue_after_wait(gw, params.exec_id)
            result["continuation"] = resolution.continuation
    result["outcome"] = outcome
    execution = executions.fitted_execution(gw, params.exec_id, beside=result)
    return models.KitaruExecutionsAskUserOutput.model_validate({**result, "execution": execution})
