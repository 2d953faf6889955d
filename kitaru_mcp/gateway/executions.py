"""Executions: read them, answer their waits, cancel them, record a forced status."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from kitaru_mcp.errors import InvalidArgument
from kitaru_mcp.gateway import serialize, sql
from kitaru_mcp.gateway.base import GatewayBase, missing_execution


class ExecutionsGateway(GatewayBase):
    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Execution summaries, newest first (by creation, then id, as the SDK lists)."""
        found = self.page_executions(flow=flow, status=status, limit=limit)
        if found is not None:
            return found["executions"]
        listed = self.client().executions.list(flow=flow, status=status, limit=limit)
        return [serialize.execution_summary(execution) for execution in listed]

    def page_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> dict[str, Any] | None:
        """``{"executions": [...], "keys": [...]}`` strictly after the key ``after``.

        One indexed query on the embedded store (keyset pagination: a page
        costs the same at any depth); each key resumes right after its
        execution. None on a server connection (no keys: page by position).
        """
        store = self.store_sql()
        if store is None:
            return None
        engine, project_id = store
        try:
            resume = sql.decode_key(after) if after else None
        except ValueError:
            raise InvalidArgument(
                "cursor is not one this server issued.",
                field="cursor",
                hint="Pass next_cursor from the previous page unchanged, or omit it.",
            ) from None
        rows = sql.list_summaries(
            engine, project_id, flow=flow, status=status, limit=limit, after=resume
        )
        return {"executions": [s for s, _ in rows], "keys": [k for _, k in rows]}

    def flow_exists(self, flow: str) -> bool:
        """Whether a flow of this name was ever run or deployed in the project."""
        store = self.store_sql()
        if store is not None:
            return sql.pipeline_exists(*store, flow)
        names = sql.flow_names(flow)
        wanted = f"oneof:{json.dumps(names, separators=(',', ':'))}"
        return bool(self.zen().list_pipelines(name=wanted, size=1, hydrate=False).total)

    def get_execution(self, exec_id: str) -> dict[str, Any]:
        """One execution in full (the Execution shape); NotFound naming the id.

        On the embedded store, a few small queries with one steps listing
        (``sql.execution``); the SDK's ``executions.get`` otherwise, and for
        what that query leaves to it (an unknown id, adapter checkpoints).
        """
        store = self.store_sql()
        if store is not None:
            found = sql.execution(store[0], exec_id)
            if found is not None:
                return found
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
