"""Fail fast when the Kitaru server cannot be reached.

ZenML's REST store retries a refused connection five times with exponential
back-off (about 30 s, not configurable), so a call against a server that is
down would hang for half a minute before failing. Before a handler touches the
SDK, ``ensure_reachable`` opens one TCP connection to the configured server
(bounded by ``KITARU_MCP_CONNECT_TIMEOUT``, default 3 s) and raises
``BackendUnavailable("cannot reach <url>: ...")`` at once when that fails. The
embedded local store (SQLite) has nothing to probe.
"""

from __future__ import annotations

import contextlib
import os
import socket
from urllib.parse import urlparse

from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import BackendUnavailable, redact
from kitaru_mcp.gateway import embedded
from kitaru_mcp.gateway.embedded import URL_VARIABLES

CONNECT_TIMEOUT_S = settings.number("KITARU_MCP_CONNECT_TIMEOUT")


def server_url() -> str | None:
    """The http(s) URL of the server the SDK would talk to; None for a local store.

    From the environment, else ``config.yaml`` read directly (``embedded.configured_url``:
    a first call never waits for ZenML's import), else ZenML's global configuration."""
    url = next((os.environ[name] for name in URL_VARIABLES if os.environ.get(name)), None)
    if url is None:
        url = embedded.configured_url()
    if url is None:
        with contextlib.suppress(Exception):  # an odd configuration: let the SDK say why
            from zenml.config.global_config import GlobalConfiguration

            url = GlobalConfiguration().store_configuration.url
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip().rstrip("/")
    return None


def unreachable(url: str, reason: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"cannot reach {redact(url)}: {reason}.",
        hint="Is the Kitaru server running? Check the URL (KITARU_SERVER_URL or "
        "`kitaru login`), or call kitaru_start_local_server for a local one.",
    )


def ensure_reachable(timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise BackendUnavailable when the configured server does not accept a connection."""
    url = server_url()
    if url is None:
        return
    parsed = urlparse(url)
    host = parsed.hostname
    try:
        port = parsed.port or (443 if parsed.scheme.lower() == "https" else 80)
    except ValueError:
        raise unreachable(url, "the URL's port is not a number") from None
    if not host:
        raise unreachable(url, "the URL has no host")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except TimeoutError:
        raise unreachable(url, f"no answer within {timeout_s:g} s") from None
    except ConnectionRefusedError:
        raise unreachable(url, "connection refused (nothing listens on that port)") from None
    except OSError as exc:
        raise unreachable(url, exc.strerror or type(exc).__name__) from None


def local_store_missing() -> bool:
    """No server configured by environment, and the embedded store does not exist yet (in
    Kitaru's configuration folder, found by Kitaru's rule: ``embedded.config_dir``)."""
    has_remote = any(os.environ.get(name) for name in URL_VARIABLES)
    return not has_remote and not (embedded.config_dir() / "local_stores").exists()
