"""The environment: diagnostics and the clean preview."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class EnvironmentGateway(GatewayBase):
    pass
