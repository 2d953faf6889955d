"""The gateway's ports: what handlers may ask of each area, as typing Protocols.

Handlers are typed against these, never against the concrete ``Gateway``;
the gateway satisfies them (checked below, by mypy) and so must the unit
tier's fakes (``tests/unit/fakes*.py``, checked by mypy too), so a method
missing from a fake or a signature that drifted fails the type check.
Importing this module imports neither Kitaru nor ZenML.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from kitaru_mcp.gateway.artifacts import LoadedArtifact
    from kitaru_mcp.gateway.connection import LocalServer, LocalServerAction, RuntimeSnapshot
    from kitaru_mcp.gateway.environment import CleanupPreview
    from kitaru_mcp.gateway.executions import ExecutionPage
    from kitaru_mcp.gateway.shapes import (
        Artifact,
        Deployment,
        Execution,
        ExecutionSummary,
        Project,
        SecretSummary,
        Stack,
    )


class CallPort(Protocol):
    """What every call may use: its hold on the connection, and a fail-fast check."""

    def using(self) -> AbstractContextManager[Any]: ...

    def prepare(self) -> None: ...

    def check_reachable(self) -> None: ...


class ExecutionsPort(Protocol):
    """What handlers may ask of the executions area (``gateway/executions.py``)."""

    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[ExecutionSummary]: ...

    def page_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> ExecutionPage: ...

    def flow_exists(self, flow: str) -> bool: ...

    def get_execution(self, exec_id: str) -> Execution: ...

    def run_status(self, exec_id: str) -> str: ...

    def send_input(self, exec_id: str, wait: str, value: Any) -> None: ...

    def abort_wait(self, exec_id: str, wait: str) -> None: ...

    def request_cancel(self, exec_id: str) -> bool: ...

    def record_status(self, exec_id: str, status: str, reason: str | None = None) -> None: ...


class ArtifactsPort(Protocol):
    """What handlers may ask of the artifacts area (``gateway/artifacts.py``)."""

    def list_artifacts(
        self, exec_id: str, *, name: str | None = None, checkpoint: str | None = None
    ) -> list[Artifact]: ...

    def load_artifact(self, artifact_id: str) -> LoadedArtifact: ...


class LogsPort(Protocol):
    """What handlers may ask of the logs area (``gateway/logs.py``)."""

    def checkpoint_log_lines(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[tuple[str | None, list[str]]]: ...

    def log_api_entries(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[dict[str, Any]] | None: ...


class InspectionPort(Protocol):
    """What handlers may ask of the inspection area (``gateway/inspection.py``)."""

    def execution_statistics(
        self,
        *,
        group_by: list[str],
        flow: str | None = None,
        status: str | None = None,
        stack: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_groups: int = 100,
    ) -> dict[str, Any]: ...

    def flow_inputs(self, exec_id: str) -> dict[str, Any]: ...

    def flow_inputs_many(self, exec_ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def compare_executions(self, exec_id: str, other_exec_id: str) -> dict[str, Any]: ...

    def checkpoint_reached(self, exec_id: str, at: str) -> str: ...


class ConnectionPort(Protocol):
    """What handlers may ask of the connection area (``gateway/connection.py``)."""

    def runtime_snapshot(self) -> RuntimeSnapshot: ...

    def configured_server_url(self) -> str | None: ...

    def url_variables_set(self) -> list[str]: ...

    def local_server(self) -> LocalServer: ...

    def local_server_missing_dependency(self) -> str | None: ...

    def port_free(self, port: int) -> bool: ...

    def start_local_server(self, port: int | None, timeout_s: int) -> LocalServerAction: ...

    def stop_local_server(self) -> LocalServerAction: ...


class StacksPort(Protocol):
    """What handlers may ask of the stacks area (``gateway/stacks.py``)."""

    def list_stacks(self) -> list[Stack]: ...

    def active_stack(self) -> str: ...

    def find_stack(self, name: str) -> Stack | None: ...

    def create_stack(self, name: str, activate: bool) -> None: ...

    def delete_stack(self, name: str, force: bool) -> list[str]: ...


class ProjectsPort(Protocol):
    """What handlers may ask of the projects area (``gateway/projects.py``)."""

    def list_projects(self) -> list[Project]: ...

    def current_project(self) -> Project: ...

    def get_project(self, name_or_id: str) -> Project: ...

    def use_project(self, name_or_id: str) -> Project: ...


class SecretsPort(Protocol):
    """What handlers may ask of the secrets area (``gateway/secrets.py``)."""

    def list_secrets(self) -> list[SecretSummary]: ...

    def create_secret(self, name: str, values: dict[str, str], private: bool) -> SecretSummary: ...


class DeploymentsPort(Protocol):
    """What handlers may ask of the deployments area (``gateway/deployments.py``)."""

    def on_local_store(self) -> bool: ...

    def list_deployments(self, flow: str | None = None) -> list[Deployment]: ...

    def get_deployment(self, flow: str, version: int | None, tag: str | None) -> Deployment: ...

    def deploy(
        self, target: str, *, stack: str | None, tags: dict[str, bool], inputs: dict[str, Any]
    ) -> Deployment: ...

    def invoke_deployment(
        self, flow: str, version: int | None, tag: str | None, inputs: dict[str, Any]
    ) -> str: ...

    def delete_deployment(self, flow: str, version: int) -> None: ...

    def tag_deployment(self, flow: str, version: int, tag: str, exclusive: bool) -> Deployment: ...

    def untag_deployment(self, flow: str, version: int, tag: str) -> Deployment: ...


class EnvironmentPort(Protocol):
    """What handlers may ask of the environment area (``gateway/environment.py``)."""

    def versions(self, packages: list[str] | tuple[str, ...] = ()) -> dict[str, str | None]: ...

    def cleanup_preview(self, scope: str) -> CleanupPreview | None: ...


class GatewayPort(
    CallPort,
    ExecutionsPort,
    ArtifactsPort,
    LogsPort,
    InspectionPort,
    ConnectionPort,
    StacksPort,
    ProjectsPort,
    SecretsPort,
    DeploymentsPort,
    EnvironmentPort,
    Protocol,
):
    """Everything a handler may ask of the gateway."""


if TYPE_CHECKING:
    from kitaru_mcp.gateway import Gateway

    _satisfied: GatewayPort = Gateway()  # mypy: the gateway offers every port
