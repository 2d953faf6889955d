"""A fake gateway for unit tests: executions held in memory, calls recorded.

It has the methods of ``kitaru_mcp.gateway.Gateway`` that the tests need and
returns the same plain shapes; anything else raises AttributeError, so a
handler that reaches for an unexpected call fails the test.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kitaru_mcp.core.errors import NotFound
from kitaru_mcp.runs.port import Launched

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Execution, ExecutionSummary

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def execution(
    exec_id: str,
    *,
    flow: str = "greet",
    status: str = "completed",
    minutes: int = 0,
    checkpoints: list[str] | None = None,
    pending_wait: dict[str, Any] | None = None,
    failure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One execution in the Execution shape of schemas/defs."""
    started = T0 + timedelta(minutes=minutes)
    ended = None if status in {"running", "waiting"} else started + timedelta(seconds=5)
    return {
        "exec_id": exec_id,
        "flow": flow,
        "status": status,
        "stack": "default",
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat() if ended else None,
        "original_exec_id": None,
        "status_reason": None,
        "project": "default",
        "checkpoints": [
            {
                "call_id": f"{exec_id}-{i}",
                "name": name,
                "status": "completed" if status != "running" else "running",
                "started_at": started.isoformat(),
                "ended_at": None,
                "attempts": 1,
                "failure": None,
            }
            for i, name in enumerate(checkpoints or ["step"])
        ],
        "artifacts": [],
        "pending_wait": pending_wait,
        "failure": failure,
    }


class FakeGateway:
    """Executions in memory, newest first by ``started_at``; every call recorded."""

    def __init__(self, executions: list[dict[str, Any]] | None = None) -> None:
        # Any: tests give partial entries; the ports check the methods, the models the shapes
        self.executions: dict[str, Any] = {e["exec_id"]: e for e in executions or []}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.statuses: dict[str, str] = {}  # run_status overrides (e.g. "paused")

    def using(self) -> contextlib.AbstractContextManager[None]:
        """The call's hold on the connection (nothing to hold here)."""
        return contextlib.nullcontext()

    def check_reachable(self) -> None:
        """The backend always answers here."""

    def prepare(self) -> None:
        """Nothing to warm up."""
        self.calls.append(("prepare", ()))

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.executions.values(), key=lambda e: e["started_at"], reverse=True)

    def list_executions(self, *, flow=None, status=None, limit=20) -> list[ExecutionSummary]:
        self.calls.append(("list_executions", (flow, status, limit)))
        found: list[Any] = [
            {
                k: e[k]
                for k in (
                    "exec_id",
                    "flow",
                    "status",
                    "stack",
                    "started_at",
                    "ended_at",
                    "original_exec_id",
                )
            }
            for e in self._newest_first()
            if (flow is None or e["flow"] == flow) and (status is None or e["status"] == status)
        ]
        return found[:limit]

    def page_executions(self, *, flow=None, status=None, limit=20, after=None):
        """Keyset pages: each key is the execution's (started_at, exec_id), newest first."""
        self.calls.append(("page_executions", (flow, status, limit, after)))
        everything = FakeGateway.list_executions(self, flow=flow, status=status, limit=10**9)
        self.calls.pop()  # the listing above recorded a call of its own
        keyed = [(f"{e['started_at']}|{e['exec_id']}", e) for e in everything]
        keyed.sort(key=lambda pair: pair[0], reverse=True)
        if after is not None:
            keyed = [pair for pair in keyed if pair[0] < after]
        keyed = keyed[:limit]
        return {"executions": [e for _, e in keyed], "keys": [k for k, _ in keyed]}

    def flow_exists(self, flow: str) -> bool:
        return any(e["flow"] == flow for e in self.executions.values())

    def get_execution(self, exec_id: str) -> Execution:
        self.calls.append(("get_execution", (exec_id,)))
        if exec_id not in self.executions:
            raise NotFound(f"No execution with exec_id {exec_id!r}.", field="exec_id")
        return copy.deepcopy(self.executions[exec_id])

    def run_status(self, exec_id: str) -> str:
        return self.statuses.get(exec_id) or self.get_execution(exec_id)["status"]

    def send_input(self, exec_id: str, wait: str, value: Any) -> None:
        self.calls.append(("send_input", (exec_id, wait, value)))

    def abort_wait(self, exec_id: str, wait: str) -> None:
        self.calls.append(("abort_wait", (exec_id, wait)))

    def request_cancel(self, exec_id: str) -> bool:
        self.calls.append(("request_cancel", (exec_id,)))
        self.executions[exec_id]["status"] = "cancelled"
        return True

    def record_status(self, exec_id: str, status: str, reason: str | None = None) -> None:
        self.calls.append(("record_status", (exec_id, status, reason)))
        self.executions[exec_id]["status"] = status

    def names(self) -> list[str]:
        """The names of the calls made, in order."""
        return [name for name, _ in self.calls]


if TYPE_CHECKING:  # mypy: the fake offers what the gateway's ports say, with their signatures
    from kitaru_mcp.gateway.ports import CallPort, ExecutionsPort

    _call: CallPort = FakeGateway()
    _executions: ExecutionsPort = FakeGateway()


class FakeRuns:
    """The runs port in memory: launches recorded, each a new execution in the gateway.

    ``records`` is what the server remembers of executions it started; ``fail``,
    when set, is raised by the next launch (a runner that cannot start); with
    ``describes`` each launch carries the execution, as a runner's report does.
    """

    def __init__(self, gateway: FakeGateway | None = None) -> None:
        self.gateway = gateway
        self.launched: list[tuple[str, dict[str, str | None]]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.stopped: list[int | None] = []
        self.fail: Exception | None = None
        self.describes = False

    def launch(self, operation: str, **options: str | None) -> Launched:
        if self.fail is not None:
            raise self.fail
        self.launched.append((operation, options))
        exec_id = f"0000e{len(self.launched):03d}"  # hex, as Kitaru's ids
        started = execution(exec_id, status="running", minutes=-1)
        if self.gateway is not None:
            self.gateway.executions[exec_id] = started
        log = f"/runs/{exec_id}.log"
        self.records[exec_id] = {"target": options.get("target"), "logs": [log]}
        return Launched(exec_id, log, dict(started) if self.describes else None)

    def start_once(
        self, tool: str, key: str | None, arguments: dict[str, Any], start: Callable[[], str]
    ) -> tuple[str, bool]:
        if key is None:
            return start(), False
        if (tool, key) in self.keys:
            return self.keys[(tool, key)], True
        self.keys[(tool, key)] = start()
        return self.keys[(tool, key)], False

    def record(self, exec_id: str) -> dict[str, Any] | None:
        return self.records.get(exec_id)

    def stop_runner(self, pid: int | None) -> bool:
        self.stopped.append(pid)
        return pid is not None


if TYPE_CHECKING:  # mypy: the fake runs port fits the port
    from kitaru_mcp.runs.port import RunsPort

    _runs: RunsPort = FakeRuns()
