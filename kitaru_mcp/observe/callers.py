"""Who is calling, as the transport tells it: one answer for the call context and the audit.

- stdio: ``local``;
- HTTP with the static bearer token: ``token`` (``BearerAuth`` marks the
  request's ASGI scope with ``mark_token``);
- HTTP with an OAuth access token (the SDK's auth middleware): the token's
  subject (or its client id when it has none), with its client id and scopes;
- HTTP on loopback without a token: ``local``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATE_KEY = "kitaru_mcp.caller"  # in the ASGI scope's "state"


@dataclass(frozen=True)
class Caller:
    caller: str = "local"
    client_id: str | None = None
    transport: str = "stdio"
    scopes: frozenset[str] | None = None


def mark_token(scope: Any, caller: str = "token") -> None:
    """Record on an ASGI scope that the request passed the static token check."""
    scope.setdefault("state", {})[STATE_KEY] = caller


def _access_token() -> Any:
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:  # pragma: no cover - the SDK always has it
        return None
    return get_access_token()


def of_scope(scope: Any) -> Caller:
    """The caller of an HTTP request, from its ASGI scope (and the SDK's auth context)."""
    token = _access_token()
    if token is not None:
        name = token.subject or token.client_id
        return Caller(str(name), token.client_id, "http", frozenset(token.scopes))
    state = (scope or {}).get("state") or {}
    return Caller(str(state.get(STATE_KEY) or "local"), None, "http", None)


def identify(ctx: Any) -> Caller:
    """The caller of the request ``ctx`` (a request context of the low-level server)."""
    request = getattr(ctx, "request", None)
    if request is None:
        return Caller()
    return of_scope(getattr(request, "scope", None))
