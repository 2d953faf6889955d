"""MCP resources: an execution (and its logs) as a document a client can attach.

Each resource template is served by an existing tool through the one dispatch
path, so a resource reads exactly what the tool returns (same validation,
handler, time limit and JSON shape), and only while the server serves that tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import MCPError

from kitaru_mcp.calls import layout
from kitaru_mcp.core.errors import ToolFailure, failure_text
from kitaru_mcp.surface.dispatch import Dispatcher

RESOURCE_NOT_FOUND = -32002  # an unknown resource, up to 2025-11-25
RESOURCE_NOT_FOUND_MODERN = types.INVALID_PARAMS  # from 2026-07-28 (SEP-2164)


def _not_found(uri: str, message: str, modern: bool) -> MCPError:
    """An unknown resource: the revision's error code, the URI in the error data."""
    code = RESOURCE_NOT_FOUND_MODERN if modern else RESOURCE_NOT_FOUND
    return MCPError(code, message, {"uri": uri})


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    uri_template: str
    pattern: re.Pattern[str]
    tool: str
    description: str
    extra: tuple[tuple[str, Any], ...] = ()

    def listing(self) -> types.ResourceTemplate:
        return types.ResourceTemplate(
            name=self.name,
            title=self.title,
            uri_template=self.uri_template,
            description=self.description,
            mime_type="application/json",
        )


_ID = r"(?P<exec_id>[0-9a-fA-F-]{8,64})"
TEMPLATES = (
    Template(
        name="execution",
        title="Kitaru execution",
        uri_template="kitaru://executions/{exec_id}",
        pattern=re.compile(rf"^kitaru://executions/{_ID}$"),
        tool="kitaru_executions_get",
        description="One execution as JSON, the same shape kitaru_executions_get returns.",
    ),
    Template(
        name="execution_logs",
        title="Kitaru execution logs",
        uri_template="kitaru://executions/{exec_id}/logs",
        pattern=re.compile(rf"^kitaru://executions/{_ID}/logs$"),
        tool="get_execution_logs",
        description="The newest 500 log entries of one execution, as get_execution_logs returns.",
        extra=(("tail", 500),),
    ),
)


def served(dispatcher: Dispatcher) -> list[Template]:
    """The templates whose tool this server serves (its mode and toolsets decide)."""
    return [t for t in TEMPLATES if t.tool in dispatcher.served]


async def read(
    uri: str, dispatcher: Dispatcher, modern: bool = False, call: Any = None
) -> types.ReadResourceResult:
    """Resolve ``uri`` against the templates and read it through the tool's dispatch path
    (``modern``: the request came in on 2026-07-28, which has its own not-found code;
    ``call``: the request's CallContext, with who is calling)."""
    for template in served(dispatcher):
        match = template.pattern.match(uri)
        if match is None:
            continue
        arguments = {**match.groupdict(), **dict(template.extra)}
        try:
            data = await dispatcher.run(template.tool, arguments, call)
        except ToolFailure as failure:
            if failure.code == "not_found":
                raise _not_found(uri, failure_text(failure), modern) from None
            raise MCPError(types.INTERNAL_ERROR, failure_text(failure)) from None
        text = layout.text(data)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )
    known = ", ".join(t.uri_template for t in served(dispatcher)) or "none served"
    raise _not_found(uri, f"No resource at {uri!r}; templates: {known}.", modern)
