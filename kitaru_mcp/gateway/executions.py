"""Executions: read them, answer their waits, cancel them, record a forced status."""

from __future__ import annotations

import contextlib
import itertools
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from kitaru_mcp.core.errors import InvalidArgument
from kitaru_mcp.core.statuses import UNFINISHED
from kitaru_mcp.gateway import filters, keyset, names, serialize, server_reads, session
from kitaru_mcp.gateway.base import GatewayBase, missing_execution
from kitaru_mcp.gateway.store import detail, light, summaries

logger = logging.getLogger("kitaru_mcp")

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Execution, ExecutionSummary


class ExecutionPage(TypedDict):
    """One keyset page of executions, and each one's key (a next page starts after one)."""

    executions: list[ExecutionSummary]
    keys: list[str]


class ExecutionsGateway(GatewayBase):
    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[ExecutionSummary]:
        """Execution summaries, newest first (by creation, then id, as the SDK lists)."""
        return self.page_executions(flow=flow, status=status, limit=limit)["executions"]

    def page_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> ExecutionPage:
        """``{"executions": [...], "keys": [...]}`` strictly after the key ``after``.

        Keyset pagination, so a page costs the same at any depth: one indexed
        query on the embedded store, the REST API's ``created`` filter on a
        server connection. Each key resumes right after its execution.
        """
        try:
            resume = keyset.decode_key(after) if after else None
        except ValueError:
            raise InvalidArgument(
                "cursor is not one this server issued.",
                field="cursor",
                hint="Pass next_cursor from the previous page unchanged, or omit it.",
            ) from None
        rows = self._page_before_kitaru(flow=flow, status=status, limit=limit, after=resume)
        if rows is not None:
            return {"executions": [s for s, _ in rows], "keys": [k for _, k in rows]}
        store = self.store_sql()
        if store is None:
            rows = self._page_by_rest(flow=flow, status=status, limit=limit, after=resume)
        else:
            engine, project_id = store
            rows = summaries.list_summaries(
                engine, project_id, flow=flow, status=status, limit=limit, after=resume
            )
        return {"executions": [s for s, _ in rows], "keys": [k for _, k in rows]}

    @staticmethod
    def _page_before_kitaru(
        *,
        flow: str | None,
        status: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[tuple[ExecutionSummary, str]] | None:
        """The same page read from the embedded store while the warm-up still loads Kitaru
        (``embedded``, ``store.light``); None once the store is open here, or whenever the
        light read is not sure to be the SDK's (the SDK path then answers, errors included)."""
        found = session.light_store()
        if found is None:
            return None
        try:
            engine, project_id = found
            return summaries.list_summaries(
                engine,
                project_id,
                flow=flow,
                status=status,
                limit=limit,
                after=after,
                tables=light.table,
            )
        except Exception as exc:  # anything odd: the SDK path answers
            logger.info("light listing not used: %s", type(exc).__name__)
            return None

    def _page_by_rest(
        self,
        *,
        flow: str | None,
        status: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[tuple[ExecutionSummary, str]]:
        """The SDK's listing, started at the key: ZenML orders runs by (created, id)
        descending, as the embedded query does; its ``created`` filter takes whole
        seconds, so the runs of the key's second that come before the key are skipped.

        Private Kitaru API: ``kitaru._client._mappers._map_execution`` and
        ``kitaru.client``'s ``_pipeline_name_filter_value`` and
        ``_list_status_filter_value``: the mapping and the filters
        ``executions.list`` applies to each page of runs.
        """
        from kitaru import client as kitaru_client
        from kitaru._client._mappers import _coerce_status_filter, _map_execution

        if flow is not None and names.public_flow_name(flow) is None:
            return []  # a name no flow can have (Kitaru lists nothing for it)
        kitaru = self.client()
        wanted = _coerce_status_filter(status)
        filters: dict[str, Any] = {}
        if flow is not None:
            filters["pipeline_name"] = kitaru_client._pipeline_name_filter_value(flow)
        if wanted is not None:
            filters["status"] = kitaru_client._list_status_filter_value(wanted)
        if after is not None:
            filters["created"] = f"lte:{keyset.whole_second_after(after[0])}"
        size = max(50, limit)
        rows: list[tuple[ExecutionSummary, str]] = []
        for page in itertools.count(1):
            runs = (
                self.zen()
                .list_pipeline_runs(
                    sort_by="desc:created",
                    page=page,
                    size=size,
                    project=kitaru._project,
                    hydrate=True,
                    **filters,
                )
                .items
            )
            for run in runs:
                key = keyset.run_key(run.created, run.id)
                if after is not None and not key < after:
                    continue
                execution = _map_execution(
                    run=run,
                    client=kitaru,
                    include_details=False,
                    resolve_wait_status=wanted is not None and wanted.value in UNFINISHED,
                )
                if flow is not None and execution.flow_name != flow:
                    continue
                if wanted is not None and execution.status != wanted:
                    continue
                rows.append((serialize.execution_summary(execution), keyset.encode_key(*key)))
                if len(rows) == limit:
                    return rows
            if len(runs) < size:
                break
        return rows

    def flow_exists(self, flow: str) -> bool:
        """Whether a flow of this name was ever run or deployed in the project."""
        store = self.store_sql()
        if store is not None:
            return summaries.pipeline_exists(*store, flow)
        both = names.flow_names(flow)
        wanted = filters.one_of(both)
        return bool(self.zen().list_pipelines(name=wanted, size=1, hydrate=False).total)

    def get_execution(self, exec_id: str) -> Execution:
        """One execution in full (the Execution shape); NotFound naming the id.

        On the embedded store, a few small queries with one steps listing
        (``detail.execution``); on a server, the run, one steps listing and one
        artifacts request (``server_reads.execution``); the SDK's
        ``executions.get`` for what those leave to it (an unknown id on the
        embedded store, adapter checkpoints).
        """
        store = self.store_sql()
        if store is not None:
            found = detail.execution(store[0], exec_id)
            if found is not None:
                return found
        with missing_execution(exec_id):
            client = self.client()
            if store is None:
                found = server_reads.execution(client, exec_id)
                if found is not None:
                    return found
            return serialize.execution(client.executions.get(exec_id))

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
