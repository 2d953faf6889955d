"""Secrets: list metadata, create."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class SecretsGateway(GatewayBase):
    pass
