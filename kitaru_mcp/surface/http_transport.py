"""Serve the same MCP server over streamable HTTP (``kitaru-mcp --transport http``).

- Loopback (127.0.0.1) by default. Binding any other address needs a bearer
  token (``--token`` or ``KITARU_MCP_TOKEN``) or ``--auth oauth``; without
  one the server refuses to start.
- With a token, every request must carry ``Authorization: Bearer <token>``;
  anything else gets 401 from a pure-ASGI middleware in front of the MCP app,
  so it never reaches a session or a tool. Tokens are compared in constant time.
- ``Origin`` (and ``Host``) are checked by the SDK's DNS-rebinding protection
  (``TransportSecuritySettings``): loopback origins plus every
  ``--allow-origin``; a browser page from anywhere else gets 403.
- ``--auth oauth`` instead makes the server an OAuth 2.1 resource server
  (``kitaru_mcp.auth``): access tokens checked against the issuer's keys,
  scopes deciding which tools each caller sees and may call.
- In front of it all, ``kitaru_mcp.surface.http_front``: a header-read timeout and a
  connection cap, and clean JSON-RPC errors for bodies that are not one message.

The tools, validation and results are those of the stdio server: the app wraps
the very ``Server`` that ``build_server`` returns.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from kitaru_mcp.auth.config import AuthConfig, AuthConfigError
from kitaru_mcp.auth.verify import Identity
from kitaru_mcp.core import early_stop
from kitaru_mcp.core.hosts import is_loopback
from kitaru_mcp.surface import http_front

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


class ListenError(OSError):
    """The address cannot be bound (in use, not ours, not known): nothing started."""


@dataclass(frozen=True)
class HttpOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = field(default=())
    auth: AuthConfig | None = None  # --auth oauth
    header_timeout_s: float = http_front.DEFAULT_HEADER_TIMEOUT_S
    max_connections: int = http_front.DEFAULT_MAX_CONNECTIONS
    stateless: bool = False  # --stateless: no Mcp-Session-Id, every request self-contained

    @classmethod
    def build(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        *,
        oauth: dict[str, Any] | None = None,
        header_timeout_s: float = http_front.DEFAULT_HEADER_TIMEOUT_S,
        max_connections: int = http_front.DEFAULT_MAX_CONNECTIONS,
    ) -> HttpOptions:
        """Check the options (token or OAuth for a non-loopback bind, sane origins, the
        front's limits) and freeze them. ``oauth``: the ``AuthConfig.build`` arguments."""
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        if header_timeout_s <= 0 or max_connections < 1:
            raise HttpConfigError(
                "--header-timeout must be above 0 s and --max-connections at least 1."
            )
        auth = None
        if oauth is not None:
            if token is not None:
                raise HttpConfigError(
                    f"--auth oauth and a static token (--token or {TOKEN_ENV}) are mutually "
                    "exclusive: use one or the other."
                )
            shown = f"[{host}]" if ":" in host else host
            bound = None if host in _WILDCARD else f"http://{shown}:{port}"
            try:
                auth = AuthConfig.build(bound_url=bound, **oauth)
            except AuthConfigError as exc:
                raise HttpConfigError(str(exc)) from None
            return cls(
                host,
                port,
                None,
                _origins(allow_origins),
                tuple(allow_hosts),
                auth,
                header_timeout_s,
                max_connections,
            )
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
        origins = _origins(allow_origins)
        return cls(
            host,
            port,
            token,
            origins,
            tuple(allow_hosts),
            None,
            header_timeout_s,
            max_connections,
        )

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


def _origins(allow_origins: Sequence[str]) -> tuple[str, ...]:
    origins = tuple(origin.rstrip("/") for origin in allow_origins)
    for origin in origins:
        if origin == "*" or "://" not in origin:
            raise HttpConfigError(
                f"--allow-origin {origin!r}: give a full origin such as "
                "https://app.example.com (or http://host:* for any port); '*' is not allowed."
            )
    return origins


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
        if scope["type"] == "http" and not self._authorized(scope):
            await _reply(
                send,
                401,
                "missing or wrong bearer token",
                [(b"www-authenticate", b'Bearer realm="kitaru-mcp"')],
            )
            return
        await self.app(scope, receive, send)


class AuditRefusals:
    """Pure-ASGI: an audit line for each request the layer inside answers with ``status``
    (401 from a token check, 403 from the scope gate), so it never reached the server.
    Installed only when an audit log is (``kitaru_mcp.observe.audit``)."""

    def __init__(self, app: ASGIApp, status: int, outcome: str, stage: str) -> None:
        self.app = app
        self.status = status
        self.outcome = outcome
        self.stage = stage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start" and message.get("status") == self.status:
                _audit_refused(scope, self.outcome, self.stage)
            await send(message)

        await self.app(scope, receive, watched)


def _audit_refused(scope: Scope, outcome: str, stage: str) -> None:
    """An audit line for a request refused here (what it asked for, from its MCP headers)."""
    from kitaru_mcp.observe import audit
    from kitaru_mcp.surface.http_auth import IDENTITY_KEY

    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    method = headers.get(b"mcp-method", b"").decode("latin-1") or None
    name = headers.get(b"mcp-name", b"").decode("latin-1") or None
    protocol = headers.get(b"mcp-protocol-version", b"").decode("latin-1")[:32] or None
    identity = scope.get(IDENTITY_KEY)  # known past the token check (a scope refusal)
    audit.refused(
        method=method,
        name=name,
        outcome=outcome,
        stage=stage,
        caller=identity.caller if identity is not None else "anonymous",
        client_id=identity.client_id if identity is not None else None,
        protocol=protocol,
    )


def _audited(app: ASGIApp, status: int, outcome: str, stage: str) -> ASGIApp:
    from kitaru_mcp.observe import audit

    return AuditRefusals(app, status, outcome, stage) if audit.installed() else app


class StaticCaller:
    """Pure-ASGI: the static token's callers are all "token" (for the call context)."""

    IDENTITY = Identity("token")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from kitaru_mcp.surface.http_auth import IDENTITY_KEY

        await self.app({**scope, IDENTITY_KEY: self.IDENTITY}, receive, send)


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


def build_app(server: Any, options: HttpOptions, verifier: Any = None) -> ASGIApp:
    """The SDK's streamable HTTP app for ``server``, behind the Origin and token checks
    (``verifier``: the OAuth token verifier, with ``--auth oauth``), the body guard and,
    outermost, the OAuth gate or the static token check."""
    security = options.transport_security()
    app: ASGIApp = server.streamable_http_app(
        host=options.host,
        transport_security=security,
        streamable_http_path=MCP_PATH,
        stateless_http=options.stateless,
    )
    if not security.enable_dns_rebinding_protection:
        app = OriginGuard(app, security.allowed_origins)
    if options.auth is not None:
        from kitaru_mcp.auth import scopes
        from kitaru_mcp.surface import http_auth as middleware

        if verifier is None:
            from kitaru_mcp.auth.verify import Verifier

            verifier = Verifier(options.auth)
        dispatcher = server.dispatcher
        app = middleware.ScopeGate(app, options.auth, middleware.needs_for(dispatcher))
        app = _audited(app, 403, "forbidden", "scope")
        app = http_front.BodyGuard(app)
        supported = scopes.supported(dispatcher.options.mode)
        app = middleware.OAuthGate(app, options.auth, verifier, supported)
        app = _audited(app, 401, "unauthorized", "token")
    elif options.token is not None:
        app = http_front.BodyGuard(StaticCaller(app))
        app = BearerAuth(app, options.token)  # nothing unauthenticated gets in
        app = _audited(app, 401, "unauthorized", "token")
    else:
        app = http_front.BodyGuard(app)
    return TrimHeaderValues(app)


def _tcp_socket(family: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket to bind. IPPROTO_TCP is named, not left 0: asyncio turns Nagle off
    (TCP_NODELAY) only on the connections of a socket that says it is TCP; without it,
    each request after the first on a keep-alive connection waited some 40 ms for the
    client's delayed ACK."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def listen_beside(reserved: socket.socket) -> socket.socket:
    """A worker's own listening socket on the port ``reserved`` holds (``SO_REUSEPORT``);
    ``reserved`` itself when it already listens (then every worker shares it)."""
    if reserved.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return reserved
    sock = _tcp_socket(reserved.family, reuse_port=True)
    sock.bind(reserved.getsockname())
    sock.listen(2048)
    return sock


def listen(options: HttpOptions, *, reserve_only: bool = False) -> socket.socket:
    """The listening socket for ``options`` (bound once, by the process that supervises
    any workers); ListenError with a message a person can act on when the port is taken.

    ``reserve_only``: bound with ``SO_REUSEPORT`` but not listening: the port is ours,
    and each worker listens on a socket of its own beside it (``listen_beside``).
    """
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = _tcp_socket(family, reuse_port=reserve_only)
    try:
        sock.bind((options.host, options.port))
        if not reserve_only:
            sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ListenError(
            f"cannot listen on {options.host}:{options.port}: {reason}. "
            "Is another server on that port? Choose another with --port."
        ) from None
    sock.set_inheritable(True)
    return sock


async def serve_http(
    server: Any, options: HttpOptions, sock: socket.socket | None = None, *, banner: bool = True
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully; logs go to stderr.
    ``sock``: an already listening socket (``listen``; shared by ``--workers``);
    ``banner``: say where it serves (a worker leaves that to its supervisor).

    uvicorn's own signal handling re-raises the signal once it has stopped (the
    process then dies of it); here the signal lets in-flight calls finish or
    answer (``server.shutdown``), then uvicorn stops and the process exits 0.
    """
    import uvicorn

    class _Uvicorn(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # signals are ours (below)
            yield

    verifier = None
    if options.auth is not None:
        from kitaru_mcp.auth.verify import Verifier

        verifier = Verifier(options.auth)
    config = uvicorn.Config(
        build_app(server, options, verifier),
        http=http_front.front_protocol(options.header_timeout_s, options.max_connections),
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
            if not early_stop.asked():  # a signal that came while the loop started counts too
                await signals.__anext__()
        shutdown = getattr(server, "shutdown", None)
        if shutdown is not None:
            await shutdown()
        web.should_exit = True

    if options.auth is not None:
        auth = f"OAuth access tokens of {options.auth.issuer} for {options.auth.audience}"
    elif options.token:
        auth = "bearer token required"
    else:
        auth = "no token (loopback only)"
    if banner:
        mode = ", stateless" if options.stateless else ""
        print(
            f"kitaru-mcp: serving MCP over streamable HTTP at {options.url} ({auth}{mode})",
            file=sys.stderr,
        )
    auth_jwks = options.auth.jwks_url if options.auth is not None else None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_on_signal)
        jwts = verifier is not None and (verifier.introspector is None or bool(auth_jwks))
        if verifier is not None and jwts:
            tasks.start_soon(verifier.keys.keep_trying)  # the JWKS, in the background
        await web.serve(sockets=[sock] if sock is not None else None)
        tasks.cancel_scope.cancel()
