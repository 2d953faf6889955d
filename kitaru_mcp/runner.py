"""``python -m kitaru_mcp.runner``: start, replay, retry or resume one execution.

Kitaru's local orchestrator runs a flow inside the process that starts it and
changes process-wide settings while it runs, so the server never does that
itself: it spawns this module in its own session. The runner loads the target,
reports the exec_id through a small JSON file as soon as the execution exists,
then keeps running the flow to its end (or to its wait), with its output in a
log file. The server returns as soon as the report arrives.

Report file: ``{"exec_id": ...}`` on success, or ``{"error": {code, message,
field, hint}}`` when nothing was started.

``python -m kitaru_mcp.runner --warm`` is the same runner started ahead of
time (see ``kitaru_mcp.launcher``): it imports Kitaru, connects to the store
and pre-computes what every run needs, logs that it is ready, then waits for
one job, a JSON line ``{"argv": [...], "log": ..., "cwd": ...}`` on stdin, and
runs it exactly as a cold runner would run that argv. While it waits it exits
(removing its log) as soon as stdin closes or its parent (the server) is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import os
import queue
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kitaru_mcp import state


class Reporter:
    """Writes the one report the server waits for, exactly once."""

    def __init__(self, path: Path, record: dict[str, Any]) -> None:
        self.path = path
        self.record = record
        self.sent = False

    def started(self, exec_id: str | None) -> None:
        if self.sent or not exec_id:
            return
        self.sent = True
        previous = state.read_record(exec_id) or {}
        logs = [*previous.get("logs", []), self.record.get("log")]
        record = {
            **previous,
            **{k: v for k, v in self.record.items() if v is not None},
            "exec_id": exec_id,
            "pid": os.getpid(),
            "reported_at": time.time(),
            "logs": [log for log in logs if log],
        }
        state.write_json(state.record_path(exec_id), record)
        state.write_json(self.path, {"exec_id": exec_id})

    def failed(self, code: str, message: str, field: str | None = None, hint: str | None = None):
        if self.sent:
            return
        self.sent = True
        error = {"code": code, "message": message, "field": field, "hint": hint}
        state.write_json(self.path, {"error": error})


class TargetError(Exception):
    def __init__(self, message: str, field: str = "target", hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.hint = hint


def load_target(target: str) -> Any:
    """``<module_or_file>:<flow>`` -> the flow object; files load under their stem."""
    module_ref, _, attribute = target.partition(":")
    if module_ref.endswith(".py") or "/" in module_ref:
        path = Path(module_ref).expanduser().resolve()
        if not path.is_file():
            raise TargetError(f"target file {module_ref!r} does not exist ({path}).")
        sys.path.insert(0, str(path.parent))
        module_name = path.stem
        existing = sys.modules.get(module_name)
        if existing is not None and Path(getattr(existing, "__file__", "") or "") != path:
            raise TargetError(f"module name {module_name!r} of {path} clashes with {existing}.")
    else:
        sys.path.insert(0, os.getcwd())
        module_name = module_ref
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise TargetError(f"module {module_ref!r} cannot be found: {exc}") from exc
        raise TargetError(f"importing {module_ref!r} failed: {exc!r}") from exc
    except BaseException as exc:
        raise TargetError(f"importing {module_ref!r} failed: {exc!r}") from exc
    if not hasattr(module, attribute):
        raise TargetError(f"{module_ref!r} has no attribute {attribute!r}.")
    flow = getattr(module, attribute)
    if type(flow).__name__ != "_FlowDefinition" or not callable(getattr(flow, "run", None)):
        raise TargetError(
            f"{target!r} is a {type(flow).__name__}, not a Kitaru flow.",
            hint="Point the target at a function decorated with @kitaru.flow.",
        )
    return flow


def check_args(flow: Any, args: dict[str, Any]) -> None:
    """Bind ``args`` to the flow's signature; name unknown or missing parameters."""
    signature = inspect.signature(flow)
    params = signature.parameters
    accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(args) - set(params)) if not accepts_kwargs else []
    if unknown:
        raise TargetError(
            f"unknown flow argument(s) {', '.join(unknown)}; the flow takes {signature}.",
            field=f"args.{unknown[0]}",
        )
    try:
        signature.bind(**args)
    except TypeError as exc:
        raise TargetError(f"{exc}; the flow takes {signature}.", field="args") from exc


def _install_exec_id_hook(reporter: Reporter) -> None:
    """Report the exec_id the moment the flow body starts, not when it ends."""
    from kitaru.runtime import current_execution_id

    flow_module = importlib.import_module("kitaru.flow")  # the package attribute is the decorator

    original = flow_module._flow_scope

    @contextlib.contextmanager
    def reporting_scope(*args: Any, **kwargs: Any):
        with original(*args, **kwargs):
            reporter.started(current_execution_id())
            yield

    flow_module._flow_scope = reporting_scope


def _classify(exc: BaseException) -> str:
    from kitaru_mcp.errors import to_failure

    return to_failure(exc).code


def run(ns: argparse.Namespace, reporter: Reporter) -> None:
    if ns.op == "run":
        flow = load_target(ns.target)
        args = json.loads(ns.args or "{}")
        check_args(flow, args)
        _install_exec_id_hook(reporter)
        options = {"stack": ns.stack} if ns.stack else {}
        handle = flow.run(**options, **args)
        reporter.started(handle.exec_id)
        return

    if ns.target:  # make the original flow's module importable under its stable name
        with contextlib.suppress(TargetError):
            load_target(ns.target)
    _install_exec_id_hook(reporter)
    from kitaru import KitaruClient

    executions = KitaruClient().executions
    if ns.op == "replay":
        submission = executions.replay(
            ns.exec_id,
            at=ns.at,
            flow_overrides=json.loads(ns.flow_inputs or "null"),
            checkpoint_overrides=json.loads(ns.overrides or "null"),
            wait=True,
        )
        exec_ids = [str(getattr(item, "replay_exec_id", "")) for item in _items(submission)]
        reporter.started(next((e for e in exec_ids if e), None))
    elif ns.op == "retry":
        executions.retry(ns.exec_id)
    elif ns.op == "resume":
        executions.resume(ns.exec_id)
    reporter.started(ns.exec_id)


def _items(submission: Any) -> list[Any]:
    for name in ("results", "items", "replays"):
        value = getattr(submission, name, None)
        if isinstance(value, list | tuple):
            return list(value)
    return [submission]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kitaru_mcp.runner")
    parser.add_argument("op", choices=["run", "replay", "retry", "resume"])
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--target")
    parser.add_argument("--args")
    parser.add_argument("--stack")
    parser.add_argument("--exec-id")
    parser.add_argument("--at")
    parser.add_argument("--flow-inputs")
    parser.add_argument("--overrides")
    ns = parser.parse_args(argv)
    reporter = Reporter(
        ns.report,
        {
            "operation": ns.op,
            "target": ns.target,
            "cwd": os.getcwd(),
            "log": os.environ.get("KITARU_MCP_RUNNER_LOG"),
        },
    )
    try:
        from kitaru_mcp.gateway import session

        session.ensure_store()  # under the store lock: never two processes creating it
        run(ns, reporter)
    except TargetError as exc:
        reporter.failed("invalid_argument", str(exc), field=exc.field, hint=exc.hint)
        return 2
    except BaseException as exc:
        reporter.failed(_classify(exc), f"{type(exc).__name__}: {exc}")
        print(f"runner: {ns.op} failed: {exc!r}", file=sys.stderr)
        raise
    return 0


# Modules every flow run imports on its way to the first checkpoint (ZenML loads them lazily).
_RUN_MODULES = ("kitaru.flow", "zenml.log_stores", "zenml.execution.pipeline.dynamic.runner")


def _warm_up() -> None:
    """Everything a run needs before it can start that does not depend on the job."""
    from kitaru_mcp.gateway import session as sdk

    for name in _RUN_MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        sdk.sync_connection()  # remember the configuration this connection comes from
        if not state.local_store_missing():  # never be the process that creates the store
            sdk.client().executions.list(limit=1)
    with contextlib.suppress(Exception):
        # ZenML records `pip freeze` with every run (a subprocess, ~0.7 s); the
        # installed packages do not change while this runner waits.
        from zenml.environment import Environment

        packages = Environment.get_python_packages()
        Environment.get_python_packages = staticmethod(lambda: list(packages))


def _watch_server(jobs: queue.Queue) -> None:
    """Hand over the one job from stdin; exit the process if the server goes away first."""
    parent = os.getppid()
    buffer = b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.5)
        if readable:
            chunk = os.read(0, 65536)
            if not chunk:
                break  # stdin closed before a job came: the server is done with us
            buffer += chunk
            if b"\n" in buffer:
                with contextlib.suppress(ValueError):
                    jobs.put(json.loads(buffer.split(b"\n", 1)[0]))
                    return
                break
        elif os.getppid() != parent:
            break  # the server died (its pipe may live on in a process it forked)
    with contextlib.suppress(OSError):
        os.unlink(os.environ.get("KITARU_MCP_RUNNER_LOG", ""))
    os._exit(0)


def warm() -> int:
    """Warm up, wait for one job from the server, then run it as ``main`` would."""
    began = time.monotonic()
    jobs: queue.Queue = queue.Queue()
    threading.Thread(target=_watch_server, args=(jobs,), name="job", daemon=True).start()
    _warm_up()
    print(
        f"kitaru-mcp warm runner ready in {time.monotonic() - began:.1f} s (pid {os.getpid()})",
        flush=True,
    )
    job = jobs.get()
    with contextlib.suppress(OSError):
        os.chdir(job["cwd"])
    os.environ["KITARU_MCP_RUNNER_LOG"] = job["log"]
    null = os.open(os.devnull, os.O_RDONLY)  # as a cold runner: nothing to read on stdin
    os.dup2(null, 0)
    os.close(null)
    with contextlib.suppress(Exception):
        from kitaru_mcp.gateway import session as sdk

        sdk.sync_connection()  # `kitaru login` or `stack use` since the warm-up: reload
    return main(job["argv"])


if __name__ == "__main__":
    sys.exit(warm() if sys.argv[1:] == ["--warm"] else main())
