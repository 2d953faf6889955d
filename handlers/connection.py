"""Connection tools: status, and starting/stopping Kitaru's local server."""

from __future__ import annotations

from urllib.parse import urlparse

from kitaru_mcp.generated import models

from kitaru_mcp.core.errors import Conflict, Unsupported, redact, to_failure
from kitaru_mcp.core.hosts import is_loopback
from kitaru_mcp.gateway.connection import LocalServer
from kitaru_mcp.gateway.ports import GatewayPort

_STATUS_VERSIONS = ("kitaru", "zenml", "mcp", "kitaru_mcp")
_DEFAULT_TIMEOUT_S = 60  # the schema's default, for an explicit null
_INSTALL_HINT = (
    'Install the extra with `pip install "kitaru-mcp[local]"` (it pulls in Kitaru\'s '
    "[local] extra, i.e. the ZenML server packages), then restart kitaru-mcp."
)


def _kind(server_url: str | None) -> str:
    if not server_url:
        return "local_store"
    host = urlparse(server_url).hostname
    return "local_server" if is_loopback(host) or host == "0.0.0.0" else "remote"


def status(gw: GatewayPort, params: models.KitaruStatusInput) -> models.KitaruStatusOutput:
    """What we are connected to and whether it answers; never a secret value."""
    every = gw.versions()
    versions = {name: every.get(name) for name in _STATUS_VERSIONS}
    try:
        snapshot = gw.runtime_snapshot()  # a server that is down is reported, not raised
    except Exception as exc:
        failure = to_failure(exc)
        url = gw.configured_server_url()
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
    # no record, no server: skip reading the deployment record a second time
    local = gw.local_server() if snapshot.local_server_registered else LocalServer()
    target = snapshot.server_url or snapshot.connection_target
    return models.KitaruStatusOutput.model_validate(
        {
            "connection": {
                "kind": _kind(snapshot.server_url),
                "url": redact(target) if target else None,
                "reachable": snapshot.warning is None or snapshot.server_version is not None,
                "error": redact(snapshot.warning) if snapshot.warning else None,
            },
            "user": snapshot.active_user,
            "project": snapshot.active_project,
            "stack": snapshot.active_stack,
            "config_dir": snapshot.config_directory,
            "local_server": snapshot.local_server_status,
            "local_server_running": local.running,
            "local_server_url": redact(local.url) if local.url else None,
            "versions": versions,
        }
    )


# --- Kitaru's local server ---------------------------------------------------


def _env_note(gw: GatewayPort) -> str:
    fixed = gw.url_variables_set()
    if not fixed:
        return ""
    return (
        f" Note: {', '.join(fixed)} is set in kitaru-mcp's environment; new processes "
        "started with it will still use that server."
    )


def start_local_server(
    gw: GatewayPort, params: models.KitaruStartLocalServerInput
) -> models.KitaruStartLocalServerOutput:
    """Start Kitaru's local server (or reuse the running one) and connect to it."""
    missing = gw.local_server_missing_dependency()
    if missing is not None:
        raise Unsupported(
            "Kitaru's local server needs the ZenML server packages, which are not "
            f"installed where kitaru-mcp runs ({missing}).",
            hint=_INSTALL_HINT,
        )
    local = gw.local_server()  # a registered server that died is started again
    moved = local.url and params.port is not None and urlparse(local.url).port != params.port
    if local.running and moved:
        raise Conflict(
            f"A local Kitaru server already runs at {local.url}, not on port {params.port}.",
            field="port",
            hint="Call kitaru_start_local_server without `port` to use it, or stop it "
            "first with kitaru_stop_local_server.",
        )
    if not local.running and params.port is not None and not gw.port_free(params.port):
        raise Conflict(
            f"Port {params.port} on 127.0.0.1 is already in use by another program.",
            field="port",
            hint="Choose another port, or omit `port` to use Kitaru's default (8383).",
        )
    result = gw.start_local_server(params.port, params.timeout_s or _DEFAULT_TIMEOUT_S)
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
            "message": message + " Tools now use it (dashboard at the same URL)." + _env_note(gw),
        }
    )


def stop_local_server(
    gw: GatewayPort, params: models.KitaruStopLocalServerInput
) -> models.KitaruStopLocalServerOutput:
    """Stop the registered local server, if any; tools fall back to the local store."""
    result = gw.stop_local_server()
    message = (
        f"Stopped the local Kitaru server at {result.url}; tools use the local store again."
        if result.stopped
        else "No local Kitaru server is registered on this machine; nothing to stop."
    )
    return models.KitaruStopLocalServerOutput.model_validate(
        {"stopped": result.stopped, "url": result.url, "message": message + _env_note(gw)}
    )
