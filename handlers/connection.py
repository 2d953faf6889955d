"""Connection tools: status, and starting/stopping Kitaru's local server."""

from __future__ import annotations

import os
import socket
from importlib import metadata
from typing import Any
from urllib.parse import urlparse

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.sdk import sync_connection

from kitaru_mcp import __version__, backend
from kitaru_mcp.errors import BackendUnavailable, Conflict, Unsupported, redact, to_failure

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
        sync_connection()  # a server that is down is reported here, not raised
        snapshot = inspection.build_runtime_snapshot()
    except Exception as exc:
        failure = to_failure(exc)
        url = backend.server_url()
        return models.KitaruStatusOutput.model_validate(
            {
                "connection": {
                    "kind": _kind(url) if url else "remote",
                    "url": redact(url) if url else None,
                    "reachable": False,
                    "error": redact(failure.message),
                },
                "versions": versions,
            }
        )
    server_running, server_url_registered = registered_local_server()
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
            "local_server_running": server_running,
            "local_server_url": redact(server_url_registered) if server_url_registered else None,
            "versions": versions,
        }
    )


# --- Kitaru's local server ---------------------------------------------------

_INSTALL_HINT = (
    'Install the extra with `pip install "kitaru-mcp[local]"` (it pulls in Kitaru\'s '
    "[local] extra, i.e. the ZenML server packages), then restart kitaru-mcp."
)
_ENV_CONNECTION = ("KITARU_SERVER_URL", "ZENML_STORE_URL")


def registered_local_server() -> tuple[bool, str | None]:
    """(running, url) of the local server registered on this machine; (False, None) if none."""
    try:
        from zenml.utils.server_utils import get_local_server

        server: Any = get_local_server()
    except Exception:  # no server packages, or no deployment record
        return False, None
    if server is None:
        return False, None
    status = getattr(server, "status", None)
    config = getattr(server, "config", None)
    url = getattr(status, "url", None) or getattr(config, "url", None)
    running = getattr(server, "is_running", False)
    running = bool(running() if callable(running) else running) and bool(url)
    return running, str(url) if url else None


def _require_local_extra() -> None:
    try:
        from zenml.zen_server.deploy.daemon.daemon_provider import DaemonServerProvider

        DaemonServerProvider.check_local_server_dependencies()
    except (ImportError, RuntimeError) as exc:
        raise Unsupported(
            "Kitaru's local server needs the ZenML server packages, which are not "
            f"installed where kitaru-mcp runs ({type(exc).__name__}).",
            hint=_INSTALL_HINT,
        ) from exc


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _env_note() -> str:
    fixed = [name for name in _ENV_CONNECTION if os.environ.get(name)]
    if not fixed:
        return ""
    return (
        f" Note: {', '.join(fixed)} is set in kitaru-mcp's environment; new processes "
        "started with it will still use that server."
    )


def start_local_server(
    params: models.KitaruStartLocalServerInput,
) -> models.KitaruStartLocalServerOutput:
    """Start Kitaru's local server (or reuse the running one) and connect to it."""
    sync_connection(probe=False)  # a registered server that died is started again
    _require_local_extra()
    from kitaru._local_server import start_or_connect_local_server
    from kitaru.errors import KitaruBackendError

    running, url = registered_local_server()
    if running and url and params.port is not None and urlparse(url).port != params.port:
        raise Conflict(
            f"A local Kitaru server already runs at {url}, not on port {params.port}.",
            field="port",
            hint="Call kitaru_start_local_server without `port` to use it, or stop it first "
            "with kitaru_stop_local_server.",
        )
    if not running and params.port is not None and not _port_free(params.port):
        raise Conflict(
            f"Port {params.port} on 127.0.0.1 is already in use by another program.",
            field="port",
            hint="Choose another port, or omit `port` to use Kitaru's default (8383).",
        )
    try:
        result = start_or_connect_local_server(port=params.port, timeout=params.timeout_s)
    except KitaruBackendError as exc:
        raise BackendUnavailable(
            str(exc),
            hint="The server log named above says why; retry with a larger timeout_s "
            "or another port.",
        ) from exc
    already = result.action == "connected"
    message = (
        f"A local Kitaru server was already running at {result.url}; connected to it."
        if already
        else f"Started Kitaru's local server at {result.url} and connected to it."
    )
    return models.KitaruStartLocalServerOutput.model_validate(
        {
            "url": result.url,
            "action": result.action,
            "already_running": already,
            "message": message + " Tools now use it (dashboard at the same URL)." + _env_note(),
        }
    )


def stop_local_server(
    params: models.KitaruStopLocalServerInput,
) -> models.KitaruStopLocalServerOutput:
    """Stop the registered local server, if any; tools fall back to the local store."""
    from kitaru._local_server import stop_registered_local_server
    from kitaru.errors import KitaruBackendError

    sync_connection(probe=False)  # stopping works even when the server no longer answers
    try:
        result = stop_registered_local_server()
    except KitaruBackendError as exc:
        raise BackendUnavailable(
            str(exc), hint="Try again; `kitaru logout` from a terminal does the same."
        ) from exc
    message = (
        f"Stopped the local Kitaru server at {result.url}; tools use the local store again."
        if result.stopped
        else "No local Kitaru server is registered on this machine; nothing to stop."
    )
    return models.KitaruStopLocalServerOutput.model_validate(
        {"stopped": result.stopped, "url": result.url, "message": message + _env_note()}
    )
