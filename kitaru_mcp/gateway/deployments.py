"""Deployments: deploy, list, get, invoke, tag, delete."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class DeploymentsGateway(GatewayBase):
    pass
