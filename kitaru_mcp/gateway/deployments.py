"""Deployments: frozen flow snapshots a Kitaru server runs on demand."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.errors import InvalidArgument
from kitaru_mcp.gateway import serialize
from kitaru_mcp.gateway.base import GatewayBase


def _deployment(deployment: Any) -> dict[str, Any]:
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


class DeploymentsGateway(GatewayBase):
    def on_local_store(self) -> bool:
        """Whether this connection opens a database directly instead of talking to a server."""
        from zenml.enums import StoreType

        return bool(self.zen().zen_store.type == StoreType.SQL)

    def list_deployments(self, flow: str | None = None) -> list[dict[str, Any]]:
        """Every deployment version (optionally of one flow), in Kitaru's order."""
        return [_deployment(d) for d in self.client().deployments.list(flow=flow)]

    def get_deployment(self, flow: str, version: int | None, tag: str | None) -> dict[str, Any]:
        """One deployment version, by exact version or by tag."""
        return _deployment(self.client().deployments.get(flow=flow, version=version, tag=tag))

    def deploy(
        self, target: str, *, stack: str | None, tags: dict[str, bool], inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Load ``<module_or_file>:<flow>`` here and freeze it into a new deployment version.

        Private Kitaru API: ``kitaru._interface_deployments.build_deployment_deploy_kwargs``
        (turns the CLI's deploy options into ``flow.deploy`` arguments, checking them).
        """
        from kitaru._interface_deployments import build_deployment_deploy_kwargs

        from kitaru_mcp.runner import TargetError, load_target

        self.sync()
        try:
            flow = load_target(target)
        except TargetError as exc:
            raise InvalidArgument(str(exc), field=exc.field, hint=exc.hint) from None
        kwargs = build_deployment_deploy_kwargs(
            stack=stack, cache=None, retries=None, tags=tags, inputs=inputs, input_label="inputs"
        )
        return _deployment(flow.deploy(**kwargs))

    def invoke_deployment(
        self, flow: str, version: int | None, tag: str | None, inputs: dict[str, Any]
    ) -> str:
        """Start a deployed version on the server; return the new execution's exec_id."""
        handle = self.client().deployments.invoke(
            flow=flow, version=version, tag=tag, inputs=inputs
        )
        return str(handle.exec_id)

    def delete_deployment(self, flow: str, version: int) -> None:
        self.client().deployments.delete(flow=flow, version=version)

    def tag_deployment(self, flow: str, version: int, tag: str, exclusive: bool) -> dict[str, Any]:
        deployment = self.client().deployments.tag(
            flow=flow, version=version, tag=tag, exclusive=exclusive
        )
        return _deployment(deployment)

    def untag_deployment(self, flow: str, version: int, tag: str) -> dict[str, Any]:
        return _deployment(self.client().deployments.untag(flow=flow, version=version, tag=tag))
