"""Environment tools: info (diagnostics, secrets redacted) and clean_preview (read-only)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.sdk import sync_connection

from kitaru_mcp import __version__
from kitaru_mcp.errors import NotFound, is_secret_name, redact

_MAX_VALUE = 500
_MAX_ENTRIES = 200


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


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


def info(params: models.KitaruInfoInput) -> models.KitaruInfoOutput:
    from kitaru import inspection

    sync_connection()
    snapshot = inspection.build_runtime_snapshot()
    versions = {
        "kitaru": _version("kitaru"),
        "zenml": _version("zenml"),
        "mcp": _version("mcp"),
        "kitaru_mcp": __version__,
        "python": platform.python_version(),
    }
    for package in params.packages or []:
        name = str(getattr(package, "root", package))
        versions[name] = _version(name)
    system = snapshot.system_info or {}
    warnings = [w for w in (snapshot.warning, snapshot.log_store_warning) if w]
    return models.KitaruInfoOutput.model_validate(
        {
            "versions": versions,
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
            "system": {str(k): _clean(v) for k, v in system.items()},
            "environment": environment_variables(),
            "warnings": [redact(str(w))[:_MAX_VALUE] for w in warnings],
        }
    )


def _flatten(entries: Any, depth: int = 0) -> list[dict[str, Any]]:
    flat = []
    for entry in entries:
        flat.append(
            {
                "path": entry.path,
                "type": str(getattr(entry.entry_type, "value", entry.entry_type)),
                "size_bytes": entry.size_bytes,
                "note": entry.note,
                "depth": depth,
            }
        )
        flat += _flatten(entry.children, depth + 1)
    return flat


def clean_preview(params: models.KitaruCleanPreviewInput) -> models.KitaruCleanPreviewOutput:
    """What `kitaru clean <scope>` would delete; builds the plan only, executes nothing."""
    from kitaru import _cleanup

    scope = _cleanup.CleanScope(params.scope or "all")
    try:
        plan = _cleanup.build_cleanup_plan(scope)
    except Exception as exc:
        if "No Kitaru project found" in str(exc):
            raise NotFound(
                f"No Kitaru project (.kitaru folder) around the server's working directory "
                f"{os.getcwd()}, so `kitaru clean project` would remove nothing.",
                field="scope",
                hint="Preview scope=global for Kitaru's configuration and local store.",
            ) from None
        raise
    result = _cleanup.build_cleanup_preview_result(plan)
    entries = _flatten(result.preview_entries)
    return models.KitaruCleanPreviewOutput.model_validate(
        {
            "scope": scope.value,
            "deletes_nothing": True,
            "entries": entries[:_MAX_ENTRIES],
            "total_bytes": int(result.total_bytes or 0),
            "backup_path": plan.backup_path,
            "local_server": plan.local_server_status,
            "warnings": [redact(str(w)) for w in result.warnings],
            "truncated": len(entries) > _MAX_ENTRIES,
        }
    )
