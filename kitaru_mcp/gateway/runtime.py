"""Kitaru/ZenML calls the runner machinery needs (reaper, runners, template).

One function per call; each says which private or ZenML-level API it relies on.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

from kitaru_mcp.core.statuses import LIVE_RUN_STATUSES
from kitaru_mcp.gateway import sdk
from kitaru_mcp.gateway.sdk import import_sdk
from kitaru_mcp.gateway.store_lock import ensure_store

# ZenML statuses of a run whose process is still carrying it (a dead runner cannot).

# Modules every flow run imports on its way to the first checkpoint (ZenML loads them lazily).
RUN_MODULES = (
    "kitaru",
    "kitaru.flow",
    "kitaru.client",
    "kitaru.runtime",
    "zenml.client",
    "zenml.models",
    "zenml.log_stores",
    "zenml.zen_stores.sql_zen_store",
    "zenml.execution.pipeline.dynamic.runner",
    "zenml.orchestrators.local.local_orchestrator",
)


def run_status(exec_id: str) -> str:
    """ZenML's own status of the run (``paused`` and ``running`` apart, unlike Kitaru's).

    Uses ZenML's public ``Client().get_pipeline_run`` (Kitaru's exec_id is the run id).
    """
    import_sdk()
    from zenml.client import Client

    ensure_store()
    return str(Client().get_pipeline_run(exec_id, hydrate=False).status.value)


def mark_failed(exec_id: str, reason: str) -> None:
    """Record the run as failed with ``reason`` (its process died before it could).

    Private API: ``Client().zen_store.update_run`` with ``PipelineRunUpdate(status,
    status_reason, exception_info)``, the call ZenML's own orchestrators make; Kitaru has no public
    way to fail a run from outside its process. A checkpoint that was running
    is marked failed too (``update_run_step``), so ``get`` shows where it died.
    Retry then goes on only if the runner died outside a checkpoint: ZenML's
    resume never creates a second run of a step (no retries configured), so a
    checkpoint killed mid-way fails the retry again; replay from it instead.
    """
    import_sdk()
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import ExceptionInfo, PipelineRunUpdate, StepRunUpdate

    ensure_store()
    client = Client()
    store = client.zen_store
    run = client.get_pipeline_run(exec_id)
    for step in (run.steps or {}).values():
        if str(step.status.value) in LIVE_RUN_STATUSES:
            store.update_run_step(step.id, StepRunUpdate(status=ExecutionStatus.FAILED))
    # Kitaru 0.21 reads a run's failure message from ``exception_info`` (its
    # ``status_reason`` mapping looks for an attribute ZenML's response lacks).
    failure = ExceptionInfo(traceback=reason, message=reason)
    store.update_run(
        run.id,
        PipelineRunUpdate(
            status=ExecutionStatus.FAILED, status_reason=reason[:250], exception_info=failure
        ),
    )


def mark_stopped(exec_id: str) -> None:
    """Record the run as stopped (cancel killed its runner). Private API as ``mark_failed``."""
    import_sdk()
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate

    ensure_store()
    client = Client()
    run = client.get_pipeline_run(exec_id)
    client.zen_store.update_run(run.id, PipelineRunUpdate(status=ExecutionStatus.STOPPED))


def preload() -> None:
    """Import what every run needs, without connecting to anything (the runner template),
    and configure SQLAlchemy's mappers of ZenML's tables: done once here, a forked runner
    opens the store in a fifth of the time (configuring them is most of that work).

    Then one ``inspect.stack()``: ZenML's warnings call it on every run (its check of
    Docker settings logs one), and a process's first call maps every loaded module to
    its file, about 0.1 s; done here, each forked runner inherits the map.
    """
    for name in RUN_MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
    inspect.stack()


def describe(exec_id: str) -> dict[str, Any] | None:
    """The execution as the server's ``get_execution`` reads it from the embedded store
    (``detail.execution``), for a runner's report: the server then answers the start with
    it, without waiting for its own Kitaru. None on a server connection or anything odd."""
    from zenml.client import Client

    from kitaru_mcp.gateway.store import detail, tables

    try:
        engine = tables.engine(Client())
        found = detail.execution(engine, exec_id) if engine is not None else None
    except Exception:  # the server reads it itself
        return None
    return dict(found) if found is not None else None


def freeze_python_packages() -> None:
    """ZenML records ``pip freeze`` with every run (~0.7 s); compute it once per template.

    Private API: replaces ``zenml.environment.Environment.get_python_packages``.
    """
    with contextlib.suppress(Exception):
        from zenml.environment import Environment

        packages: list[Any] = list(Environment.get_python_packages())
        Environment.get_python_packages = staticmethod(lambda: list(packages))  # type: ignore[method-assign]


_config_stamp: str | None = None


def _stamp() -> str | None:
    return sdk.digest(sdk.read(sdk.config_path()))


def warm_store() -> None:
    """Fill SQLAlchemy's statement cache with one read (and the newest execution read as
    a runner's report reads it, ``describe``), then close every connection.

    The template calls this under the store lock when the embedded store exists:
    a forked runner then skips ~1 s of query compilation. Afterwards no
    connection (nor the database file) stays open: ``engine.dispose()`` empties
    the pool, and the runner starts its own pool (``after_fork``). A REST store
    (a deployed server) is dropped entirely: its HTTP session must not be shared.

    Private API: ``SqlZenStore.engine`` (a SQLAlchemy Engine).
    """
    global _config_stamp
    from kitaru import KitaruClient
    from zenml.client import Client

    _config_stamp = _stamp()
    newest: list[Any] = KitaruClient().executions.list(limit=1)
    if newest:
        describe(str(newest[0].exec_id))
    store = Client().zen_store
    engine = getattr(store, "engine", None)
    if engine is not None and type(store).__name__ == "SqlZenStore":
        engine.dispose()
    else:
        reset_connection()


def after_fork() -> None:
    """In a forked runner: a fresh connection pool, or a fresh connection when the
    configuration changed since the template warmed up (``kitaru login``, ``stack use``).

    Private API: SQLAlchemy's documented fork recipe ``engine.dispose(close=False)``
    on ZenML's ``SqlZenStore.engine``; ZenML's singletons as ``reset_connection``.
    """
    from zenml.config.global_config import GlobalConfiguration

    if _config_stamp is None or _stamp() != _config_stamp:
        reset_connection()
        return
    store = getattr(GlobalConfiguration(), "_zen_store", None)
    engine = getattr(store, "_engine", None)
    if engine is not None:
        engine.dispose(close=False)


def reset_connection() -> None:
    """Forget the configuration a forked process inherited; the next use reloads it
    (once the file is whole: another process may be rewriting it right now)."""
    sdk.wait_until_whole(sdk.config_path())
    sdk.reset_singletons()


def on_flow_start(report: Any) -> None:
    """Call ``report(exec_id)`` the moment a flow body starts in this process.

    Private Kitaru API: wraps ``kitaru.flow._flow_scope``, the context manager
    every flow run enters once its execution exists (Kitaru 0.21 offers no hook).
    """
    from kitaru.runtime import current_execution_id

    flow_module: Any = importlib.import_module("kitaru.flow")  # the attribute is the decorator
    original = flow_module._flow_scope

    @contextlib.contextmanager
    def reporting_scope(*args: Any, **kwargs: Any) -> Any:
        with original(*args, **kwargs):
            report(current_execution_id())
            yield

    flow_module._flow_scope = reporting_scope


def runs_here(stack: str | None = None) -> bool:
    """Whether ``stack``'s orchestrator (default: the active stack's) runs a flow inside
    the calling process: ZenML's local orchestrator (flavor ``local``) does; every other
    one (Kubernetes, SageMaker, Vertex, local Docker...) runs it elsewhere.

    Public ZenML API: ``Client().active_stack_model`` / ``get_stack`` and the stack's
    orchestrator component's ``flavor_name`` (no component is instantiated).
    """
    import_sdk()
    from zenml.client import Client
    from zenml.enums import StackComponentType

    ensure_store()
    client = Client()
    model = client.get_stack(stack) if stack else client.active_stack_model
    orchestrators = model.components.get(StackComponentType.ORCHESTRATOR) or []
    return not orchestrators or orchestrators[0].flavor_name == LOCAL_FLAVOR


LOCAL_FLAVOR = "local"  # zenml.orchestrators.local.LocalOrchestratorFlavor().name


def on_submission(report: Any) -> None:
    """Call ``report(exec_id)`` once an orchestrator has accepted a run, and never wait
    on the run here (a synchronous orchestrator's ``wait_for_completion`` is dropped):
    for orchestrators that run flows elsewhere, the run is theirs once submitted. A new
    run and a retried or resumed one alike.

    Private ZenML API: wraps ``BaseOrchestrator.run`` (what ``Stack.deploy_pipeline``
    calls) and ``BaseOrchestrator.resume_run`` (what Kitaru's retry and resume call)
    and, for those calls, the orchestrator's ``submit_dynamic_pipeline`` /
    ``submit_pipeline``, whose ``SubmissionResult`` carries the wait.
    """
    from zenml.orchestrators.base_orchestrator import BaseOrchestrator

    original_run, original_resume = BaseOrchestrator.run, BaseOrchestrator.resume_run

    def submitting(self: Any, snapshot: Any, stack: Any, placeholder_run: Any = None) -> None:
        with _submissions_reported(self, placeholder_run, report):
            return original_run(self, snapshot, stack, placeholder_run)

    def resuming(self: Any, snapshot: Any, run: Any, stack: Any, force_async: bool = False) -> None:
        with _submissions_reported(self, run, report):
            return original_resume(self, snapshot, run, stack, force_async)

    BaseOrchestrator.run = submitting  # type: ignore[method-assign]
    BaseOrchestrator.resume_run = resuming  # type: ignore[method-assign]


@contextlib.contextmanager
def _submissions_reported(orchestrator: Any, run: Any, report: Any) -> Iterator[None]:
    """For one call on ``orchestrator``: its submissions report ``run`` and drop the wait."""
    names = ("submit_dynamic_pipeline", "submit_pipeline")
    for name in names:
        setattr(orchestrator, name, _reporting(getattr(orchestrator, name), run, report))
    try:
        yield
    finally:
        for name in names:
            orchestrator.__dict__.pop(name, None)


def stack_of(exec_id: str) -> str | None:
    """The id of the stack an execution ran on: where Kitaru's retry and resume run it
    again (None when its snapshot names none).

    Public ZenML API: ``Client().get_pipeline_run`` and the run's ``snapshot.stack``.
    """
    import_sdk()
    from zenml.client import Client

    ensure_store()
    snapshot = Client().get_pipeline_run(exec_id).snapshot
    stack = snapshot.stack if snapshot is not None else None
    return str(stack.id) if stack is not None else None


def _reporting(submit: Any, placeholder_run: Any, report: Any) -> Any:
    def submitted(*args: Any, **kwargs: Any) -> Any:
        result = submit(*args, **kwargs)
        if placeholder_run is not None:
            report(str(placeholder_run.id))
        if result is not None:
            result.wait_for_completion = None  # the orchestrator carries it from here
        return result

    return submitted
