"""Two pure-ASGI gates in front of the MCP app (``--auth oauth``).

- ``OAuthGate`` (outermost but for the HTTP front): serves the protected
  resource metadata without a token; anything else needs a verified access
  token, or gets 401 with ``WWW-Authenticate: Bearer resource_metadata="…"``
  (plus ``error="invalid_token"`` and a description when a token was sent).
  A verified token becomes the SDK's ``AuthenticatedUser`` in ``scope["user"]``
  (the SDK binds each session to it) and our ``Identity`` under
  ``IDENTITY_KEY`` (read by the server into the call context).
- ``ScopeGate`` (after the body guard parsed the request): a ``tools/call``,
  ``resources/read``, ``prompts/get`` or ``completion/complete`` that needs a
  scope the token does not grant answers 403 with ``error="insufficient_scope"``
  and ``scope="…"``; nothing behind it runs. On 2026-07-28 the ``Mcp-Name``
  header names the tool before the body is read; the body is checked too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from kitaru_mcp.auth import metadata, scopes
from kitaru_mcp.auth.config import AuthConfig
from kitaru_mcp.auth.verify import (
    Identity,
    IntrospectionUnavailable,
    KeysUnavailable,
    TokenRejected,
    Verifier,
)
from kitaru_mcp.surface.http_front import MESSAGE_KEY, send_json

logger = logging.getLogger("kitaru_mcp.auth")

IDENTITY_KEY = "kitaru_mcp.identity"
UNAVAILABLE = (
    "the authorization server's signing keys could not be fetched yet, so no token can be "
    "verified; try again shortly"
)
INTROSPECTION_UNAVAILABLE = (
    "the authorization server's introspection endpoint could not be reached, so the token "
    "cannot be verified; try again shortly"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1")).strip(" \t")
    return None


class OAuthGate:
    def __init__(
        self, app: ASGIApp, config: AuthConfig, verifier: Verifier, scopes_supported: list[str]
    ) -> None:
        self.app = app
        self.config = config
        self.verifier = verifier
        self._metadata = json.dumps(metadata.document(config, scopes_supported)).encode()

    async def _refuse(self, send: Send, error: str | None, description: str) -> None:
        challenge = metadata.challenge(self.config, error, description if error else None)
        await send_json(
            send,
            401,
            metadata.error_body(error or "invalid_request", description),
            [(b"www-authenticate", challenge.encode())],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].rstrip("/") in metadata.METADATA_PATHS:
            await self._serve_metadata(scope, send)
            return
        authorization = _header(scope, b"authorization")
        if authorization is None:
            await self._refuse(send, None, "this server needs an OAuth access token")
            return
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            await self._refuse(send, "invalid_token", "send the token as Authorization: Bearer")
            return
        try:
            verified = await self.verifier.verify(token)
        except TokenRejected as refused:
            logger.debug("refused a token: %s", refused)
            await self._refuse(send, "invalid_token", str(refused))
            return
        except KeysUnavailable as unavailable:
            logger.debug("cannot verify a token: %s", unavailable)
            why = (
                INTROSPECTION_UNAVAILABLE
                if isinstance(unavailable, IntrospectionUnavailable)
                else UNAVAILABLE
            )
            await self._refuse(send, "invalid_token", why)
            return
        identity = verified.identity
        scope = {**scope, IDENTITY_KEY: identity, **_sdk_user(identity, verified, self.config)}
        await self.app(scope, receive, send)

    async def _serve_metadata(self, scope: Scope, send: Send) -> None:
        cors = [(b"access-control-allow-origin", b"*")]
        if scope["method"] == "OPTIONS":
            await send_json(
                send, 204, b"", [*cors, (b"access-control-allow-methods", b"GET, OPTIONS")]
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_json(send, 405, b'{"error": "method not allowed"}', [(b"allow", b"GET")])
            return
        await send_json(send, 200, self._metadata, [*cors, (b"cache-control", b"max-age=300")])


def _sdk_user(identity: Identity, verified: Any, config: AuthConfig) -> dict[str, Any]:
    """``scope["user"]``/``scope["auth"]`` as the SDK's bearer middleware would set them:
    the SDK binds a session to (client id, issuer, subject) and refuses it to anyone else."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken
    from starlette.authentication import AuthCredentials

    granted = sorted(identity.scopes or ())
    access = AccessToken(
        token="",  # the token itself is not kept past verification
        client_id=identity.client_id or "",
        scopes=granted,
        expires_at=verified.expires_at,
        resource=config.audience,
        subject=identity.caller,
        claims={"iss": verified.issuer},
    )
    return {"user": AuthenticatedUser(access), "auth": AuthCredentials(granted)}


Needs = Callable[[str, str], str | None]  # (method, name or uri) -> the scope it needs


class ScopeGate:
    GATED = ("tools/call", "resources/read", "prompts/get", "completion/complete")

    def __init__(self, app: ASGIApp, config: AuthConfig, needs: Needs) -> None:
        self.app = app
        self.config = config
        self.needs = needs

    def _needed(self, scope: Scope) -> tuple[str | None, str]:
        message = scope.get(MESSAGE_KEY)
        wanted: list[str] = []
        subject = ""
        header_method = _header(scope, b"mcp-method")
        header_name = _header(scope, b"mcp-name")
        if header_method in self.GATED and header_name:  # 2026-07-28: named in the headers
            wanted.append(self.needs(header_method, header_name) or scopes.READ)
            subject = header_name
        if isinstance(message, dict) and message.get("method") in self.GATED:
            method = str(message["method"])
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            name = _target(method, params or {})
            wanted.append(self.needs(method, name) or scopes.READ)
            subject = subject or name
        if not wanted:
            return None, ""
        return scopes.highest(wanted), subject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        identity = scope.get(IDENTITY_KEY)
        if scope["type"] == "http" and isinstance(identity, Identity):
            needed, subject = self._needed(scope)
            if needed is not None and not scopes.allows(identity.scopes, needed):
                description = f"{subject[:100] or 'this request'} needs the {needed} scope"
                challenge = metadata.challenge(
                    self.config, "insufficient_scope", description, needed
                )
                await send_json(
                    send,
                    403,
                    metadata.error_body("insufficient_scope", description),
                    [(b"www-authenticate", challenge.encode())],
                )
                return
        await self.app(scope, receive, send)


def _target(method: str, params: dict[str, Any]) -> str:
    if method == "resources/read":
        return str(params.get("uri", ""))
    if method == "completion/complete":
        return ""
    return str(params.get("name", ""))


def needs_for(dispatcher: Any) -> Needs:
    """What each gated request needs on this server: a tool's scope; a resource's, its tool's;
    a prompt's, the highest of the tools it needs; a completion, read."""
    from kitaru_mcp.surface import prompts, resources

    def needs(method: str, name: str) -> str | None:
        if method == "tools/call":
            stub = dispatcher.served.get(name)
            return stub.scope if stub is not None else None
        if method == "resources/read":
            for template in resources.served(dispatcher):
                if template.pattern.match(name):
                    return str(dispatcher.served[template.tool].scope)
            return scopes.READ
        if method == "prompts/get":
            prompt = prompts.served(dispatcher).get(name)
            if prompt is None:
                return scopes.READ
            return scopes.highest(dispatcher.served[tool].scope for tool in prompt.needs)
        return scopes.READ

    return needs
