"""Serve the same MCP server over streamable HTTP (``kitaru-mcp --transport http``).

- Loopback (127.0.0.1) by default. Binding any other address needs a bearer
  token (``--token`` or ``KITARU_MCP_TOKEN``); without one the server refuses
  to start.
- With a token, every request must carry ``Authorization: Bearer <token>``;
  anything else gets 401 from a pure-ASGI middleware in front of the MCP app,
  so it never reaches a session or a tool. Tokens are compared in constant time.
- ``Origin`` (and ``Host``) are checked by the SDK's DNS-rebinding protection
  (``TransportSecuritySettings``): loopback origins plus every
  ``--allow-origin``; a browser page from anywhere else gets 403.

The tools, validation and results are those of the stdio server: the app wraps
the very ``Server`` that ``build_server`` returns.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from kitaru_mcp.observe import callers

logger = logging.getLogger("kitaru_mcp")

TOKEN_ENV = "KITARU_MCP_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MCP_PATH = "/mcp"
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
_LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
_WILDCARD = {"0.0.0.0", "::", ""}


class HttpConfigError(ValueError):
    """The HTTP options are unsafe or inconsistent: the server must not start."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only listens on this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HttpOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
    ) -> HttpOptions:
        """Check the options (token for a non-loopback bind, sane origins) and freeze them."""
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        if token is not None and len(token.strip()) < 16:
            raise HttpConfigError(
                "the bearer token is too short: use at least 16 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
        if not is_loopback(host) and token is None:
            raise HttpConfigError(
                f"refusing to serve HTTP on {host!r} without a bearer token: a non-loopback "
                f"address is reachable from other machines. Set {TOKEN_ENV} (or pass --token), "
                f"or bind {DEFAULT_HOST}."
            )
        origins = tuple(origin.rstrip("/") for origin in allow_origins)
        for origin in origins:
            if origin == "*" or "://" not in origin:
                raise HttpConfigError(
                    f"--allow-origin {origin!r}: give a full origin such as "
                    "https://app.example.com (or http://host:* for any port); '*' is not allowed."
                )
        return cls(host, port, token, origins, tuple(allow_hosts))

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}{MCP_PATH}"

    def transport_security(self) -> Any:
        """The SDK's Host/Origin checks: loopback, the bound host, and what was allowed."""
        from mcp.server.transport_security import TransportSecuritySettings

        hosts = list(_LOOPBACK_HOSTS)
        if self.host not in _WILDCARD and not is_loopback(self.host):
            hosts.append(f"{self.host}:*")
        hosts += [h if ":" in h else f"{h}:*" for h in self.allow_hosts]
        # A wildcard bind answers to names we cannot know; the token guards it, and
        # the Origin allowlist is then enforced by OriginGuard instead.
        check_hosts = self.host not in _WILDCARD or bool(self.allow_hosts)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=check_hosts,
            allowed_hosts=hosts,
            allowed_origins=[*_LOOPBACK_ORIGINS, *self.allow_origins],
        )


async def _reply(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]):
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BearerAuth:
    """Pure-ASGI middleware: 401 unless ``Authorization: Bearer <token>`` matches."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = token.encode("utf-8")

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    return hmac.compare_digest(credentials.strip(), self._expected)
                return False
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._authorized(scope):
            callers.mark_token(scope)  # the call context and the audit log say "token"
        elif scope["type"] == "http":
            _audit_refused(scope, "unauthorized", "token")
            await _reply(
                send,
                401,
                "missing or wrong bearer token",
                [(b"www-authenticate", b'Bearer realm="kitaru-mcp"')],
            )
            return
        await self.app(scope, receive, send)


def _audit_refused(scope: Scope, outcome: str, stage: str) -> None:
    """An audit line for a request refused here (what it asked for, from its MCP headers)."""
    from kitaru_mcp.observe import audit

    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    method = headers.get(b"mcp-method", b"").decode("latin-1") or None
    name = headers.get(b"mcp-name", b"").decode("latin-1") or None
    protocol = headers.get(b"mcp-protocol-version", b"").decode("latin-1")[:32] or None
    audit.refused(method=method, name=name, outcome=outcome, stage=stage, protocol=protocol)


class OriginGuard:
    """Pure-ASGI Origin allowlist, used only where the SDK's own check is off."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.allowed = list(allowed)

    def _allowed(self, origin: str) -> bool:
        for pattern in self.allowed:
            if origin == pattern:
                return True
            if pattern.endswith(":*") and origin.startswith(pattern[:-1]):
                return origin[len(pattern) - 1 :].isdigit()
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name.lower() == b"origin" and not self._allowed(value.decode("latin-1")):
                    await _reply(send, 403, "origin not allowed", [])
                    return
        await self.app(scope, receive, send)


class TrimHeaderValues:
    """Pure-ASGI: drop the optional whitespace around header values (RFC 9110 §5.5).

    The 2026-07-28 transport compares ``Mcp-Name``/``Mcp-Method`` with the body;
    a value sent as ``"  name  "`` must match ``name``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(name, value.strip(b" \t")) for name, value in scope.get("headers", [])]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def build_app(server: Any, options: HttpOptions) -> ASGIApp:
    """The SDK's streamable HTTP app for ``server``, behind the Origin and token checks."""
    security = options.transport_security()
    app: ASGIApp = server.streamable_http_app(
        host=options.host, transport_security=security, streamable_http_path=MCP_PATH
    )
    app = TrimHeaderValues(app)
    if not security.enable_dns_rebinding_protection:
        app = OriginGuard(app, security.allowed_origins)
    if options.token is not None:
        app = BearerAuth(app, options.token)  # outermost: nothing unauthenticated gets in
    return app


async def serve_http(server: Any, options: HttpOptions) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully; logs go to stderr.

    uvicorn's own signal handling re-raises the signal once it has stopped (the
    process then dies of it); here the signal lets in-flight calls finish or
    answer (``server.shutdown``), then uvicorn stops and the process exits 0.
    """
    import uvicorn

    class _Uvicorn(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # signals are ours (below)
            yield

    config = uvicorn.Config(
        build_app(server, options),
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    web = _Uvicorn(config)

    async def stop_on_signal() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                shutdown = getattr(server, "shutdown", None)
                if shutdown is not None:
                    await shutdown()
                web.should_exit = True
                return

    auth = "bearer token required" if options.token else "no token (loopback only)"
    print(
        f"kitaru-mcp: serving MCP over streamable HTTP at {options.url} ({auth})",
        file=sys.stderr,
    )
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_on_signal)
        await web.serve()
        tasks.cancel_scope.cancel()
