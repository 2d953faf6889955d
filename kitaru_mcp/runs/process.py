"""The runs port on this machine's processes: runners, idempotency keys, state records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru_mcp.core import state
from kitaru_mcp.gateway import backend
from kitaru_mcp.runs import idempotency, launcher, shared_keys
from kitaru_mcp.runs.port import Launched


class ProcessRuns:
    """``RunsPort`` through ``launcher``, ``idempotency`` and ``state``."""

    def launch(self, operation: str, **options: str | None) -> Launched:
        return launcher.launch(operation, **options)

    def start_once(
        self, tool: str, key: str | None, arguments: dict[str, Any], start: Callable[[], str]
    ) -> tuple[str, bool]:
        if key is not None and backend.server_url() is not None:
            # replicas share the Kitaru server, not this machine's files
            return shared_keys.start_once(tool, key, arguments, start, idempotency.WINDOW_S)
        return idempotency.start_once(tool, key, arguments, start)

    def record(self, exec_id: str) -> dict[str, Any] | None:
        return state.read_record(exec_id)

    def stop_runner(self, pid: int | None) -> bool:
        return launcher.stop_runner(pid)
