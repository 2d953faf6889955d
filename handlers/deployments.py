"""Deployment tools: list, get, deploy, invoke, delete, tag, untag.

A deployment is a frozen snapshot of a flow that a Kitaru server runs on
demand. A store reached directly (the embedded local store) can list them
but cannot run them (ZenML: "Running a snapshot is not possible with a local
store"), and flows can only be deployed on a stack the server can run
remotely. So on the local store every call but list answers with a clear
``unsupported`` error that says what to set up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from kitaru_mcp.generated import models
from kitaru_mcp.handlers.executions import fitted_execution

from kitaru_mcp.calls import cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import Conflict, InvalidArgument, NotFound, Unsupported, to_failure
from kitaru_mcp.gateway.ports import GatewayPort

T = TypeVar("T")

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


def _unsupported(what: str) -> Unsupported:
    return Unsupported(f"{NEEDS_SERVER} ({what})", hint=SETUP_HINT)


def _selector(version: int | None, tag: str | None) -> tuple[int | None, str | None]:
    if version is not None and tag is not None:
        raise InvalidArgument(
            "Pass either version or tag, not both.",
            field="tag",
            hint="Omit both to select the version tagged `default`.",
        )
    return (version, None) if version is not None else (None, tag or DEFAULT_TAG)


def _call(gw: GatewayPort, what: str, call: Callable[[], T]) -> T:
    """Run a gateway deployment call; on the local store a miss means 'needs a server'."""
    try:
        return call()
    except Exception as exc:
        failure = to_failure(exc)
        if isinstance(failure, NotFound) and gw.on_local_store():
            raise _unsupported(what) from None
        if isinstance(failure, NotFound):
            failure.hint = failure.hint or "List deployments with kitaru_deployments_list."
            failure.field = failure.field or "flow"
        raise failure from None


def list_deployments(
    gw: GatewayPort, params: models.KitaruDeploymentsListInput
) -> models.KitaruDeploymentsListOutput:
    """Every deployment version (optionally of one flow), ordered by flow and version."""
    found = gw.list_deployments(flow=params.flow)
    note = None
    if not found and gw.on_local_store():
        note = f"{NEEDS_SERVER} {SETUP_HINT}"
    elif not found:
        note = (
            "No deployments"
            + (f" of flow {params.flow!r}" if params.flow else "")
            + ": create one with kitaru_deployments_deploy."
        )
    page = cursor.paginate(
        found,
        "deployment_id",
        params.limit,
        params.cursor,
        {"flow": params.flow},
        current().max_result_chars,
    )
    return models.KitaruDeploymentsListOutput.model_validate(
        cursor.answer(page, "deployments", note=note)
    )


def get_deployment(gw: GatewayPort, params: models.KitaruDeploymentsGetInput) -> models.Deployment:
    """One version, by version or tag (the `default` tag when neither is given)."""
    version, tag = _selector(params.version, params.tag)
    deployment = _call(
        gw,
        f"no deployment of flow {params.flow!r} can exist here",
        lambda: gw.get_deployment(params.flow, version, tag),
    )
    return models.Deployment.model_validate(deployment)


def deploy(gw: GatewayPort, params: models.KitaruDeploymentsDeployInput) -> models.Deployment:
    """Freeze the target into a new deployment version (server connections only)."""
    settings.check_target(params.target)
    if gw.on_local_store():
        raise _unsupported(f"{params.target} was not deployed")
    tag = params.tag or DEFAULT_TAG
    deployment = gw.deploy(
        params.target,
        stack=params.stack,
        tags={tag: True if tag == DEFAULT_TAG else bool(params.exclusive)},
        inputs=dict(params.inputs or {}),
    )
    return models.Deployment.model_validate(deployment)


def invoke(
    gw: GatewayPort, params: models.KitaruDeploymentsInvokeInput
) -> models.KitaruDeploymentsInvokeOutput:
    """Start a deployed version on the server; return once the execution exists."""
    version, tag = _selector(params.version, params.tag)
    if gw.on_local_store():
        raise _unsupported(f"flow {params.flow!r} was not invoked")
    inputs = dict(params.inputs or {})
    deployment = _call(
        gw, "nothing was invoked", lambda: gw.get_deployment(params.flow, version, tag)
    )
    check_inputs(deployment, inputs)
    exec_id = _call(
        gw,
        "nothing was invoked",
        lambda: gw.invoke_deployment(params.flow, version, tag, inputs),
    )
    return models.KitaruDeploymentsInvokeOutput.model_validate(
        {
            "flow": params.flow,
            "version": version,
            "tag": tag,
            "exec_id": exec_id,
            "execution": fitted_execution(gw, exec_id),
        }
    )


def check_inputs(deployment: Mapping[str, Any], inputs: dict[str, Any]) -> None:
    """InvalidArgument naming the input (``inputs.<name>``) that the deployment's input schema
    refuses, or that it does not know; nothing is invoked then."""
    schema = deployment.get("input_schema")
    if not schema:
        return
    known = schema.get("properties")
    unknown = sorted(set(inputs) - set(known)) if isinstance(known, dict) else []
    label = f"{deployment['flow']!r} v{deployment['version']}"
    if unknown:
        raise InvalidArgument(
            f"inputs.{unknown[0]}: deployment {label} has no input {unknown[0]!r} "
            f"(its inputs: {', '.join(sorted(known)) or 'none'}).",
            field=f"inputs.{unknown[0]}",
            hint="See input_schema in kitaru_deployments_get.",
        )
    error = next(iter(Draft202012Validator(schema).iter_errors(inputs)), None)
    if error is None:
        return
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and "'" in error.message:
        path.append(error.message.split("'")[1])
    field = ".".join(["inputs", *path])
    raise InvalidArgument(
        f"{field}: {error.message[:300]} (the input schema of deployment {label}).",
        field=field,
        hint="See input_schema in kitaru_deployments_get; nothing was invoked.",
    )


def delete(
    gw: GatewayPort, params: models.KitaruDeploymentsDeleteInput
) -> models.KitaruDeploymentsDeleteOutput:
    """Delete one deployment version."""
    try:
        _call(gw, "nothing was deleted", lambda: gw.delete_deployment(params.flow, params.version))
    except Conflict as failure:
        failure.field = failure.field or "version"
        failure.hint = failure.hint or (
            "An exclusive tag protects this version: move it to another version first "
            "(kitaru_deployments_tag with exclusive: true); `default` cannot be removed."
        )
        raise
    return models.KitaruDeploymentsDeleteOutput.model_validate(
        {"flow": params.flow, "version": params.version, "deleted": True}
    )


def tag(gw: GatewayPort, params: models.KitaruDeploymentsTagInput) -> models.Deployment:
    """Put a tag on a version (exclusive: move it off every other version)."""
    deployment = _call(
        gw,
        "nothing was tagged",
        lambda: gw.tag_deployment(
            params.flow, params.version, params.tag, exclusive=bool(params.exclusive)
        ),
    )
    return models.Deployment.model_validate(deployment)


def untag(gw: GatewayPort, params: models.KitaruDeploymentsUntagInput) -> models.Deployment:
    """Take a tag off a version."""
    deployment = _call(
        gw,
        "nothing was untagged",
        lambda: gw.untag_deployment(params.flow, params.version, params.tag),
    )
    return models.Deployment.model_validate(deployment)
