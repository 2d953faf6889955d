"""What a handler may ask of the call it serves: progress, cancellation, the user.

Handlers run in worker threads; the server sets a CallContext for each call
(the context variable follows the call into its thread). Outside a server
(tests, the terminal CLI) ``current()`` returns one that does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from kitaru_mcp.budget import DEFAULT_MAX_RESULT_CHARS


@dataclass
class CallContext:
    """The live call: report progress, notice cancellation, ask the user, the result budget."""

    report: Callable[[float, float | None, str | None], None] = lambda *_: None
    elicit: Callable[[str, dict[str, Any]], Any] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS  # the result budget (set by the dispatcher)

    def progress(self, done: float, total: float | None = None, message: str | None = None):
        """Send a progress notification if the client asked for them (never raises)."""
        with contextlib.suppress(Exception):  # a client gone away must not fail the tool
            self.report(done, total, message)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the call is cancelled first; True if it was cancelled."""
        return self.cancelled.wait(seconds)


_current: ContextVar[CallContext | None] = ContextVar("kitaru_mcp_call", default=None)


def current() -> CallContext:
    return _current.get() or CallContext()


def activate(call: CallContext) -> Any:
    return _current.set(call)
