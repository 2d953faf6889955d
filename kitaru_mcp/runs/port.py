"""The runs port: how handlers start, find and stop the processes that run flows.

Handlers never import the launcher, the idempotency keys or the state
records: they ask ``context.runs()`` for the call's ``RunsPort``. The server's
dispatcher hands every call the process implementation (``kitaru_mcp.runs.process``);
unit tests hand a fake. Imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Launched:
    """A runner that reported its execution: the exec_id, the runner's log file, and the
    execution as the runner read it when it reported (None when it could not)."""

    exec_id: str
    log_file: str | None
    execution: dict[str, Any] | None = None


class RunsPort(Protocol):
    def launch(self, operation: str, **options: str | None) -> Launched:
        """Start a runner for ``operation`` (run, replay, retry, resume); return once it
        reported the execution's id."""
        ...

    def start_once(
        self, tool: str, key: str | None, arguments: dict[str, Any], start: Callable[[], str]
    ) -> tuple[str, bool]:
        """Call ``start`` once per idempotency key; (exec_id, whether an earlier start's)."""
        ...

    def record(self, exec_id: str) -> dict[str, Any] | None:
        """What this server remembers of an execution it started (target, cwd, pid, logs)."""
        ...

    def stop_runner(self, pid: int | None) -> bool:
        """Stop the execution's runner process, if it is ours and alive."""
        ...
