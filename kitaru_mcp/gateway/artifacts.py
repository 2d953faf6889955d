"""Artifacts: list an execution's artifacts, load a value."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class ArtifactsGateway(GatewayBase):
    pass
