"""Statistics, diff and cohort queries."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class InspectionGateway(GatewayBase):
    pass
