"""Execution lifecycle tools: run, input, abort_wait, resume, retry, replay, cancel.

Anything that executes flow code goes through the call's runs port (``context.runs()``: a runner
process); the checks that can be made without importing user code are made
here first, so a bad call fails fast and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from kitaru_mcp.generated import models
from kitaru_mcp.handlers.executions import fitted_execution

from kitaru_mcp.calls.context import runs
from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import Conflict, InvalidArgument, to_failure
from kitaru_mcp.core.statuses import FINISHED
from kitaru_mcp.gateway.ports import GatewayPort
from kitaru_mcp.runs.port import Launched

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import PendingWait


def _started(
    gw: GatewayPort, operation: str, launched: Launched, reused: bool = False
) -> models.StartedExecution:
    return models.StartedExecution.model_validate(
        {
            "available": True,
            "operation": operation,
            "execution": fitted_execution(gw, launched.exec_id, known=launched.execution),
            "log_file": launched.log_file,
            "reused": reused,
        }
    )


def _start_once(
    gw: GatewayPort, operation: str, params: Any, start: Any
) -> models.StartedExecution:
    """Start through ``start()`` unless the idempotency key already started one."""
    launched: list[Launched] = []

    def begin() -> str:
        launched.append(start())
        return launched[0].exec_id

    arguments = params.model_dump(mode="json")
    exec_id, reused = runs().start_once(operation, params.idempotency_key, arguments, begin)
    if reused:
        record = runs().record(exec_id) or {}
        logs = record.get("logs") or [None]
        return _started(gw, operation, Launched(exec_id, logs[-1]), reused=True)
    return _started(gw, operation, launched[0])


def _known_target(exec_id: str) -> str | None:
    """The target this server started the execution from, if it did."""
    record = runs().record(exec_id) or {}
    target, cwd = record.get("target"), record.get("cwd")
    module_ref = (target or "").split(":")[0]
    is_file = settings.is_file_target(module_ref)
    if target and cwd and is_file and not Path(module_ref).is_absolute():
        return str(Path(cwd) / target)
    return target


def run_flow(gw: GatewayPort, params: models.KitaruExecutionsRunInput) -> models.StartedExecution:
    """Start the target in a runner; return once the execution exists."""
    module_ref = params.target.split(":")[0]
    settings.check_target(params.target)  # a `.py` file must be under an allowed root
    if settings.is_file_target(module_ref):
        path = Path(module_ref).expanduser()
        if not path.resolve().is_file():
            raise InvalidArgument(
                f"target file {module_ref!r} does not exist (looked at {path.resolve()}).",
                field="target",
                hint="Relative paths resolve against the server's working directory.",
            )
    gw.prepare()  # the store exists before a runner starts; Kitaru imported meanwhile
    gw.check_reachable()  # a server that is down: say so now, not after the runner's retries
    return _start_once(
        gw,
        "run",
        params,
        lambda: runs().launch(
            "run", target=params.target, args=json.dumps(params.args or {}), stack=params.stack
        ),
    )


def pending_wait(gw: GatewayPort, exec_id: str, wait: str | None) -> PendingWait:
    """The execution's pending wait; Conflict if none, InvalidArgument if named otherwise."""
    execution = gw.get_execution(exec_id)
    pending = execution["pending_wait"]
    if pending is None:
        raise Conflict(
            f"Execution {exec_id} is {execution['status']} and has no pending wait.",
            field="exec_id",
            hint="Find executions that wait for input with kitaru_executions_list(status=waiting).",
        )
    if wait is not None and pending["name"] != wait:
        raise InvalidArgument(
            f"Execution {exec_id} waits on {pending['name']!r}, not {wait!r}.",
            field="wait",
            hint=f"Call again with wait={pending['name']!r}.",
        )
    return pending


def continue_after_wait(gw: GatewayPort, exec_id: str) -> models.WaitResolution:
    """After a wait was resolved: resume the execution if nobody polls it any more."""
    time.sleep(0.2)
    result: dict[str, Any] = {"continuation": "polling_process", "log_file": None}
    try:
        if gw.run_status(exec_id) == "paused":
            launched = runs().launch("resume", exec_id=exec_id, target=_known_target(exec_id))
            result.update(continuation="resumed", log_file=launched.log_file)
    except Exception as exc:  # the wait is resolved: say how to go on, never fail the call
        failure = to_failure(exc)
        result.update(
            continuation="resume_failed",
            note=f"The wait is resolved, but resuming the execution failed "
            f"({failure.code}: {failure.message}); call kitaru_executions_resume.",
        )
    result["execution"] = fitted_execution(gw, exec_id, beside=result)
    return models.WaitResolution.model_validate(result)


def provide_input(
    gw: GatewayPort, params: models.KitaruExecutionsInputInput
) -> models.WaitResolution:
    """Check the value against the wait's schema, send it, and make sure the flow goes on."""
    pending = pending_wait(gw, params.exec_id, params.wait)
    check_value(pending, params.value)
    gw.send_input(params.exec_id, params.wait, params.value)
    return continue_after_wait(gw, params.exec_id)


def check_value(pending: Mapping[str, Any], value: Any) -> None:
    """InvalidArgument quoting the wait's schema when ``value`` does not satisfy it."""
    schema = pending.get("schema")
    if not schema:
        return
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is not None:
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [k for k in error.validator_value if k not in error.instance]
            path += missing[:1]
        raise InvalidArgument(
            f"value {json.dumps(value)[:200]} does not satisfy wait {pending['name']!r}: "
            f"{error.message}. The wait expects {json.dumps(schema)}.",
            field=".".join(["value", *path]),
            hint=f"Question: {pending.get('question') or '(none)'}",
        )


def abort_wait(
    gw: GatewayPort, params: models.KitaruExecutionsAbortWaitInput
) -> models.WaitResolution:
    """Abort the pending wait, then let the flow go on to handle it."""
    pending_wait(gw, params.exec_id, params.wait)
    gw.abort_wait(params.exec_id, params.wait)
    return continue_after_wait(gw, params.exec_id)


def resume(gw: GatewayPort, params: models.KitaruExecutionsResumeInput) -> models.StartedExecution:
    """Resume a paused execution in a new runner."""
    execution = gw.get_execution(params.exec_id)
    if execution["pending_wait"] is not None:
        name = execution["pending_wait"]["name"]
        raise Conflict(
            f"Execution {params.exec_id} still waits on {name!r}.",
            field="exec_id",
            hint=f"Answer it with kitaru_executions_input(wait={name!r}); that resumes it too.",
        )
    if gw.run_status(params.exec_id) != "paused":
        raise Conflict(
            f"Only paused executions can be resumed; {params.exec_id} is {execution['status']}.",
            field="exec_id",
        )
    target = _known_target(params.exec_id)
    return _started(gw, "resume", runs().launch("resume", exec_id=params.exec_id, target=target))


def retry(gw: GatewayPort, params: models.KitaruExecutionsRetryInput) -> models.StartedExecution:
    """Retry a failed execution in place, in a new runner."""
    execution = gw.get_execution(params.exec_id)
    if execution["status"] != "failed":
        raise Conflict(
            f"Only failed executions can be retried; {params.exec_id} is {execution['status']}.",
            field="exec_id",
        )
    target = _known_target(params.exec_id)
    return _start_once(
        gw, "retry", params, lambda: runs().launch("retry", exec_id=params.exec_id, target=target)
    )


def _checkpoint_overrides(
    overrides: dict[str, Any], names: set[str]
) -> dict[str, dict[str, Any]] | None:
    """``{"checkpoint.<name>": v}`` -> Kitaru's ``{name: {"output": v}}`` (or v as given)."""
    translated: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        name = key.removeprefix("checkpoint.")
        if name not in names:
            raise InvalidArgument(
                f"overrides: no checkpoint named {name!r}; "
                f"checkpoints: {', '.join(sorted(names))}.",
                field=f"overrides.{key}",
            )
        explicit = isinstance(value, dict) and value and set(value) <= {"output", "input"}
        translated[name] = value if explicit else {"output": value}
    return translated or None


def replay(gw: GatewayPort, params: models.KitaruExecutionsReplayInput) -> models.StartedExecution:
    """Replay from checkpoint ``from_`` as a new execution, in a new runner."""
    execution = gw.get_execution(params.exec_id)
    names = {checkpoint["name"] for checkpoint in execution["checkpoints"]}
    if params.from_ not in names:
        raise InvalidArgument(
            f"Execution {params.exec_id} has no checkpoint {params.from_!r}; "
            f"its checkpoints are: {', '.join(sorted(names)) or '(none)'}.",
            field="from_",
        )
    if execution["status"] not in FINISHED | {"waiting"}:
        raise Conflict(
            f"Execution {params.exec_id} is still {execution['status']}; replay it once it ends.",
            field="exec_id",
        )
    checkpoint_overrides = _checkpoint_overrides(params.overrides or {}, names)
    return _start_once(
        gw,
        "replay",
        params,
        lambda: runs().launch(
            "replay",
            exec_id=params.exec_id,
            at=params.from_,
            flow_inputs=json.dumps(params.flow_inputs or None),
            overrides=json.dumps(checkpoint_overrides),
            target=_known_target(params.exec_id),
        ),
    )


def cancel(gw: GatewayPort, params: models.KitaruExecutionsCancelInput) -> models.Execution:
    """Ask Kitaru to stop the execution; stop our runner for real if it does not."""
    exec_id = params.exec_id
    execution = gw.get_execution(exec_id)
    if execution["status"] in FINISHED:
        raise Conflict(
            f"Execution {exec_id} already ended ({execution['status']}); nothing to cancel.",
            field="exec_id",
        )
    gw.request_cancel(exec_id)  # the stop request, in the store every replica shares
    # no record: another replica's runner carries it, and its reaper stops it on seeing the
    # request (kitaru_mcp.runs.reaper); the status written below is a request it honours too
    record = runs().record(exec_id) or {}
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and gw.get_execution(exec_id)["status"] not in FINISHED:
        time.sleep(0.2)
    if gw.get_execution(exec_id)["status"] not in FINISHED:
        runs().stop_runner(record.get("pid"))
        if gw.run_status(exec_id) not in {"stopped", "completed", "failed", "cancelled"}:
            gw.record_status(exec_id, "stopped")  # the runner was killed before it could
    return models.Execution.model_validate(fitted_execution(gw, exec_id))
