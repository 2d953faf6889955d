"""Who is calling, as the transport tells it: one answer for the call context and the audit.

- stdio: ``local``;
- HTTP with the static bearer token: ``token``; with an OAuth access token: the
  token's subject, its client id and scopes (both from the ``Identity`` that
  ``kitaru_mcp.auth`` puts on the request's ASGI scope);
- HTTP on loopback without a token: ``local``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# kitaru_mcp.surface.http_auth.IDENTITY_KEY, by value: the surface sits above this wing (a unit
# test holds the two equal)
IDENTITY_KEY = "kitaru_mcp.identity"


@dataclass(frozen=True)
class Caller:
    caller: str = "local"
    client_id: str | None = None
    transport: str = "stdio"
    scopes: frozenset[str] | None = None


def _access_token() -> Any:
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:  # pragma: no cover - the SDK always has it
        return None
    return get_access_token()


def of_scope(scope: Any) -> Caller:
    """The caller of an HTTP request, from its ASGI scope: the ``Identity`` the OAuth gate
    or the static token check put there (``kitaru_mcp.auth``), else the SDK's auth context."""
    identity = (scope or {}).get(IDENTITY_KEY)
    if identity is not None:
        return Caller(identity.caller, identity.client_id, "http", identity.scopes)
    token = _access_token()
    if token is not None:
        name = token.subject or token.client_id
        return Caller(str(name), token.client_id, "http", frozenset(token.scopes))
    return Caller("local", None, "http", None)


def identify(ctx: Any) -> Caller:
    """The caller of the request ``ctx`` (a request context of the low-level server)."""
    request = getattr(ctx, "request", None)
    if request is None:
        return Caller()
    return of_scope(getattr(request, "scope", None))
