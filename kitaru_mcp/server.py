"""The MCP server: serves the generated tool table over the low-level mcp 2.x Server."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from kitaru_mcp import __version__
from kitaru_mcp.errors import failure_text, to_failure
from kitaru_mcp.stubs import ToolStub

logger = logging.getLogger("kitaru_mcp")

INSTRUCTIONS = (
    "Tools to query and manage Kitaru executions (durable flows made of checkpoints, "
    "waits, replays and artifacts). Start with kitaru_executions_list; use "
    "kitaru_executions_get for details. Errors are JSON objects with a stable `code` "
    "and a `hint` on what to do next."
)


def to_mcp_tool(stub: ToolStub) -> types.Tool:
    spec = stub.spec
    hints = spec["annotations"]
    return types.Tool(
        name=spec["name"],
        title=spec["title"],
        description=spec["description"],
        input_schema=spec["inputSchema"],
        output_schema=spec["outputSchema"],
        annotations=types.ToolAnnotations(
            title=spec["title"],
            read_only_hint=hints["readOnlyHint"],
            destructive_hint=hints["destructiveHint"],
            idempotent_hint=hints["idempotentHint"],
            open_world_hint=hints["openWorldHint"],
        ),
    )


async def call_stub(stub: ToolStub, arguments: Any) -> types.CallToolResult:
    """Validate, run the handler in a worker thread, and shape the result or the error."""
    try:
        checked = stub.check_arguments(arguments)
        data = await anyio.to_thread.run_sync(stub.run, checked, abandon_on_cancel=True)
    except Exception as exc:
        failure = to_failure(exc)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=failure_text(failure))],
            is_error=True,
        )
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
        structured_content=data,
    )


def build_server(tools: dict[str, ToolStub] | None = None) -> Server[Any]:
    """A Server answering tools/list and tools/call from the generated table."""
    if tools is None:
        from kitaru_mcp.generated.tools import TOOLS as tools
    listed = [to_mcp_tool(stub) for stub in tools.values()]

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        stub = tools.get(params.name)
        if stub is None:
            raise MCPError(
                types.INVALID_PARAMS,
                f"Unknown tool {params.name!r}; call tools/list for the available tools.",
            )
        return await call_stub(stub, params.arguments)

    return Server(
        "kitaru-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
