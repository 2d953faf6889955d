"""Executions: read them, answer their waits, cancel them, record a forced status."""

from __future__ import annotations

import contextlib
from typing import Any

from kitaru_mcp.gateway import serialize
from kitaru_mcp.gateway.base import GatewayBase, missing_execution


class ExecutionsGateway(GatewayBase):
    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Execution summaries, newest first."""
        found = self.client().executions.list(flow=flow, status=status, limit=limit)
        return [serialize.execution_summary(execution) for execution in found]

    def get_execution(self, exec_id: str) -> dict[str, Any]:
        """One execution in full (the Execution shape); NotFound naming the id."""
        with missing_execution(exec_id):
            return serialize.execution(self.client().executions.get(exec_id))

    def run_status(self, exec_id: str) -> str:
        """ZenML's own run status: tells ``paused`` apart from a live poll, ``stopped``..."""
        with missing_execution(exec_id):
            return str(self.zen().get_pipeline_run(exec_id).status.value)

    def send_input(self, exec_id: str, wait: str, value: Any) -> None:
        self.client().executions.input(exec_id, wait=wait, value=value)

    def abort_wait(self, exec_id: str, wait: str) -> None:
        self.client().executions.abort_wait(exec_id, wait=wait)

    def request_cancel(self, exec_id: str) -> bool:
        """Ask Kitaru to stop the execution; False when the orchestrator cannot stop it."""
        with contextlib.suppress(NotImplementedError):  # local orchestrator: graceful stop only
            self.client().executions.cancel(exec_id)
            return True
        return False

    def record_status(self, exec_id: str, status: str, reason: str | None = None) -> None:
        """Write a run's status into the store, for a run whose process can no longer do it.

        Private ZenML API: ``zen_store.update_run`` with ``PipelineRunUpdate``
        (the SDK has no call to set a status).
        """
        from zenml.enums import ExecutionStatus
        from zenml.models import PipelineRunUpdate

        zen = self.zen()
        run = zen.get_pipeline_run(exec_id)
        update = PipelineRunUpdate(status=ExecutionStatus(status))
        if reason is not None:
            update.status_reason = reason
        zen.zen_store.update_run(run.id, update)
