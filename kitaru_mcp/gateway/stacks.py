"""Stacks: list, create, delete, activate."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class StacksGateway(GatewayBase):
    pass
