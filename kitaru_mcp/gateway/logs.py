"""Logs: the store's log API and the artifact store's log files."""

from __future__ import annotations

from kitaru_mcp.gateway.base import GatewayBase


class LogsGateway(GatewayBase):
    pass
