"""The execution view: an MCP App (extension ``io.modelcontextprotocol/ui``).

Hosts that render MCP Apps (Claude, VS Code Copilot, ChatGPT, Goose, ...) show
the tools whose contract carries ``_meta.ui.resourceUri`` (declared as ``ui:``
in ``schemas/tools/*.yaml``) through the ``ui://`` resource served here: one
self-contained HTML document, built from ``app/`` and committed as
``kitaru_mcp/surface/app/execution.html``, so running the server needs no Node.

Everything stays additive: tool results are unchanged, hosts without Apps
ignore the tool ``_meta`` and never read the resource. This module must stay
cheap to import (no Kitaru, no ``mcp.server.apps``, which pulls in the
high-level server): it is on the path to ``tools/list``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources as importlib_resources
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import MCPError

# The same values as mcp.server.apps.EXTENSION_ID / APP_MIME_TYPE (a test pins them).
EXTENSION_ID = "io.modelcontextprotocol/ui"
APP_MIME_TYPE = "text/html;profile=mcp-app"
EXECUTION_URI = "ui://kitaru/execution"
RESOURCE_NOT_FOUND = -32002

# The view fetches nothing: no connect, resource, frame or base-uri domains. A host
# applies its most restrictive CSP (inline script and style only) to the document.
UI_META: dict[str, Any] = {
    "ui": {
        "csp": {"connectDomains": [], "resourceDomains": []},
        "prefersBorder": True,
    }
}


@cache
def execution_html() -> str:
    """The built view (kitaru_mcp/surface/app/execution.html), read once."""
    path = importlib_resources.files("kitaru_mcp.surface") / "app" / "execution.html"
    return path.read_text(encoding="utf-8")


def tool_meta(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The ``_meta`` a listed tool carries: ``{"ui": {"resourceUri": ...}}`` or nothing."""
    meta = spec.get("_meta")
    return dict(meta) if meta else None


def listing() -> list[types.Resource]:
    """What resources/list returns: the view."""
    return [
        types.Resource(
            uri=EXECUTION_URI,
            name="execution_view",
            title="Kitaru execution view",
            description=(
                "Interactive view of one execution (status, checkpoint timeline, pending "
                "wait form, failure, artifacts, logs) for hosts that render MCP Apps."
            ),
            mime_type=APP_MIME_TYPE,
            _meta=UI_META,
        )
    ]


def serves(uri: str) -> bool:
    """Whether resources/read of ``uri`` is this module's to answer."""
    return uri.startswith("ui://")


def read(uri: str) -> types.ReadResourceResult:
    """resources/read of a ``ui://`` URI."""
    if uri != EXECUTION_URI:
        raise MCPError(RESOURCE_NOT_FOUND, f"No resource at {uri!r}; the view is {EXECUTION_URI}.")
    return types.ReadResourceResult(
        contents=[
            types.TextResourceContents(
                uri=uri, mime_type=APP_MIME_TYPE, text=execution_html(), _meta=UI_META
            )
        ]
    )


def advertise(server: Any) -> None:
    """Declare the extension in the server's capabilities (``capabilities.extensions``)."""
    server.extensions[EXTENSION_ID] = {}
