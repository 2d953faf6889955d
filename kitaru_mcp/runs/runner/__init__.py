"""``python -m kitaru_mcp.runs.runner``: start, replay, retry or resume one execution.

Kitaru's local orchestrator runs a flow inside the process that starts it and
changes process-wide settings while it runs, so the server never does that
itself: a runner process does, in its own session. The runner loads the
target, reports the exec_id through a small JSON file as soon as the execution
exists, then keeps running the flow to its end (or to its wait), with its
output in a log file. The server returns as soon as the report arrives.

The job reaches the runner as data, never as command-line options: a JSON job
file written by ``kitaru_mcp.runs.launcher`` (``{"token", "operation", "options",
"report", "log", "cwd"}``; ``options`` holds the tool's arguments, e.g. a 5 MB
``args`` string). The runner reads it, deletes it and runs it.

- ``python -m kitaru_mcp.runs.runner --job <file>``: a cold runner.
- ``python -m kitaru_mcp.runs.runner --template``: the runner template
  (``kitaru_mcp.runs.template``), which forks one runner per job; a forked runner
  runs ``run_job`` exactly as a cold one does.

Report file: ``{"exec_id": ...}`` on success, or ``{"error": {code, message,
field, hint}}`` when nothing was started.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from kitaru_mcp.core import state
from kitaru_mcp.core.targets import TargetError, check_args, load_target


class Reporter:
    """Writes the one report the server waits for, exactly once."""

    def __init__(self, path: Path, record: dict[str, Any], tag: str | None = None) -> None:
        self.path = path
        self.record = record
        self.tag = tag  # an idempotency claim the execution must carry (shared_keys)
        self.beats = False  # connected to a Kitaru server: keep a heartbeat (heartbeats)
        self.beating: str | None = None
        self.sent = False

    def started(self, exec_id: str | None) -> None:
        if self.sent or not exec_id:
            return
        self.sent = True
        from kitaru_mcp.core import processes

        previous = state.read_record(exec_id) or {}
        previous.pop("settled", None)  # a new runner carries it now
        logs = [*previous.get("logs", []), self.record.get("log")]
        record = {
            **previous,
            **{k: v for k, v in self.record.items() if v is not None},
            "exec_id": exec_id,
            "pid": os.getpid(),
            "create_time": processes.create_time(),
            "reported_at": time.time(),
            "logs": [log for log in logs if log],
        }
        state.write_json(state.record_path(exec_id), record)
        from kitaru_mcp.gateway import runtime

        report: dict[str, Any] = {"exec_id": exec_id}
        execution = runtime.describe(exec_id)  # the server answers with it (``Launched``)
        if execution is not None:
            report["execution"] = execution
        state.write_json(self.path, report)
        if self.tag:
            self._tag(exec_id, self.tag)
        if self.beats and not self.record.get("elsewhere"):
            from kitaru_mcp.runs import heartbeats

            heartbeats.start_beating(exec_id)  # other replicas see this runner live
            self.beating = exec_id
        from kitaru_mcp.observe import tracing

        tracing.event("exec_id reported", exec_id=exec_id)

    @staticmethod
    def _tag(exec_id: str, tag: str) -> None:
        """Put the claim on the execution (its launcher does too: a failure is only logged)."""
        from kitaru_mcp.gateway import claims

        try:
            claims.ServerClaims().tag_execution(exec_id, tag)
        except Exception as exc:
            print(
                f"runner: cannot tag {exec_id} with its idempotency claim: {exc}", file=sys.stderr
            )

    def failed(self, code: str, message: str, field: str | None = None, hint: str | None = None):
        if self.sent:
            return
        self.sent = True
        error = {"code": code, "message": message, "field": field, "hint": hint}
        state.write_json(self.path, {"error": error})


def _install_exec_id_hook(reporter: Reporter, stack: str | None = None) -> bool:
    """Report the exec_id the moment the flow body starts here, not when it ends; or, when
    ``stack``'s orchestrator runs flows elsewhere, the moment it accepted the run (and
    never wait on it here). Whether the flow runs in this process."""
    from kitaru_mcp.gateway import runtime

    runtime.on_flow_start(reporter.started)
    try:
        here = runtime.runs_here(stack)
    except Exception as exc:  # an unknown stack: Kitaru's own run says so, in its words
        print(f"runner: cannot tell where stack {stack!r} runs flows: {exc}", file=sys.stderr)
        return True
    if not here:
        reporter.record["elsewhere"] = True  # the reaper never fails it for our exit
        runtime.on_submission(reporter.started)
    return here


def _classify(exc: BaseException) -> str:
    from kitaru_mcp.core.errors import to_failure

    return to_failure(exc).code


def run(operation: str, options: dict[str, Any], reporter: Reporter) -> None:
    """Start the execution ``operation`` describes and carry it on in this process."""
    target = options.get("target")
    if operation == "run":
        flow = load_target(target or "")
        args = json.loads(options.get("args") or "{}")
        check_args(flow, args)
        _connect(reporter)
        stack = options.get("stack")
        _install_exec_id_hook(reporter, stack)
        handle = flow.run(**({"stack": stack} if stack else {}), **args)
        reporter.started(handle.exec_id)
        return

    exec_id = options.get("exec_id")
    if target:  # make the original flow's module importable under its stable name
        with contextlib.suppress(TargetError):
            load_target(target)
    _connect(reporter)
    here = _install_exec_id_hook(reporter, _stack_to_rerun_on(operation, exec_id))
    from kitaru import KitaruClient

    executions = KitaruClient().executions
    if operation == "replay":
        submission: Any = executions.replay(
            exec_id,
            at=options.get("at"),
            flow_overrides=json.loads(options.get("flow_inputs") or "null"),
            checkpoint_overrides=json.loads(options.get("overrides") or "null"),
            wait=here,  # a replay that runs elsewhere is the orchestrator's once submitted
        )
        exec_ids = [str(getattr(item, "replay_exec_id", "")) for item in _items(submission)]
        reporter.started(next((e for e in exec_ids if e), None))
    elif operation == "retry":
        executions.retry(exec_id)
    elif operation == "resume":
        executions.resume(exec_id)
    reporter.started(exec_id)


def _stack_to_rerun_on(operation: str, exec_id: str | None) -> str | None:
    """Retry and resume run an execution again on its own stack (Kitaru activates it);
    a replay runs on the active one (None)."""
    if operation not in ("retry", "resume") or not exec_id:
        return None
    from kitaru_mcp.gateway import runtime

    try:
        return runtime.stack_of(exec_id)
    except Exception:  # an unknown execution: Kitaru's own retry or resume says so
        return None


def _connect(reporter: Reporter) -> None:
    """The first store use of this process, under the store lock (see ``gateway.store_lock``);
    on a Kitaru server the runner will keep a heartbeat (decided now: a flow run changes
    the process's connection variables while it runs)."""
    from kitaru_mcp.gateway import backend
    from kitaru_mcp.gateway.store_lock import ensure_store

    ensure_store()
    reporter.beats = backend.server_url() is not None


def _items(submission: Any) -> list[Any]:
    for name in ("results", "items", "replays"):
        value = getattr(submission, name, None)
        if isinstance(value, list | tuple):
            return list(value)
    return [submission]


OPERATIONS = ("run", "replay", "retry", "resume")


def read_job(path: Path) -> dict[str, Any]:
    """Load a job file and delete it (it may hold large or private arguments)."""
    job = json.loads(path.read_text(encoding="utf-8"))
    with contextlib.suppress(OSError):
        path.unlink()
    if job.get("operation") not in OPERATIONS:
        raise ValueError(f"not a runner job: operation {job.get('operation')!r}")
    return job


def run_job(job: dict[str, Any]) -> int:
    """Run one job (cold or forked runner); the exit code of the runner."""
    with contextlib.suppress(OSError):
        os.chdir(job.get("cwd") or os.getcwd())
    os.environ["KITARU_MCP_RUNNER_LOG"] = job.get("log") or ""
    operation, options = job["operation"], job.get("options") or {}
    reporter = Reporter(
        Path(job["report"]),
        {
            "operation": operation,
            "target": options.get("target"),
            "cwd": os.getcwd(),
            "log": job.get("log"),
            "token": job.get("token"),
        },
        tag=job.get("tag"),
    )
    from kitaru_mcp.observe import tracing

    with tracing.runner_span(job.get("trace"), operation) as span:
        code = _run_reported(operation, options, reporter, job)
        tracing.annotate(span, **{tracing.OUTCOME: "ok" if code == 0 else f"exit_{code}"})
    return code


def _run_reported(
    operation: str, options: dict[str, Any], reporter: Reporter, job: dict[str, Any]
) -> int:
    code = 1
    try:
        run(operation, options, reporter)
        code = 0
    except TargetError as exc:
        reporter.failed("invalid_argument", str(exc), field=exc.field, hint=exc.hint)
        code = 2
    except BaseException as exc:
        reporter.failed(_classify(exc), f"{type(exc).__name__}: {exc}")
        print(f"runner: {operation} failed: {exc!r}", file=sys.stderr)
        import traceback

        traceback.print_exc()
        code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        state.record_exit(job.get("token"), os.getpid(), code, "runner")
        if reporter.beating:
            from kitaru_mcp.runs import heartbeats

            heartbeats.stop_beating(reporter.beating)
    return code
