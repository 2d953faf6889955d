"""The connection: status, versions, Kitaru's local server."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class ConnectionGateway(GatewayBase):
    pass
