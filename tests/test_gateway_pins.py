"""The private Kitaru and ZenML APIs the gateway relies on, pinned to Kitaru 0.21.

Each test names one private use (see the comment at its use in
kitaru_mcp/gateway/). When a Kitaru upgrade moves one, the failing test says
which, before any tool breaks. Imports only: no store is touched.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest


def _parameters(function) -> set[str]:
    return set(inspect.signature(function).parameters)


def test_kitaru_is_the_pinned_release() -> None:
    assert version("kitaru").startswith("0.21."), version("kitaru")


def test_local_server_helpers() -> None:
    from kitaru._local_server import start_or_connect_local_server, stop_registered_local_server

    assert {"port", "timeout"} <= _parameters(start_or_connect_local_server)
    assert callable(stop_registered_local_server)


def test_local_server_lookup_and_dependency_check() -> None:
    from zenml.utils.server_utils import get_local_server
    from zenml.zen_server.deploy.daemon.daemon_provider import DaemonServerProvider

    assert callable(get_local_server)
    assert callable(DaemonServerProvider.check_local_server_dependencies)


def test_deployment_kwargs_builder() -> None:
    from kitaru._interface_deployments import build_deployment_deploy_kwargs

    assert callable(build_deployment_deploy_kwargs)


def test_cleanup_planning() -> None:
    from kitaru import _cleanup

    assert {scope.value for scope in _cleanup.CleanScope} >= {"project", "global", "all"}
    assert callable(_cleanup.build_cleanup_plan)
    assert callable(_cleanup.build_cleanup_preview_result)


def test_statistics_helper_reads_the_clients_project_and_store() -> None:
    from kitaru import KitaruClient
    from kitaru._client import _statistics

    assert "client" in _parameters(_statistics.get_execution_statistics)
    source = inspect.getsource(_statistics)
    assert "_project" in source and "zen_store" in source
    assert callable(KitaruClient._client) and "self._project" in inspect.getsource(KitaruClient)


def test_configuration_reload_hooks() -> None:
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration

    assert callable(GlobalConfiguration._reset_instance)
    assert callable(Client._reset_instance)


def test_run_status_update() -> None:
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    assert {"status", "status_reason"} <= set(PipelineRunUpdate.model_fields)
    assert {"stopped", "failed", "running"} <= {s.value for s in ExecutionStatus}
    assert {"run_id", "run_update"} <= _parameters(SqlZenStore.update_run)


@pytest.mark.parametrize("name", ["list_secrets", "create_secret"])
def test_public_secret_helpers(name: str) -> None:
    import kitaru.secrets

    assert callable(getattr(kitaru.secrets, name))
