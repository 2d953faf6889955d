"""Protected resource metadata (RFC 9728) and the ``WWW-Authenticate`` challenges.

The metadata is served at ``/.well-known/oauth-protected-resource`` and at
``/.well-known/oauth-protected-resource/mcp`` (RFC 9728 §3.1 puts the
resource's path after the well-known name), without a token.
"""

from __future__ import annotations

import json
from typing import Any

from kitaru_mcp.auth.config import MCP_PATH, METADATA_PATH, AuthConfig

METADATA_PATHS = (METADATA_PATH, METADATA_PATH + MCP_PATH)


def document(config: AuthConfig, scopes_supported: list[str]) -> dict[str, Any]:
    return {
        "resource": config.resource,
        "authorization_servers": [config.issuer],
        "scopes_supported": scopes_supported,
        "bearer_methods_supported": ["header"],
        "resource_name": "kitaru-mcp",
    }


def _quoted(value: str) -> str:
    """A quoted-string for an auth-param: no quotes, backslashes or control characters."""
    clean = "".join(c for c in value if c.isprintable() and c not in '"\\')
    return f'"{clean}"'


def challenge(
    config: AuthConfig,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
) -> str:
    """``Bearer resource_metadata="…"[, error=…][, error_description=…][, scope=…]``."""
    parts = [f"resource_metadata={_quoted(config.metadata_url)}"]
    if error:
        parts.append(f"error={_quoted(error)}")
    if description:
        parts.append(f"error_description={_quoted(description)}")
    if scope:
        parts.append(f"scope={_quoted(scope)}")
    return "Bearer " + ", ".join(parts)


def error_body(error: str, description: str) -> bytes:
    return json.dumps({"error": error, "error_description": description}).encode()
