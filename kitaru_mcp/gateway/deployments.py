"""Deployments: frozen flow snapshots a Kitaru server runs on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kitaru_mcp.core.errors import InvalidArgument, Unsupported
from kitaru_mcp.gateway import serialize
from kitaru_mcp.gateway.base import GatewayBase

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Deployment


def _deployment(deployment: Any) -> Deployment:
    """Kitaru's Deployment in the Deployment shape of schemas/defs."""
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


REMOTE_ONLY = (
    "Kitaru 0.21 deploys and invokes flows only on a stack its server can execute "
    "remotely, with no local component: the local orchestrator, the local artifact store "
    "and ZenML's `local` deployer all count as local, so no stack of a machine without a "
    "remote orchestrator and artifact store can hold a runnable deployment."
)
REMOTE_HINT = (
    "Register a stack with a remote orchestrator and artifact store (e.g. Kubernetes, Vertex "
    "AI, SageMaker or AzureML with S3/GCS/Azure storage) on the Kitaru server and deploy on "
    "it; to run the flow on this machine use kitaru_executions_run instead."
)


@contextmanager
def remote_stack_needed(field: str | None) -> Iterator[None]:
    """Kitaru's refusal of a stack with local components, as Unsupported with the way on."""
    from kitaru.errors import (
        KitaruStackNotRemoteExecutableStateError,
        KitaruStackNotRemoteExecutableUsageError,
    )

    try:
        yield
    except (
        KitaruStackNotRemoteExecutableUsageError,
        KitaruStackNotRemoteExecutableStateError,
    ) as exc:
        raise Unsupported(f"{exc} {REMOTE_ONLY}", field=field, hint=REMOTE_HINT) from exc


class DeploymentsGateway(GatewayBase):
    def on_local_store(self) -> bool:
        """Whether this connection opens a database directly instead of talking to a server."""
        from zenml.enums import StoreType

        return bool(self.zen().zen_store.type == StoreType.SQL)

    def list_deployments(self, flow: str | None = None) -> list[Deployment]:
        """Every deployment version (optionally of one flow), in Kitaru's order."""
        return [_deployment(d) for d in self.client().deployments.list(flow=flow)]

    def get_deployment(self, flow: str, version: int | None, tag: str | None) -> Deployment:
        """One deployment version, by exact version or by tag.

        When Kitaru records no input schema for it, the flow's own input schema is read
        from the snapshot's pipeline spec (ZenML API: ``Client.get_snapshot``,
        ``pipeline_spec.input_schema``, the JSON schema of the flow's parameters).
        """
        found = _deployment(self.client().deployments.get(flow=flow, version=version, tag=tag))
        if found["input_schema"] is None:
            found["input_schema"] = self._spec_input_schema(found["deployment_id"])
        return found

    def _spec_input_schema(self, snapshot_id: str) -> dict[str, Any] | None:
        try:
            snapshot = self.zen().get_snapshot(snapshot_id, hydrate=True)
            schema = getattr(snapshot.pipeline_spec, "input_schema", None)
        except Exception:  # best effort: a deployment without a schema is still usable
            return None
        return dict(schema) if isinstance(schema, dict) else None

    def deploy(
        self, target: str, *, stack: str | None, tags: dict[str, bool], inputs: dict[str, Any]
    ) -> Deployment:
        """Load ``<module_or_file>:<flow>`` here and freeze it into a new deployment version.

        Private Kitaru API: ``kitaru._interface_deployments.build_deployment_deploy_kwargs``
        (turns the CLI's deploy options into ``flow.deploy`` arguments, checking them).
        """
        from kitaru._interface_deployments import build_deployment_deploy_kwargs

        from kitaru_mcp.core.targets import TargetError, load_target

        self.sync()
        try:
            flow = load_target(target)
        except TargetError as exc:
            raise InvalidArgument(str(exc), field=exc.field, hint=exc.hint) from None
        kwargs = build_deployment_deploy_kwargs(
            stack=stack, cache=None, retries=None, tags=tags, inputs=inputs, input_label="inputs"
        )
        with remote_stack_needed("stack"):
            return _deployment(flow.deploy(**kwargs))

    def invoke_deployment(
        self, flow: str, version: int | None, tag: str | None, inputs: dict[str, Any]
    ) -> str:
        """Start a deployed version on the server; return the new execution's exec_id."""
        with remote_stack_needed(None):
            handle = self.client().deployments.invoke(
                flow=flow, version=version, tag=tag, inputs=inputs
            )
        return str(handle.exec_id)

    def delete_deployment(self, flow: str, version: int) -> None:
        self.client().deployments.delete(flow=flow, version=version)

    def tag_deployment(self, flow: str, version: int, tag: str, exclusive: bool) -> Deployment:
        deployment = self.client().deployments.tag(
            flow=flow, version=version, tag=tag, exclusive=exclusive
        )
        return _deployment(deployment)

    def untag_deployment(self, flow: str, version: int, tag: str) -> Deployment:
        return _deployment(self.client().deployments.untag(flow=flow, version=version, tag=tag))
