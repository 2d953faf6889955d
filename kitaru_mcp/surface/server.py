"""The MCP server: serves the generated tool table over the low-level mcp 2.x Server."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import mcp.types as types
from mcp.server.caching import CacheHint
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kitaru_mcp import __version__
from kitaru_mcp.auth import scopes as auth_scopes
from kitaru_mcp.calls.context import MODERN, CallContext
from kitaru_mcp.calls.stubs import ToolStub
from kitaru_mcp.runs import reaper
from kitaru_mcp.surface import app_view, completion, prompts, request_state, resources
from kitaru_mcp.surface.dispatch import Dispatcher, NotServed, ServeOptions

__all__ = ["ServeOptions", "build_server", "serve_stdio", "to_mcp_tool"]

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
        _meta=app_view.tool_meta(spec),
    )


def _call_context(ctx: Any, params: Any = None) -> CallContext:
    """Bridge a request context to the worker thread: era, progress and elicitation.

    On 2025-11-25 connections a form is pushed (``elicit``); on 2026-07-28 ones the
    handler's question becomes an input-required result, and the retry's answers
    and (already verified) state are handed to the handler here.
    """
    if ctx is None:
        return CallContext()
    session = ctx.session

    def report(done: float, total: float | None, message: str | None) -> None:
        anyio.from_thread.run(session.report_progress, done, total, message)

    capabilities = session.client_capabilities
    can_elicit = capabilities is not None and capabilities.elicitation is not None
    if getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS:
        responses = getattr(params, "input_responses", None) or {}
        return CallContext(
            report=report,
            era=MODERN,
            can_elicit=can_elicit,
            input_responses={
                key: response.model_dump(mode="json", by_alias=True, exclude_none=True)
                for key, response in responses.items()
            },
            request_state=getattr(params, "request_state", None),
        )

    elicit = None
    if can_elicit and _can_send_request(ctx):

        def elicit(message: str, schema: dict[str, Any]) -> Any:
            return anyio.from_thread.run(
                partial(session.elicit_form, related_request_id=ctx.request_id), message, schema
            )

    return CallContext(report=report, elicit=elicit, can_elicit=can_elicit)


def _can_send_request(ctx: Any) -> bool:
    """Whether a server-to-client request (a pushed form) can be answered on this request:
    not in stateless HTTP, where the client's reply has no session to land in."""
    transport = getattr(ctx, "transport", None)
    return bool(getattr(transport, "can_send_request", True))


def identity_of(ctx: Any) -> Any:
    """Who sent this request over HTTP: the ``Identity`` the OAuth gate or the static token
    check put on the request (``kitaru_mcp.auth``); None over stdio or without a token."""
    from kitaru_mcp.surface.http_auth import IDENTITY_KEY

    scope = getattr(getattr(ctx, "request", None), "scope", None)
    return scope.get(IDENTITY_KEY) if isinstance(scope, dict) else None


def identify(call: CallContext, ctx: Any) -> CallContext:
    """Fill the call's ``caller``, ``client_id``, ``transport`` and ``scopes`` from the
    request: the token's subject (or "token" for the static token) over HTTP, "local" else."""
    call.protocol = getattr(ctx, "protocol_version", None)
    if isinstance(getattr(getattr(ctx, "request", None), "scope", None), dict):
        call.transport = "http"
    identity = identity_of(ctx)
    if identity is not None:
        call.caller = identity.caller
        call.client_id = identity.client_id
        call.scopes = identity.scopes
    return call


def wire_result(result: Any) -> Any:
    """A tool's CallToolResult as the mapping the SDK would dump it to, built directly.

    Its structured content is already JSON (checked against the output schema), and
    pydantic's dump of an arbitrary dict was the largest part of a read's serialising
    (the SDK still checks the mapping against the revision's result shape). Anything
    else (a form to fill in, content that is not text) goes as it is."""
    if not isinstance(result, types.CallToolResult) or result.meta is not None:
        return result
    texts = [
        item.text
        for item in result.content
        if isinstance(item, types.TextContent) and item.annotations is None and item.meta is None
    ]
    if len(texts) != len(result.content):
        return result
    wire: dict[str, Any] = {"content": [{"type": "text", "text": text} for text in texts]}
    if result.structured_content is not None:
        wire["structuredContent"] = result.structured_content
    wire["isError"] = result.is_error
    wire["resultType"] = result.result_type
    return wire


def build_server(
    options: ServeOptions | None = None,
    tools: dict[str, ToolStub] | None = None,
    gateway: Any = None,
) -> KitaruServer:
    """A Server answering tools, resources, prompts and completions through one Dispatcher
    (``gateway``: a factory for the gateway, for tests; default the Kitaru one)."""
    dispatcher = Dispatcher(options, tools, gateway)
    listed = [(stub.scope, to_mcp_tool(stub)) for stub in dispatcher.served.values()]
    warm_up = WarmUp(dispatcher)

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        warm_up.soon(0.05)  # the user reads the tool list now: get Kitaru ready meanwhile
        reaper.begin()  # runner deaths are reconciled from now on
        identity = identity_of(ctx)  # a token's scopes show a caller only what it may call
        granted = identity.scopes if identity is not None else None
        return types.ListToolsResult(
            tools=[tool for scope, tool in listed if auth_scopes.allows(granted, scope)]
        )

    async def on_call_tool(
        ctx: Any, params: types.CallToolRequestParams
    ) -> dict[str, Any] | types.CallToolResult | types.InputRequiredResult:
        reaper.begin()
        try:
            call = identify(_call_context(ctx, params), ctx)
            return wire_result(await dispatcher.call_tool(params.name, params.arguments, call))
        except NotServed as exc:
            from kitaru_mcp.observe import audit

            scope = exc.reason.startswith("the caller's access token")
            audit.mark_refused(
                "scope" if scope else "mode" if exc.name in dispatcher.every else "unknown"
            )
            raise MCPError(types.INVALID_PARAMS, str(exc)) from None

    async def on_list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=app_view.listing())

    async def on_list_resource_templates(ctx: Any, params: Any):
        return types.ListResourceTemplatesResult(
            resource_templates=[t.listing() for t in resources.served(dispatcher)]
        )

    async def on_read_resource(ctx: Any, params: types.ReadResourceRequestParams):
        if app_view.serves(str(params.uri)):
            return app_view.read(str(params.uri))
        modern = getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS
        call = identify(CallContext(), ctx)  # who reads it, as for a tool call
        return await resources.read(str(params.uri), dispatcher, modern=modern, call=call)

    async def on_list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=prompts.listing(dispatcher))

    async def on_get_prompt(ctx: Any, params: types.GetPromptRequestParams):
        return prompts.render(params.name, params.arguments, dispatcher)

    async def on_completion(ctx: Any, params: types.CompleteRequestParams):
        return await completion.complete(params, dispatcher)

    async def shutdown() -> None:
        await dispatcher.shutdown()
        if dispatcher.starts_runners:
            from kitaru_mcp.runs import forkserver

            await anyio.to_thread.run_sync(forkserver.shutdown)

    warm_up.soon(WARM_UP_DELAY_S)
    server = KitaruServer(
        dispatcher,
        shutdown,
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
        on_completion=on_completion,
        cache_hints=CACHE_HINTS,
    )
    request_state.install(server)  # seal/verify the 2026-07-28 requestState
    _install_audit(server, dispatcher)
    app_view.advertise(server)
    return server


def _install_audit(server: Server[Any], dispatcher: Dispatcher) -> None:
    """Audit every tools/call, resources/read and prompts/get (when a log is installed),
    inside the SDK's span per message (so a line carries the trace id)."""
    from kitaru_mcp.observe import audit

    log = audit.installed()
    if log is None:
        return

    def resource_tool(uri: str) -> str | None:
        if app_view.serves(uri):
            return ""
        found = (t for t in resources.served(dispatcher) if t.pattern.match(uri))
        return next((t.tool for t in found), None)

    catalog = audit.Catalog(
        tool_arguments={
            name: frozenset(stub.spec["inputSchema"].get("properties", {}))
            for name, stub in dispatcher.every.items()
        },
        prompt_arguments={
            name: frozenset(a.name for a in prompt.arguments)
            for name, prompt in prompts.PROMPTS.items()
        },
        resource_tool=resource_tool,
    )
    sdk_span = [i for i, m in enumerate(server.middleware) if "OpenTelemetry" in type(m).__name__]
    server.middleware.insert(
        sdk_span[0] + 1 if sdk_span else 0, audit.AuditMiddleware(log, catalog)
    )


class KitaruServer(Server[Any]):
    """The low-level Server, with the dispatcher it serves and its graceful shutdown."""

    def __init__(self, dispatcher: Dispatcher, shutdown: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dispatcher = dispatcher
        self.shutdown = shutdown


WARM_UP_DELAY_S = 0.5

# 2026-07-28 caching hints (SEP-2549). The lists are fixed for a server's life (its
# mode and toolsets decide them): a client may keep them for an hour. What a
# resource reads is live (an execution moves on): never fresh. Private: a result
# is never shared across authorization contexts.
LIST_TTL_MS = 3_600_000
CACHE_HINTS: dict[Any, CacheHint] = {
    "tools/list": CacheHint(ttl_ms=LIST_TTL_MS),
    "prompts/list": CacheHint(ttl_ms=LIST_TTL_MS),
    "resources/list": CacheHint(ttl_ms=LIST_TTL_MS),
    "resources/templates/list": CacheHint(ttl_ms=LIST_TTL_MS),
    "server/discover": CacheHint(ttl_ms=LIST_TTL_MS),
    "resources/read": CacheHint(ttl_ms=0),
}


class WarmUp:
    """Import Kitaru and open the connection in the background, once.

    It starts when ``tools/list`` has been answered or half a second after
    start, whichever comes first: the server answers the handshake at the cost
    of the MCP import alone, and the user's first call finds Kitaru ready. Once
    the connection is open it makes one read (``_warm_read``), so that the first
    call does not pay for compiling what every read needs. (The runner template
    starts with the server: started after the warm-up, a run issued right after
    the first read waited for the template's whole import, about 4 s.)
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._dispatcher = dispatcher

    def soon(self, delay_s: float) -> None:
        from kitaru_mcp.gateway import session

        if not session.warm_up_enabled():  # decided now: a timer never outlives the switch
            return
        with self._lock:
            if self._timer is not None and delay_s >= WARM_UP_DELAY_S:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(delay_s, _start_warm_up, (self,))
            self._timer.daemon = True
            self._timer.start()

    def read(self) -> None:
        _warm_read(self._dispatcher)


WARM_READ_TOOL = "kitaru_executions_list"


def _start_warm_up(warm_up: WarmUp) -> None:
    from kitaru_mcp.gateway import session

    session.when_ready(warm_up.read)  # once: the same bound method compares equal
    session.start_warm_up()


def _warm_read(dispatcher: Dispatcher) -> None:
    """A first ``kitaru_executions_list``'s work, its result dropped: the handler, its
    models and validators and the store's compiled statements are ready for the user's
    first read (about 0.25 s of CPU it would otherwise pay). Skipped when a call already
    runs: that call does the same work, and the two would only compete. Never raises."""
    from kitaru_mcp.calls.context import activate

    stub = dispatcher.every.get(WARM_READ_TOOL)
    if stub is None or dispatcher.busy:
        return
    try:
        gateway = dispatcher.gateway()
        activate(CallContext())
        with gateway.using():
            stub.run(gateway, stub.check_arguments({}))
    except Exception as exc:  # the user's own call reports whatever is wrong
        logger.info("warm read did not finish: %s", type(exc).__name__)


@contextlib.contextmanager
def background(options: ServeOptions) -> Iterator[None]:
    """While serving: the runner template and the reaper (if runner tools are served)."""
    if not Dispatcher(options).starts_runners:
        yield
        return
    from kitaru_mcp.runs import forkserver

    forkserver.start_template()
    reaper.start()
    try:
        yield
    finally:
        reaper.stop()
        forkserver.shutdown()


async def serve_stdio(server: Server[Any]) -> None:
    from kitaru_mcp.surface import stdio_transport

    await stdio_transport.serve_stdio(server, on_shutdown=getattr(server, "shutdown", None))
