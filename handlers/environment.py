"""Environment tools: info (diagnostics, secrets redacted) and clean_preview (read-only)."""

from __future__ import annotations

import os
from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp.core.errors import NotFound, is_secret_name, redact
from kitaru_mcp.gateway.ports import GatewayPort

_MAX_VALUE = 500
_MAX_ENTRIES = 200


def _clean(value: Any) -> str | None:
    return None if value is None else redact(str(value))


def environment_variables() -> list[dict[str, Any]]:
    """KITARU_* and ZENML_* variables; a secret-looking name never shows its value."""
    entries = []
    for name in sorted(os.environ):
        if not name.startswith(("KITARU_", "ZENML_")):
            continue
        secret = is_secret_name(name)
        value = "***" if secret else redact(os.environ[name])[:_MAX_VALUE]
        entries.append({"name": name, "value": value, "redacted": secret})
    return entries


def info(gw: GatewayPort, params: models.KitaruInfoInput) -> models.KitaruInfoOutput:
    """Versions, connection, active selections, paths and KITARU_/ZENML_ variables."""
    snapshot = gw.runtime_snapshot()
    packages = [str(getattr(package, "root", package)) for package in params.packages or []]
    warnings = [w for w in (snapshot.warning, snapshot.log_store_warning) if w]
    return models.KitaruInfoOutput.model_validate(
        {
            "versions": gw.versions(packages),
            "connection": {
                "kind": snapshot.connection,
                "target": _clean(snapshot.connection_target),
                "server_url": _clean(snapshot.server_url),
                "server_version": snapshot.server_version,
                "database": snapshot.server_database,
                "deployment_type": _clean(snapshot.server_deployment_type),
                "local_server": snapshot.local_server_status,
            },
            "active": {
                "user": snapshot.active_user,
                "project": snapshot.active_project,
                "stack": snapshot.active_stack,
            },
            "paths": {
                "config_directory": snapshot.config_directory,
                "global_config": snapshot.zenml_global_config_path
                or snapshot.kitaru_global_config_path,
                "local_stores": snapshot.local_stores_path,
                "repository_root": snapshot.repository_root,
                "repository_config": snapshot.repository_config_path,
                "uses_repo_local_config": snapshot.uses_repo_local_config,
            },
            "system": {str(k): _clean(v) for k, v in snapshot.system_info.items()},
            "environment": environment_variables(),
            "warnings": [redact(str(w))[:_MAX_VALUE] for w in warnings],
        }
    )


def clean_preview(
    gw: GatewayPort, params: models.KitaruCleanPreviewInput
) -> models.KitaruCleanPreviewOutput:
    """What `kitaru clean <scope>` would delete; builds the plan only, executes nothing."""
    preview = gw.cleanup_preview(params.scope or "all")
    if preview is None:
        raise NotFound(
            f"No Kitaru project (.kitaru folder) around the server's working directory "
            f"{os.getcwd()}, so `kitaru clean project` would remove nothing.",
            field="scope",
            hint="Preview scope=global for Kitaru's configuration and local store.",
        )
    return models.KitaruCleanPreviewOutput.model_validate(
        {
            "scope": preview.scope,
            "deletes_nothing": True,
            "entries": preview.entries[:_MAX_ENTRIES],
            "total_bytes": preview.total_bytes,
            "backup_path": preview.backup_path,
            "local_server": preview.local_server,
            "warnings": [redact(w) for w in preview.warnings],
            "truncated": len(preview.entries) > _MAX_ENTRIES,
        }
    )
