"""The gateway: the one place that imports Kitaru and ZenML (private APIs included).

Handlers receive a ``Gateway`` and call its methods; they never import
``kitaru`` or ``zenml``. Every method returns plain data (dicts and lists in
the shapes of ``schemas/defs``, typed by ``shapes``, which the generator
writes) or raises Kitaru/ZenML exceptions or our own
``ToolFailure`` ladder, which the error boundary maps. Each private API use
says in a comment what it needs; ``tests/test_gateway_pins.py`` covers them
against Kitaru 0.21. Importing this package imports neither Kitaru nor ZenML.
Unit tests pass a fake checked against the same protocols (``ports``).

This wing may import ``core`` and the ``kitaru_mcp`` package; nothing of ours
above it.
"""

from __future__ import annotations

import threading

from kitaru_mcp.gateway.artifacts import ArtifactsGateway
from kitaru_mcp.gateway.connection import ConnectionGateway
from kitaru_mcp.gateway.deployments import DeploymentsGateway
from kitaru_mcp.gateway.environment import EnvironmentGateway
from kitaru_mcp.gateway.executions import ExecutionsGateway
from kitaru_mcp.gateway.inspection import InspectionGateway
from kitaru_mcp.gateway.logs import LogsGateway
from kitaru_mcp.gateway.projects import ProjectsGateway
from kitaru_mcp.gateway.secrets import SecretsGateway
from kitaru_mcp.gateway.stacks import StacksGateway


class Gateway(
    ExecutionsGateway,
    ArtifactsGateway,
    LogsGateway,
    InspectionGateway,
    ConnectionGateway,
    StacksGateway,
    ProjectsGateway,
    SecretsGateway,
    DeploymentsGateway,
    EnvironmentGateway,
):
    """Every Kitaru and ZenML call the handlers need, on the process's connection."""


_default: Gateway | None = None
_default_lock = threading.Lock()


def default() -> Gateway:
    """The process's gateway (it holds no state of its own beyond the connection)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Gateway()
        return _default
