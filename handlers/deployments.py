"""Deployment tools: list, get, deploy, invoke, delete, tag, untag.

A deployment is a frozen snapshot of a flow that a Kitaru server runs on
demand. A store reached directly (the embedded local store) can list them
but cannot run them (ZenML: "Running a snapshot is not possible with a local
store"), and flows can only be deployed on a stack the server can run
remotely. So on the local store every call but list answers with a clear
``unsupported`` error that says what to set up.
"""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk, serialize

from kitaru_mcp import cursor, settings
from kitaru_mcp.errors import InvalidArgument, NotFound, Unsupported, to_failure

DEFAULT_TAG = "default"
NEEDS_SERVER = (
    "Deployments need a Kitaru server: this server uses the embedded local store "
    "(a database opened directly), which can neither hold runnable deployments nor "
    "run them."
)
SETUP_HINT = (
    "Connect to a Kitaru server with `kitaru login <url>` (or start one on this machine "
    "with kitaru_start_local_server / `kitaru login --local`), then deploy on a stack the "
    "server can run remotely (e.g. Kubernetes, Vertex AI, SageMaker, AzureML; no local "
    "components). To run a flow on the local store use kitaru_executions_run instead."
)


def on_local_store() -> bool:
    """Whether this connection talks to a database directly instead of to a server."""
    from zenml.client import Client
    from zenml.enums import StoreType

    return Client().zen_store.type == StoreType.SQL


def _unsupported(what: str) -> Unsupported:
    return Unsupported(f"{NEEDS_SERVER} ({what})", hint=SETUP_HINT)


def _deployment(deployment: Any) -> dict[str, Any]:
    schema = getattr(deployment, "schema", None)
    return {
        "flow": deployment.flow,
        "version": int(deployment.version),
        "deployment_id": str(deployment.deployment_id),
        "tags": [
            {"tag": tag, "exclusive": bool(exclusive)}
            for tag, exclusive in sorted((deployment.tags or {}).items())
        ],
        "stack": getattr(deployment, "stack", None),
        "created_at": serialize.timestamp(getattr(deployment, "created_at", None)),
        "commit_sha": getattr(deployment, "commit_sha", None),
        "commit_dirty": getattr(deployment, "commit_dirty", None),
        "image_digest": getattr(deployment, "image_digest", None),
        "input_schema": schema if isinstance(schema, dict) else None,
    }


def _selector(version: int | None, tag: str | None) -> tuple[int | None, str | None]:
    if version is not None and tag is not None:
        raise InvalidArgument(
            "Pass either version or tag, not both.",
            field="tag",
            hint="Omit both to select the version tagged `default`.",
        )
    return (version, None) if version is not None else (None, tag or DEFAULT_TAG)


def _call(what: str, call: Any) -> Any:
    """Run an SDK deployment call; on the local store a miss means 'needs a server'."""
    try:
        return call()
    except Exception as exc:
        failure = to_failure(exc)
        if isinstance(failure, NotFound) and on_local_store():
            raise _unsupported(what) from None
        if isinstance(failure, NotFound):
            failure.hint = failure.hint or "List deployments with kitaru_deployments_list."
            failure.field = failure.field or "flow"
        raise failure from None


def list_deployments(
    params: models.KitaruDeploymentsListInput,
) -> models.KitaruDeploymentsListOutput:
    """Every deployment version (optionally of one flow), ordered by flow and version."""
    found = [_deployment(d) for d in sdk.client().deployments.list(flow=params.flow)]
    note = None
    if not found and on_local_store():
        note = f"{NEEDS_SERVER} {SETUP_HINT}"
    elif not found:
        note = (
            "No deployments"
            + (f" of flow {params.flow!r}" if params.flow else "")
            + (": create one with kitaru_deployments_deploy.")
        )
    page = cursor.paginate(
        found, "deployment_id", params.limit, params.cursor, {"flow": params.flow}
    )
    return models.KitaruDeploymentsListOutput.model_validate(
        {
            "deployments": page["items"],
            "count": len(page["items"]),
            "note": note,
            "has_more": page["has_more"],
            "next_cursor": page["next_cursor"],
        }
    )


def get_deployment(params: models.KitaruDeploymentsGetInput) -> models.Deployment:
    version, tag = _selector(params.version, params.tag)
    deployment = _call(
        f"no deployment of flow {params.flow!r} can exist here",
        lambda: sdk.client().deployments.get(flow=params.flow, version=version, tag=tag),
    )
    return models.Deployment.model_validate(_deployment(deployment))


def deploy(params: models.KitaruDeploymentsDeployInput) -> models.Deployment:
    """Freeze the target into a new deployment version (server connections only)."""
    settings.check_target(params.target)
    if on_local_store():
        raise _unsupported(f"{params.target} was not deployed")
    from kitaru._interface_deployments import build_deployment_deploy_kwargs

    from kitaru_mcp.runner import TargetError, load_target

    tag = params.tag or DEFAULT_TAG
    try:
        flow = load_target(params.target)
    except TargetError as exc:
        raise InvalidArgument(str(exc), field=exc.field, hint=exc.hint) from None
    kwargs = build_deployment_deploy_kwargs(
        stack=params.stack,
        cache=None,
        retries=None,
        tags={tag: True if tag == DEFAULT_TAG else bool(params.exclusive)},
        inputs=dict(params.inputs or {}),
        input_label="inputs",
    )
    return models.Deployment.model_validate(_deployment(flow.deploy(**kwargs)))


def invoke(params: models.KitaruDeploymentsInvokeInput) -> models.KitaruDeploymentsInvokeOutput:
    """Start a deployed version on the server; return once the execution exists."""
    version, tag = _selector(params.version, params.tag)
    if on_local_store():
        raise _unsupported(f"flow {params.flow!r} was not invoked")
    handle = _call(
        "nothing was invoked",
        lambda: sdk.client().deployments.invoke(
            flow=params.flow, version=version, tag=tag, inputs=dict(params.inputs or {})
        ),
    )
    exec_id = str(handle.exec_id)
    return models.KitaruDeploymentsInvokeOutput.model_validate(
        {
            "flow": params.flow,
            "version": version,
            "tag": tag,
            "exec_id": exec_id,
            "execution": serialize.execution(sdk.get_execution(exec_id)),
        }
    )


def delete(params: models.KitaruDeploymentsDeleteInput) -> models.KitaruDeploymentsDeleteOutput:
    _call(
        "nothing was deleted",
        lambda: sdk.client().deployments.delete(flow=params.flow, version=params.version),
    )
    return models.KitaruDeploymentsDeleteOutput.model_validate(
        {"flow": params.flow, "version": params.version, "deleted": True}
    )


def tag(params: models.KitaruDeploymentsTagInput) -> models.Deployment:
    deployment = _call(
        "nothing was tagged",
        lambda: sdk.client().deployments.tag(
            flow=params.flow,
            version=params.version,
            tag=params.tag,
            exclusive=bool(params.exclusive),
        ),
    )
    return models.Deployment.model_validate(_deployment(deployment))


def untag(params: models.KitaruDeploymentsUntagInput) -> models.Deployment:
    deployment = _call(
        "nothing was untagged",
        lambda: sdk.client().deployments.untag(
            flow=params.flow, version=params.version, tag=params.tag
        ),
    )
    return models.Deployment.model_validate(_deployment(deployment))
