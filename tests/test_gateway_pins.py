"""The private Kitaru and ZenML APIs the gateway relies on, pinned to Kitaru 0.21.

Each test names one private use (see the comment at its use in
kitaru_mcp/gateway/). When a Kitaru upgrade moves one, the failing test says
which, before any tool breaks. Imports only: no store is touched.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest

pytestmark = pytest.mark.store


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


# --- the embedded store's SQL reads (kitaru_mcp/gateway/store/) --------------------------

_COLUMNS = {  # table class -> the columns the gateway's queries use
    "PipelineRunSchema": {
        "id", "status", "start_time", "end_time", "original_run_id", "created", "project_id",
        "pipeline_id", "snapshot_id", "stack_id", "status_reason", "exception_info",
        "pipeline_configuration",
    },
    "PipelineSnapshotSchema": {"id", "stack_id", "pipeline_configuration"},
    "PipelineSchema": {"id", "name", "project_id"},
    "StackSchema": {"id", "name"},
    "RunWaitConditionSchema": {
        "id", "run_id", "status", "name", "question", "data_schema_json", "created",
    },
    "StepRunSchema": {
        "id", "name", "status", "start_time", "end_time", "version", "exception_info",
        "snapshot_id", "pipeline_run_id", "created",
    },
    "StepConfigurationSchema": {"step_run_id", "snapshot_id", "name", "config"},
    "StepRunOutputArtifactSchema": {"step_id", "artifact_id", "name"},
    "ArtifactVersionSchema": {"id", "save_type", "artifact_id"},
    "ArtifactSchema": {"id", "name"},
    "RunMetadataSchema": {"id", "key", "value", "created"},
    "RunMetadataResourceSchema": {"resource_id", "resource_type", "run_metadata_id"},
    "StackCompositionSchema": {"stack_id", "component_id", "default_for_type"},
    "StackComponentSchema": {"id", "type", "name", "flavor"},
}  # fmt: skip


@pytest.mark.parametrize("table", sorted(_COLUMNS))
def test_store_tables_have_the_columns_the_sql_reads_use(table: str) -> None:
    from zenml.zen_stores import schemas

    columns = {column.name for column in getattr(schemas, table).__table__.columns}
    assert _COLUMNS[table] <= columns, _COLUMNS[table] - columns


def test_sql_store_engine_and_stored_value_formats() -> None:
    from zenml.enums import ArtifactSaveType, MetadataResourceTypes
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    assert "engine" in dir(SqlZenStore)
    assert MetadataResourceTypes.ARTIFACT_VERSION.value == "artifact_version"
    assert ArtifactSaveType.STEP_OUTPUT.value == "step_output"
    # Kitaru lists by creation time with the id as tie-break (the keyset order)
    from zenml.models.v2.base import filter as base_filter

    assert "tiebreaker = desc(col(table.id))" in inspect.getsource(base_filter)


def test_status_mapping_and_flow_name_aliases() -> None:
    from kitaru._client._mappers import _RAW_STATUSES_BY_PUBLIC_STATUS, _map_failure_info
    from kitaru._source_aliases import (
        PIPELINE_SOURCE_ALIAS_PREFIX,
        normalize_checkpoint_name,
        normalize_flow_name,
    )

    assert {s.value for s in _RAW_STATUSES_BY_PUBLIC_STATUS} == {
        "running", "waiting", "completed", "failed", "cancelled",
    }  # fmt: skip
    assert normalize_flow_name(f"{PIPELINE_SOURCE_ALIAS_PREFIX}x") == "x"
    assert callable(normalize_checkpoint_name)
    # gateway/names.py holds copies (no Kitaru import on a read): they are Kitaru's
    from kitaru_mcp.gateway import names

    assert {
        public.value: tuple(raws) for public, raws in _RAW_STATUSES_BY_PUBLIC_STATUS.items()
    } == names.RAW_STATUSES_BY_PUBLIC
    assert names.PIPELINE_ALIAS_PREFIX == PIPELINE_SOURCE_ALIAS_PREFIX
    for name in (None, "", "  ", "x", " x ", f"{PIPELINE_SOURCE_ALIAS_PREFIX}x", "a b"):
        assert names.public_flow_name(name) == normalize_flow_name(name), name
    assert names.public_flow_name(PIPELINE_SOURCE_ALIAS_PREFIX) is None
    from kitaru._env import KITARU_REPOSITORY_DIRECTORY_NAME

    from kitaru_mcp.gateway import embedded

    assert embedded.REPOSITORY_MARKER == KITARU_REPOSITORY_DIRECTORY_NAME
    assert normalize_flow_name(PIPELINE_SOURCE_ALIAS_PREFIX) is None
    assert {"status_reason", "exception_info", "default_origin", "fallback_message"} <= (
        _parameters(_map_failure_info)
    )


def test_kitaru_client_project_and_artifact_loading() -> None:
    from kitaru import KitaruClient

    source = inspect.getsource(KitaruClient)
    assert "self._project = " in source
    assert callable(KitaruClient._get_artifact_version)


def test_diff_building_blocks() -> None:
    import importlib

    kitaru_diff = importlib.import_module("kitaru.diff")
    assert {"original_cp", "replay_cp", "client", "artifact_hash_cache"} <= _parameters(
        kitaru_diff._compare_checkpoints
    )
    for name in (
        "_align_checkpoints",
        "_client_ui_url_context",
        "_execution_project_name_or_id",
        "_resolve_compare_flow_version",
        "build_compare_url_for_executions",
    ):
        assert callable(getattr(kitaru_diff, name)), name
    hashing = inspect.getsource(kitaru_diff._artifact_content_hash)  # mirrored by _content_hash
    assert "json.dumps(value, sort_keys=True, default=str)" in hashing and "sha256" in hashing


def test_active_stack_id_sources() -> None:
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.constants import ENV_ZENML_ACTIVE_STACK_ID

    source = inspect.getsource(Client.active_stack_model.fget)
    assert "ENV_ZENML_ACTIVE_STACK_ID" in source and "self._config" in source
    assert "active_stack_id" in source and isinstance(ENV_ZENML_ACTIVE_STACK_ID, str)
    assert callable(GlobalConfiguration.get_active_stack_id)


def test_execution_mapping_and_list_filters() -> None:
    from kitaru import client
    from kitaru._client._mappers import _coerce_status_filter, _map_execution

    assert {"run", "client", "include_details", "resolve_wait_status"} <= _parameters(
        _map_execution
    )
    assert _coerce_status_filter("waiting").value == "waiting"
    assert client._pipeline_name_filter_value("f").startswith("oneof:")
    assert callable(client._list_status_filter_value)


def test_server_read_building_blocks() -> None:
    """``server_reads.execution``: Kitaru's mapping pieces and the ``oneof`` artifact listing."""
    from kitaru import KitaruClient
    from kitaru._checkpoint_steps import visible_checkpoint_step_for_lineage
    from kitaru._client import _mappers
    from zenml.client import Client

    assert {"run", "client"} <= _parameters(_mappers._first_pending_wait)
    assert {"run", "client"} <= _parameters(_mappers._list_checkpoint_attempts_for_run)
    assert "replay_skipped_steps" in _parameters(_mappers._map_checkpoint_attempt)
    assert _mappers._to_public_status("completed").value == "completed"
    assert callable(_mappers._normalize_checkpoint_name)
    assert callable(visible_checkpoint_step_for_lineage)
    assert "hydrate" in _parameters(KitaruClient._get_pipeline_run)
    assert {"id", "hydrate", "size"} <= _parameters(Client.list_artifact_versions)


def test_run_tags_and_tag_claims() -> None:
    """gateway/claims.py: a run's tags through ``update_run(PipelineRunUpdate(add_tags))``,
    tag names unique (``create_tag`` raises ``EntityExistsError``), runs filtered by tag."""
    from zenml.client import Client
    from zenml.exceptions import EntityExistsError
    from zenml.models import PipelineRunUpdate

    assert "add_tags" in PipelineRunUpdate.model_fields
    assert issubclass(EntityExistsError, Exception)
    assert {"name", "color"} <= _parameters(Client.create_tag)
    assert {"tags", "sort_by"} <= _parameters(Client.list_pipeline_runs)
    assert {"name", "size"} <= _parameters(Client.list_tags)


def test_orchestrator_submission_points() -> None:
    """gateway/runtime.py ``on_submission``: ``BaseOrchestrator.run(snapshot, stack,
    placeholder_run)`` calls ``submit_dynamic_pipeline`` / ``submit_pipeline``, whose
    ``SubmissionResult.wait_for_completion`` is the synchronous wait; Kitaru's retry and
    resume call ``resume_run(snapshot, run, stack, force_async)``, which submits the same way."""
    from zenml.orchestrators.base_orchestrator import BaseOrchestrator, SubmissionResult
    from zenml.orchestrators.local.local_orchestrator import LocalOrchestrator

    assert list(inspect.signature(BaseOrchestrator.run).parameters) == [
        "self",
        "snapshot",
        "stack",
        "placeholder_run",
    ]
    assert list(inspect.signature(BaseOrchestrator.resume_run).parameters) == [
        "self",
        "snapshot",
        "run",
        "stack",
        "force_async",
    ]
    assert "submit_dynamic_pipeline" in inspect.getsource(BaseOrchestrator.resume_run)
    assert "placeholder_run" in _parameters(BaseOrchestrator.submit_dynamic_pipeline)
    assert "placeholder_run" in _parameters(BaseOrchestrator.submit_pipeline)
    assert SubmissionResult(wait_for_completion=None).wait_for_completion is None
    assert issubclass(LocalOrchestrator, BaseOrchestrator)
    from zenml.orchestrators.local.local_orchestrator import LocalOrchestratorFlavor

    from kitaru_mcp.gateway.runtime import LOCAL_FLAVOR

    assert LocalOrchestratorFlavor().name == LOCAL_FLAVOR  # runtime.runs_here


def test_the_migration_switch_a_runner_sets_is_zenmls() -> None:
    """``store_lock._first_access`` turns ZenML's migration check off by its own variable."""
    from zenml import constants
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    from kitaru_mcp.gateway import store_lock

    assert constants.ENV_ZENML_DISABLE_DATABASE_MIGRATION == store_lock.MIGRATIONS_OFF_ENV
    assert "ENV_ZENML_DISABLE_DATABASE_MIGRATION" in inspect.getsource(SqlZenStore._run_migrations)
