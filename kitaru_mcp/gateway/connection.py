"""The connection: status, configured server URL, Kitaru's local server."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from kitaru_mcp.core.errors import BackendUnavailable
from kitaru_mcp.gateway import backend, embedded
from kitaru_mcp.gateway.base import GatewayBase


@dataclass
class RuntimeSnapshot:
    """What Kitaru's ``build_runtime_snapshot`` reports, as plain values."""

    connection: str | None = None
    connection_target: str | None = None
    server_url: str | None = None
    server_version: str | None = None
    server_database: str | None = None
    server_deployment_type: str | None = None
    local_server_status: str | None = None
    warning: str | None = None
    log_store_warning: str | None = None
    active_user: str | None = None
    active_project: str | None = None
    active_stack: str | None = None
    config_directory: str | None = None
    zenml_global_config_path: str | None = None
    kitaru_global_config_path: str | None = None
    local_stores_path: str | None = None
    repository_root: str | None = None
    repository_config_path: str | None = None
    uses_repo_local_config: bool = False
    system_info: dict[str, Any] = field(default_factory=dict)
    local_server_registered: bool = True  # False: Kitaru found no local server record


_NO_LOCAL_SERVER = "not started"  # Kitaru's ``describe_local_server`` when there is no record


@dataclass
class LocalServer:
    """The local server registered on this machine (``running`` false when none answers)."""

    running: bool = False
    url: str | None = None


@dataclass
class LocalServerAction:
    """What starting or stopping the local server did."""

    url: str | None
    action: str = ""  # start: "started" or "connected"
    stopped: bool = False


class ConnectionGateway(GatewayBase):
    def runtime_snapshot(self) -> RuntimeSnapshot:
        """Follow the configuration (probing a server), then Kitaru's view of the runtime."""
        from kitaru import inspection

        self.sync()
        snapshot = inspection.build_runtime_snapshot()
        fields = RuntimeSnapshot.__dataclass_fields__
        values: dict[str, Any] = {name: getattr(snapshot, name, None) for name in fields}
        values["uses_repo_local_config"] = bool(values["uses_repo_local_config"])
        values["system_info"] = dict(values["system_info"] or {})
        values["local_server_registered"] = values["local_server_status"] != _NO_LOCAL_SERVER
        return RuntimeSnapshot(**values)

    def configured_server_url(self) -> str | None:
        """The http(s) server URL the SDK would use (environment first); None for a local store."""
        return backend.server_url()

    def url_variables_set(self) -> list[str]:
        """The server-URL environment variables set in this process (they pin new processes)."""
        return [name for name in embedded.URL_VARIABLES if os.environ.get(name)]

    def local_server(self) -> LocalServer:
        """The registered local server, if any.

        Private ZenML API: ``zenml.utils.server_utils.get_local_server`` (the
        only way to read the local server's deployment record); missing server
        packages or no record mean no server.
        """
        self.sync(probe=False)
        try:
            from zenml.utils.server_utils import get_local_server

            server: Any = get_local_server()
        except Exception:  # no server packages, or no deployment record
            return LocalServer()
        if server is None:
            return LocalServer()
        status = getattr(server, "status", None)
        config = getattr(server, "config", None)
        url = getattr(status, "url", None) or getattr(config, "url", None)
        running = getattr(server, "is_running", False)
        running = bool(running() if callable(running) else running) and bool(url)
        return LocalServer(running=running, url=str(url) if url else None)

    def local_server_missing_dependency(self) -> str | None:
        """None when the ZenML server packages are installed; else the import failure's kind.

        Private ZenML API: ``DaemonServerProvider.check_local_server_dependencies``
        (the check ``kitaru login --local`` runs before starting a server).
        """
        try:
            from zenml.zen_server.deploy.daemon.daemon_provider import DaemonServerProvider

            DaemonServerProvider.check_local_server_dependencies()
        except (ImportError, RuntimeError) as exc:
            return type(exc).__name__
        return None

    def port_free(self, port: int) -> bool:
        """Whether nothing listens on 127.0.0.1:``port``."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    def start_local_server(self, port: int | None, timeout_s: int) -> LocalServerAction:
        """Start Kitaru's local server or connect to the running one; BackendUnavailable if not.

        Private Kitaru API: ``kitaru._local_server.start_or_connect_local_server``
        (what ``kitaru login --local`` does; no public equivalent in 0.21).
        """
        from kitaru._local_server import start_or_connect_local_server
        from kitaru.errors import KitaruBackendError

        self.sync(probe=False)
        try:
            result = start_or_connect_local_server(port=port, timeout=timeout_s)
        except KitaruBackendError as exc:
            raise BackendUnavailable(
                str(exc),
                hint="The server log named above says why; retry with a larger timeout_s "
                "or another port.",
            ) from exc
        return LocalServerAction(url=str(result.url), action=str(result.action))

    def stop_local_server(self) -> LocalServerAction:
        """Stop the registered local server, if any (works when it no longer answers).

        Private Kitaru API: ``kitaru._local_server.stop_registered_local_server``
        (what ``kitaru logout`` does for a local server).
        """
        from kitaru._local_server import stop_registered_local_server
        from kitaru.errors import KitaruBackendError

        self.sync(probe=False)
        try:
            result = stop_registered_local_server()
        except KitaruBackendError as exc:
            raise BackendUnavailable(
                str(exc), hint="Try again; `kitaru logout` from a terminal does the same."
            ) from exc
        url = str(result.url) if result.url else None
        return LocalServerAction(url=url, action="stopped", stopped=bool(result.stopped))
