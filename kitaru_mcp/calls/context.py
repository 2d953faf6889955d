"""What a handler may ask of the call it serves: progress, cancellation, the user.

Handlers run in worker threads; the server sets a CallContext for each call
(the context variable follows the call into its thread). Outside a server
(tests, the terminal CLI) ``current()`` returns one that does nothing.

Asking the user (``CallContext.ask``) works in both protocol revisions
without the handler knowing which one the call came in on:

- 2025-11-25: the form is pushed to the client (``elicit``) and the answer
  comes back within the same call;
- 2026-07-28: there is no back channel; ``ask`` raises ``InputRequired``
  (the form and the state to resume from), the server answers the call with
  an input-required result, and the client calls again with the user's
  answer (``input_responses``) and the state it was given (``request_state``,
  sealed by the server and verified before the handler runs). On that call
  ``ask`` returns the answer, so the handler runs top to bottom both times.

Nothing here imports the MCP SDK.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from kitaru_mcp.calls.budget import DEFAULT_MAX_RESULT_CHARS
from kitaru_mcp.core.errors import Conflict, InvalidArgument
from kitaru_mcp.runs.port import RunsPort

LEGACY = "2025-11-25"  # the handshake era: pushed elicitation, progress on the session
MODERN = "2026-07-28"  # no back channel: input-required round trips
INPUT_KEY = "answer"  # the one input request a tool call makes


@dataclass(frozen=True)
class Answer:
    """What the user did with a form: ``accept`` (with ``content``), ``decline`` or ``cancel``."""

    action: str
    content: dict[str, Any] | None = None


class InputRequired(Exception):
    """Raised by ``CallContext.ask`` on a 2026-07-28 call: answer the call with a form.

    ``state`` is plaintext the server seals before it leaves; the client echoes it
    on its next call, where ``ask`` reads it back.
    """

    def __init__(self, key: str, message: str, schema: dict[str, Any], state: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.schema = schema
        self.state = state


@dataclass
class CallContext:
    """The live call: report progress, notice cancellation, ask the user, the result budget."""

    report: Callable[[float, float | None, str | None], None] = lambda *_: None
    elicit: Callable[[str, dict[str, Any]], Any] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    era: str = LEGACY
    can_elicit: bool = False  # the client declared the elicitation capability
    input_responses: dict[str, dict[str, Any]] | None = None  # 2026-07-28 retry: key -> result
    request_state: str | None = None  # 2026-07-28 retry: the verified plaintext state
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS  # the result budget (set by the dispatcher)
    # who is calling, for scopes and the audit log: "local" on stdio, "token" for the
    # static bearer token, the OAuth subject otherwise (set by the transport)
    caller: str = "local"
    client_id: str | None = None  # the OAuth client id, when a token carried one
    transport: str = "stdio"  # "stdio", "http" or "cli"
    protocol: str | None = None  # the protocol revision the call came in on
    scopes: frozenset[str] | None = None  # the token's scopes; None: not limited by a token
    runs: RunsPort | None = None  # how the call starts runners (set by the dispatcher)

    def progress(self, done: float, total: float | None = None, message: str | None = None):
        """Send a progress notification if the client asked for them (never raises)."""
        with contextlib.suppress(Exception):  # a client gone away must not fail the tool
            self.report(done, total, message)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the call is cancelled first; True if it was cancelled."""
        return self.cancelled.wait(seconds)

    @property
    def can_ask(self) -> bool:
        """Whether ``ask`` can reach the user on this call (pushed or by a round trip)."""
        if self.era == LEGACY:
            return self.elicit is not None
        return self.can_elicit

    @property
    def resuming(self) -> bool:
        """A 2026-07-28 call that carries answers or state from an earlier round."""
        return self.era != LEGACY and bool(self.input_responses or self.request_state)

    def ask(self, message: str, schema: dict[str, Any], state: dict[str, Any]) -> Answer:
        """The user's answer to a form (``schema``: a flat object of primitive fields).

        ``state`` names what the question is about (e.g. the execution and the
        wait): an answer is only taken on a call resumed from the same state, so
        an answer given for one wait can never be sent to another.
        """
        if self.era == LEGACY:
            if self.elicit is None:
                raise RuntimeError("ask() needs a client that shows forms (check can_ask)")
            pushed = self.elicit(message, schema)
            return Answer(pushed.action, pushed.content)
        if not self.resuming:
            raise InputRequired(INPUT_KEY, message, schema, json.dumps(state, sort_keys=True))
        return self._answer_for(state)

    def _answer_for(self, state: dict[str, Any]) -> Answer:
        if self.request_state is None:
            raise InvalidArgument(
                "inputResponses came without the requestState this server gave out.",
                field="requestState",
                hint="Call the tool again without inputResponses to get a new form.",
            )
        try:
            earlier = json.loads(self.request_state)
        except ValueError:
            earlier = None
        if not isinstance(earlier, dict):
            raise InvalidArgument(
                "requestState is not one this server gave out.", field="requestState"
            )
        if earlier != state:
            raise Conflict(
                f"The answer was for {_describe(earlier)}, but the call is now about "
                f"{_describe(state)}; nothing was sent.",
                field="requestState",
                hint="Call the tool again without inputResponses to get the current question.",
            )
        response = (self.input_responses or {}).get(INPUT_KEY)
        if not isinstance(response, dict) or response.get("action") not in {
            "accept",
            "decline",
            "cancel",
        }:
            raise InvalidArgument(
                f"inputResponses needs an elicitation result under {INPUT_KEY!r}.",
                field=f"inputResponses.{INPUT_KEY}",
                hint="Answer the form the previous call returned, then call again with it.",
            )
        content = response.get("content")
        return Answer(response["action"], content if isinstance(content, dict) else None)


def _describe(state: Any) -> str:
    if isinstance(state, dict) and "wait" in state:
        return f"wait {state.get('wait')!r} of execution {state.get('exec_id')}"
    return "another question"


_current: ContextVar[CallContext | None] = ContextVar("kitaru_mcp_call", default=None)


def current() -> CallContext:
    return _current.get() or CallContext()


def runs() -> RunsPort:
    """The call's runs port (``kitaru_mcp.runs.port``), as the dispatcher handed it."""
    port = current().runs
    if port is None:
        raise RuntimeError("no runs port: handlers that start runners run through a Dispatcher")
    return port


def activate(call: CallContext) -> Any:
    return _current.set(call)
