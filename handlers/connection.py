"""Connection tools: status."""

from __future__ import annotations

from importlib import metadata
from urllib.parse import urlparse

from kitaru_mcp.generated import models

from kitaru_mcp import __version__
from kitaru_mcp.errors import redact, to_failure

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _kind(server_url: str | None) -> str:
    if not server_url:
        return "local_store"
    return "local_server" if urlparse(server_url).hostname in _LOOPBACK else "remote"


def status(params: models.KitaruStatusInput) -> models.KitaruStatusOutput:
    """What we are connected to and whether it answers; never a secret value."""
    from kitaru import inspection

    versions = {
        "kitaru": _version("kitaru"),
        "zenml": _version("zenml"),
        "mcp": _version("mcp"),
        "kitaru_mcp": __version__,
    }
    try:
        snapshot = inspection.build_runtime_snapshot()
    except Exception as exc:
        failure = to_failure(exc)
        return models.KitaruStatusOutput.model_validate(
            {
                "connection": {
                    "kind": "remote",
                    "url": None,
                    "reachable": False,
                    "error": redact(failure.message),
                },
                "versions": versions,
            }
        )
    server_url = snapshot.server_url
    target = server_url or snapshot.connection_target
    return models.KitaruStatusOutput.model_validate(
        {
            "connection": {
                "kind": _kind(server_url),
                "url": redact(target) if target else None,
                "reachable": snapshot.warning is None or snapshot.server_version is not None,
                "error": redact(snapshot.warning) if snapshot.warning else None,
            },
            "user": snapshot.active_user,
            "project": snapshot.active_project,
            "stack": snapshot.active_stack,
            "config_dir": snapshot.config_directory,
            "local_server": snapshot.local_server_status,
            "versions": versions,
        }
    )
