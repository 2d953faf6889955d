"""The MCP server: serves the generated tool table over the low-level mcp 2.x Server."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from kitaru_mcp import __version__, prompts, reaper, resources
from kitaru_mcp.context import CallContext, activate
from kitaru_mcp.errors import Timeout, failure_text, to_failure
from kitaru_mcp.stubs import ToolStub

logger = logging.getLogger("kitaru_mcp")

INSTRUCTIONS = (
    "Tools to query and manage Kitaru executions (durable flows made of checkpoints, "
    "waits, replays and artifacts). Start with kitaru_executions_list; use "
    "kitaru_executions_get for details. Errors are JSON objects with a stable `code` "
    "and a `hint` on what to do next."
)
MODES = ("read-only", "standard", "destructive")
DEFAULT_CALL_TIMEOUT_S = float(os.environ.get("KITARU_MCP_CALL_TIMEOUT", "120"))
# Tools whose handlers start runner processes: a server serving any of them keeps a template.
STARTS_RUNNERS = frozenset(
    {
        "kitaru_executions_run",
        "kitaru_executions_replay",
        "kitaru_executions_retry",
        "kitaru_executions_resume",
        "kitaru_executions_input",
        "kitaru_executions_abort_wait",
        "kitaru_executions_ask_user",
    }
)


@dataclass(frozen=True)
class ServeOptions:
    """Which tools are served, and how long one call may take."""

    mode: str = "standard"
    toolsets: frozenset[str] | None = None
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S

    def serves(self, stub: ToolStub) -> bool:
        hints = stub.spec["annotations"]
        if self.toolsets is not None and stub.spec["group"] not in self.toolsets:
            return False
        if self.mode == "read-only":
            return bool(hints["readOnlyHint"])
        if self.mode == "standard":
            return not hints["destructiveHint"]
        return True


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


def _call_context(ctx: Any) -> CallContext:
    """Bridge a request context to the worker thread: progress and elicitation."""
    if ctx is None:
        return CallContext()
    session = ctx.session

    def report(done: float, total: float | None, message: str | None) -> None:
        anyio.from_thread.run(session.report_progress, done, total, message)

    elicit = None
    capabilities = session.client_capabilities
    if capabilities is not None and capabilities.elicitation is not None:

        def elicit(message: str, schema: dict[str, Any]) -> Any:
            return anyio.from_thread.run(
                partial(session.elicit_form, related_request_id=ctx.request_id), message, schema
            )

    return CallContext(report=report, elicit=elicit)


def _run_in_context(stub: ToolStub, arguments: dict[str, Any], call: CallContext):
    activate(call)
    return stub.run(arguments)


def _error_result(exc: BaseException) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=failure_text(to_failure(exc)))],
        is_error=True,
    )


async def call_stub(
    stub: ToolStub, arguments: Any, ctx: Any = None, call_timeout_s: float | None = None
) -> types.CallToolResult:
    """Validate, run the handler in a worker thread, and shape the result or the error."""
    call = _call_context(ctx)
    limit = stub.spec.get("timeoutSeconds") or call_timeout_s or DEFAULT_CALL_TIMEOUT_S
    try:
        checked = stub.check_arguments(arguments)
        with anyio.fail_after(limit):
            data = await anyio.to_thread.run_sync(
                _run_in_context, stub, checked, call, abandon_on_cancel=True
            )
    except TimeoutError:
        call.cancelled.set()
        return _error_result(
            Timeout(
                f"{stub.name} did not finish within {limit:g} s.",
                hint="The backend may be slow or unreachable; check kitaru_status.",
            )
        )
    except anyio.get_cancelled_exc_class():
        call.cancelled.set()  # the client cancelled: let the handler's loops stop
        raise
    except Exception as exc:
        return _error_result(exc)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
        structured_content=data,
    )


def served_tools(options: ServeOptions, tools: dict[str, ToolStub] | None = None):
    """The generated tool table, filtered by mode and toolsets."""
    if tools is None:
        from kitaru_mcp.generated.tools import TOOLS as tools
    return {name: stub for name, stub in tools.items() if options.serves(stub)}, tools


def build_server(
    options: ServeOptions | None = None, tools: dict[str, ToolStub] | None = None
) -> Server[Any]:
    """A Server answering tools/list and tools/call from the generated table."""
    options = options or ServeOptions()
    served, every = served_tools(options, tools)
    listed = [to_mcp_tool(stub) for stub in served.values()]

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        reaper.begin()  # background work may start once the tools are listed
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        stub = served.get(params.name)
        if stub is None:
            why = (
                f"it is not served in {options.mode} mode"
                if params.name in every
                else "no tool has that name"
            )
            raise MCPError(
                types.INVALID_PARAMS,
                f"Unknown tool {params.name!r}: {why}; call tools/list for the available tools.",
            )
        reaper.begin()
        return await call_stub(stub, params.arguments, ctx, options.call_timeout_s)

    async def on_list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[])

    async def on_list_resource_templates(ctx: Any, params: Any):
        return types.ListResourceTemplatesResult(
            resource_templates=[template.listing() for template in resources.TEMPLATES]
        )

    async def on_read_resource(ctx: Any, params: types.ReadResourceRequestParams):
        return await resources.read(str(params.uri), every)

    async def on_list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=prompts.listing())

    async def on_get_prompt(ctx: Any, params: types.GetPromptRequestParams):
        return prompts.render(params.name, params.arguments)

    return Server(
        "kitaru-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_list_resources=on_list_resources,
        on_list_resource_templates=on_list_resource_templates,
        on_read_resource=on_read_resource,
        on_list_prompts=on_list_prompts,
        on_get_prompt=on_get_prompt,
    )


@contextlib.contextmanager
def background(options: ServeOptions) -> Iterator[None]:
    """While serving: the runner template and the reaper (if runner tools are served)."""
    if STARTS_RUNNERS.isdisjoint(served_tools(options)[0]):
        yield
        return
    from kitaru_mcp import launcher

    launcher.start_template()
    reaper.start()
    try:
        yield
    finally:
        reaper.stop()
        launcher.shutdown()


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
