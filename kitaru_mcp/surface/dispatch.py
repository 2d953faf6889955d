"""One dispatch path for every way a tool is called.

``tools/call``, ``resources/read``, ``prompts/get`` and ``kitaru-mcp call``
all go through ``Dispatcher``: the mode/toolset check, the input check, the
handler in a worker thread under a time limit, the output check, and the one
error boundary (``kitaru_mcp.core.errors.to_failure``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from kitaru_mcp.auth.scopes import allows
from kitaru_mcp.calls import budget, layout
from kitaru_mcp.calls.context import CallContext, InputRequired, activate
from kitaru_mcp.calls.stubs import ToolStub
from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import (
    BackendUnavailable,
    InvalidArgument,
    Timeout,
    ToolFailure,
    failure_text,
    to_failure,
)
from kitaru_mcp.core.nesting import nesting_depth
from kitaru_mcp.observe import tracing
from kitaru_mcp.runs.port import RunsPort

DEFAULT_CALL_TIMEOUT_S = settings.number("KITARU_MCP_CALL_TIMEOUT")
MAX_DEPTH = 32  # arguments nested deeper than this are refused before any check runs


@dataclass(frozen=True)
class ServeOptions:
    """Which tools are served, how long one call may take, how large a result may be."""

    mode: str = "standard"
    toolsets: frozenset[str] | None = None
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    max_result_chars: int = budget.DEFAULT_MAX_RESULT_CHARS  # JSON characters per result

    def serves(self, stub: ToolStub) -> bool:
        hints = stub.spec["annotations"]
        if self.toolsets is not None and stub.group not in self.toolsets:
            return False
        if self.mode == "read-only":
            return bool(hints["readOnlyHint"])
        if self.mode == "standard":
            return not hints["destructiveHint"]
        return True

    def why_not(self, stub: ToolStub) -> str:
        """Why ``stub`` is not served, in the words a user sees."""
        if self.toolsets is not None and stub.group not in self.toolsets:
            return f"its toolset {stub.group!r} is not served (--toolsets)"
        return f"it is not served in {self.mode} mode"


class NotServed(Exception):
    """The tool does not exist, or this server's mode or toolsets do not serve it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Unknown tool {name!r}: {reason}; call tools/list for the tools served.")
        self.name = name
        self.reason = reason


def _shutting_down() -> BackendUnavailable:
    failure = BackendUnavailable(
        "kitaru-mcp is shutting down; the call was not completed.",
        hint="Call again once the server has restarted; a started flow keeps running.",
    )
    return failure


def all_tools() -> dict[str, ToolStub]:
    from kitaru_mcp.generated.tools import TOOLS

    return TOOLS


def check_depth(arguments: Any) -> None:
    if nesting_depth(arguments, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidArgument(
            f"arguments nest deeper than {MAX_DEPTH} levels.",
            field="(arguments)",
            hint="Send flatter arguments; no tool's input needs that depth.",
        )


def check_budget(name: str, data: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """Last resort after the handler (which cuts its own output): a result over the budget
    is refused with a clean error that says how to narrow it, never sent."""
    chars = budget.size(data)
    if chars <= max_chars:
        return data
    raise InvalidArgument(
        f"{name}'s result is {chars} characters of JSON, over this server's budget of "
        f"{max_chars} (--max-result-chars); it was not sent.",
        field="(arguments)",
        hint="Narrow the call (a smaller limit, tail or max_bytes, a filter, or a cursor), "
        "or start kitaru-mcp with a larger --max-result-chars.",
    )


class Dispatcher:
    """Serves the tool table under one set of options, on one gateway."""

    def __init__(
        self,
        options: ServeOptions | None = None,
        tools: dict[str, ToolStub] | None = None,
        gateway: Callable[[], Any] | None = None,
        runs: RunsPort | None = None,
    ) -> None:
        self.options = options or ServeOptions()
        self._runs = runs
        self.every = tools if tools is not None else all_tools()
        self.served = {n: s for n, s in self.every.items() if self.options.serves(s)}
        self._gateway = gateway
        self._inflight: set[anyio.CancelScope] = set()
        self.closing = False

    @property
    def busy(self) -> bool:
        """Whether a call is running now (past its argument check)."""
        return bool(self._inflight)

    @property
    def starts_runners(self) -> bool:
        return any(stub.starts_runner for stub in self.served.values())

    def gateway(self) -> Any:
        if self._gateway is not None:
            return self._gateway()
        from kitaru_mcp.gateway import default

        return default()

    def runs(self) -> RunsPort:
        if self._runs is None:
            from kitaru_mcp.runs.process import ProcessRuns

            self._runs = ProcessRuns()
        return self._runs

    def lookup(self, name: str) -> ToolStub:
        stub = self.served.get(name)
        if stub is None:
            known = self.every.get(name)
            reason = self.options.why_not(known) if known else "no tool has that name"
            raise NotServed(name, reason)
        return stub

    def limit_for(self, stub: ToolStub) -> float:
        return float(stub.spec.get("timeoutSeconds") or self.options.call_timeout_s)

    @staticmethod
    def _checked(stub: ToolStub, arguments: Any) -> dict[str, Any]:
        with tracing.span("kitaru_mcp.validate", **{tracing.TOOL: stub.name}):
            try:
                check_depth(arguments)
                return stub.check_arguments(arguments)
            except ToolFailure:
                from kitaru_mcp.observe import audit  # only on a refusal: nothing at start-up

                audit.mark_refused("arguments")
                raise

    def _blocking(
        self, stub: ToolStub, checked: dict[str, Any], call: CallContext
    ) -> dict[str, Any]:
        activate(call)
        gateway = tracing.traced_gateway(self.gateway())
        handler = tracing.span(f"kitaru_mcp.handler {stub.name}", **{tracing.TOOL: stub.name})
        with handler, gateway.using():
            data = stub.run(gateway, checked)
        return check_budget(stub.name, data, call.max_result_chars)

    async def run(
        self, name: str, arguments: Any, call: CallContext | None = None
    ) -> dict[str, Any]:
        """The tool's checked result; raises NotServed or a ToolFailure."""
        if not tracing.enabled():
            return await self._run(name, arguments, call)
        from kitaru_mcp.observe import audit

        attributes = {
            tracing.TOOL: name,
            tracing.MODE: self.options.mode,
            tracing.CALLER: call.caller if call is not None else "local",
            tracing.EXEC_ID: ",".join(audit.exec_ids(arguments)[:5]) or None,
        }
        with tracing.span(f"kitaru_mcp.call {name}", **attributes) as span:
            data = await self._run(name, arguments, call)
            ids = audit.exec_ids(arguments, data)[:5]
            tracing.annotate(
                span, **{tracing.OUTCOME: "ok", tracing.EXEC_ID: ",".join(ids) or None}
            )
            return data

    async def _run(
        self, name: str, arguments: Any, call: CallContext | None = None
    ) -> dict[str, Any]:
        stub = self.lookup(name)
        if call is not None and not allows(call.scopes, stub.scope):  # the HTTP gate's twin
            raise NotServed(name, f"the caller's access token does not grant {stub.scope}")
        if self.closing:
            raise _shutting_down()
        call = call or CallContext()
        call.max_result_chars = self.options.max_result_chars
        call.runs = self.runs()
        limit = self.limit_for(stub)
        try:
            # bad input is refused whatever the time limit (off the event loop: a 5 MB
            # argument takes a while to check); the limit is for the work, not the check
            checked = await anyio.to_thread.run_sync(self._checked, stub, arguments)
            with anyio.CancelScope() as stopped:
                self._inflight.add(stopped)
                try:
                    with anyio.fail_after(limit):
                        return await anyio.to_thread.run_sync(
                            self._blocking, stub, checked, call, abandon_on_cancel=True
                        )
                finally:
                    self._inflight.discard(stopped)
            call.cancelled.set()  # only reached when shutdown() stopped the call
            raise _shutting_down()
        except TimeoutError:
            call.cancelled.set()
            if stub.read_only:
                raise Timeout(
                    f"{stub.name} did not finish within {limit:g} s.",
                    hint="The backend may be slow or unreachable; check kitaru_status.",
                ) from None
            unfinished = Timeout(
                f"{stub.name} did not answer within {limit:g} s; what it started may still finish.",
                hint="Check the result before calling again (kitaru_executions_list, "
                "kitaru_deployments_list, kitaru_status).",
            )
            unfinished.retryable = False  # calling again could do it twice
            raise unfinished from None
        except anyio.get_cancelled_exc_class():
            call.cancelled.set()  # the client cancelled: let the handler's loops stop
            raise
        except (ToolFailure, InputRequired):
            raise
        except Exception as exc:
            raise to_failure(exc) from exc

    async def shutdown(self, grace_s: float = 2.0) -> None:
        """Stop taking calls; let in-flight ones finish for ``grace_s``, then stop them
        (each is answered with a clean retryable error)."""
        self.closing = True
        with anyio.move_on_after(grace_s):
            while self._inflight:
                await anyio.sleep(0.05)
        for scope in list(self._inflight):
            scope.cancel()
        with anyio.move_on_after(1.0):  # their answers go out before the transport closes
            while self._inflight:
                await anyio.sleep(0.02)

    async def call_tool(self, name: str, arguments: Any, call: CallContext | None = None):
        """``tools/call``: a CallToolResult with the result or the error (never raises
        for a tool failure; NotServed is the caller's protocol error), or, when the
        handler needs the user's input on a 2026-07-28 call, an InputRequiredResult
        carrying the form and the state to resume from (the server seals it)."""
        import mcp.types as types

        try:
            data = await self.run(name, arguments, call)
        except InputRequired as needed:
            form = types.ElicitRequestFormParams(
                message=needed.message, requested_schema=needed.schema
            )
            return types.InputRequiredResult(
                input_requests={needed.key: types.ElicitRequest(params=form)},
                request_state=needed.state,
            )
        except ToolFailure as failure:
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=failure_text(failure))],
                is_error=True,
            )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=layout.text(data))],
            structured_content=data,
        )
