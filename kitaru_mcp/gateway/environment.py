"""The environment: installed versions, and what `kitaru clean` would delete."""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from kitaru_mcp import __version__
from kitaru_mcp.gateway.base import GatewayBase


def package_version(package: str) -> str | None:
    """The installed version of a Python distribution; None when it is not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class CleanupPreview:
    """A cleanup plan, built and never executed: entries flattened with their depth."""

    scope: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    total_bytes: int = 0
    backup_path: str | None = None
    local_server: str | None = None
    warnings: list[str] = field(default_factory=list)


def _flatten(entries: Any, depth: int = 0) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for entry in entries:
        flat.append(
            {
                "path": str(entry.path),
                "type": str(getattr(entry.entry_type, "value", entry.entry_type)),
                "size_bytes": entry.size_bytes,
                "note": entry.note,
                "depth": depth,
            }
        )
        flat += _flatten(entry.children, depth + 1)
    return flat


@functools.cache
def _core_versions() -> tuple[tuple[str, str | None], ...]:
    """The versions this process runs with: read once (the code loaded never changes)."""
    return (
        ("kitaru", package_version("kitaru")),
        ("zenml", package_version("zenml")),
        ("mcp", package_version("mcp")),
        ("kitaru_mcp", __version__),
        ("python", platform.python_version()),
    )


class EnvironmentGateway(GatewayBase):
    def versions(self, packages: list[str] | tuple[str, ...] = ()) -> dict[str, str | None]:
        """kitaru, zenml, mcp, kitaru_mcp and python versions, then each package asked for."""
        found = dict(_core_versions())
        for name in packages:
            found[name] = package_version(name)
        return found

    def cleanup_preview(self, scope: str) -> CleanupPreview | None:
        """What ``kitaru clean <scope>`` would delete; None when scope needs a project and
        there is none around the working directory. Builds the plan only, deletes nothing.

        Private Kitaru API: ``kitaru._cleanup`` (``CleanScope``, ``build_cleanup_plan``,
        ``build_cleanup_preview_result``): the planning half of ``kitaru clean``,
        with no public equivalent in 0.21.
        """
        from kitaru import _cleanup

        clean_scope = _cleanup.CleanScope(scope)
        try:
            plan = _cleanup.build_cleanup_plan(clean_scope)
        except Exception as exc:
            if "No Kitaru project found" in str(exc):
                return None
            raise
        result = _cleanup.build_cleanup_preview_result(plan)
        return CleanupPreview(
            scope=str(clean_scope.value),
            entries=_flatten(result.preview_entries),
            total_bytes=int(result.total_bytes or 0),
            backup_path=plan.backup_path,
            local_server=plan.local_server_status,
            warnings=[str(w) for w in result.warnings],
        )
