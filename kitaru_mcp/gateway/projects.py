"""Projects: list, show, current, use."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class ProjectsGateway(GatewayBase):
    pass
