"""Statistics, diff and cohort queries: what they need from Kitaru, as plain data."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from kitaru_mcp.core.errors import NotFound
from kitaru_mcp.gateway import filters, groups, names, serialize, unchanged
from kitaru_mcp.gateway.base import GatewayBase, missing_execution, not_found_as
from kitaru_mcp.gateway.store import inputs
from kitaru_mcp.gateway.store import statistics as store_statistics

_ZENML_TIME = "%Y-%m-%d %H:%M:%S"  # the only format ZenML's datetime filters accept
_GROUPINGS = {"day": "time:day"}  # our group_by name -> Kitaru's, where they differ
_names_lock = threading.Lock()
_names: dict[tuple[str, str], str] = {}  # (kind, id) -> name: ids never change meaning


def time_conditions(since: datetime | None, until: datetime | None) -> list[str]:
    """ZenML ``start_time`` filter conditions for a window of naive UTC times."""
    conditions = []
    if since is not None:
        conditions.append(f"gte:{since.replace(microsecond=0):{_ZENML_TIME}}")
    if until is not None:  # whole seconds only: include the rest of the second asked for
        upper = until.replace(microsecond=0) + timedelta(seconds=1)
        conditions.append(f"lt:{upper:{_ZENML_TIME}}")
    return conditions


class _WindowedStore:
    """A zen store whose run statistics only count runs started inside a time window."""

    def __init__(self, store: Any, conditions: list[str]) -> None:
        self._store = store
        self._conditions = conditions

    def get_run_statistics(self, request: Any) -> Any:
        narrowed = request.filter.model_copy(update={"start_time": list(self._conditions)})
        return self._store.get_run_statistics(request.model_copy(update={"filter": narrowed}))


class _WindowedClient:
    """Stands in for KitaruClient in Kitaru's statistics helper, adding a start-time window.

    Kitaru 0.21's statistics API has no time filter, while ZenML's run filter
    has one (``start_time`` with gte/lt conditions): this hands the helper a
    store that adds the window to every request it builds. Private Kitaru API:
    the helper reads ``client._project`` and ``client._client().zen_store``.
    """

    def __init__(self, client: Any, conditions: list[str]) -> None:
        self._inner = client
        self._conditions = conditions

    @property
    def _project(self) -> Any:
        return self._inner._project

    def _client(self) -> Any:
        zenml_client = self._inner._client()
        store = _WindowedStore(zenml_client.zen_store, self._conditions)

        class _Client:
            zen_store = store

        return _Client()


def _content_hash(value: Any) -> str:
    """Kitaru's content hash of an artifact value (``kitaru.diff._artifact_content_hash``)."""
    payload = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


class InspectionGateway(GatewayBase):
    def _name_of(self, kind: str, object_id: str) -> str:
        """A flow's or stack's name by id (the id itself when it no longer exists)."""
        key = (kind, object_id)
        with _names_lock:
            if key in _names:
                return _names[key]
        zen = self.zen()
        getter = zen.get_pipeline if kind == "flow" else zen.get_stack
        try:
            name = str(getter(object_id, hydrate=False).name)
        except Exception:  # deleted since: the id is all there is
            return object_id
        with _names_lock:
            _names[key] = name
        return name

    def _group(self, keys: dict[str, Any], count: int) -> dict[str, Any]:
        group: dict[str, Any] = {"count": count}
        for key, value in keys.items():
            text = None if value is None else str(value)
            if key == "flow_id":
                group["flow"] = self._name_of("flow", text) if text else None
            elif key == "stack_id":
                group["stack"] = self._name_of("stack", text) if text else None
            elif key in ("status", "day"):
                group[key] = text
        return group

    def execution_statistics(
        self,
        *,
        group_by: list[str],
        flow: str | None = None,
        status: str | None = None,
        stack: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_groups: int = 100,
    ) -> dict[str, Any]:
        """``{"groups": [{count, status?, flow?, stack?, day?}], "truncated": bool}``.

        ``group_by`` names are ours (status, flow, stack, day); times are naive
        UTC. On the embedded store: one grouped aggregate over the run table
        (``store_statistics.statistics``); on a server: the store's statistics endpoint,
        once (``_one_aggregate``). Both give what Kitaru's helper gives
        (``sdk_statistics``), as ``tests/test_differential.py`` checks.
        """
        client = self.client()
        if stack:
            with not_found_as(
                f"No stack named {stack!r}.",
                field="stack",
                hint="List stacks with kitaru_stacks_list.",
            ):
                self.zen().get_stack(stack, hydrate=False)
        store = self.store_sql()
        if store is not None:
            engine, project_id = store
            question = ("statistics", str(project_id), tuple(group_by), flow, status, stack)
            return unchanged.answer(
                unchanged.database_file(engine),
                (*question, since, until, max_groups),
                lambda: store_statistics.statistics(
                    engine, project_id, group_by=group_by, flow=flow, status=status,
                    stack=stack, since=since, until=until, max_groups=max_groups,
                ),
            )  # fmt: skip
        return self._one_aggregate(
            client, group_by, flow=flow, status=status, stack=stack,
            since=since, until=until, max_groups=max_groups,
        )  # fmt: skip

    def _one_aggregate(
        self,
        client: Any,
        group_by: list[str],
        *,
        flow: str | None,
        status: str | None,
        stack: str | None,
        since: datetime | None,
        until: datetime | None,
        max_groups: int,
    ) -> dict[str, Any]:
        """The store's own run statistics in one request (a server's REST endpoint),
        grouped by ZenML status where Kitaru asks once per execution status.

        ZenML API: ``zen_store.get_run_statistics`` with ``RunStatisticsRequest``
        (``SimpleGrouping``/``TimeGrouping``) over a ``PipelineRunFilter`` whose
        ``start_time`` holds the window (the filter Kitaru's helper builds, plus
        the window). Private Kitaru API: ``KitaruClient._project``.
        """
        from zenml.models import (
            RunStatisticsRequest,
            SimpleGrouping,
            StatisticsGroupingType,
            StatisticsTimeGranularity,
            TimeGrouping,
        )
        from zenml.models.v2.core.pipeline_run import PipelineRunFilter

        kinds: dict[str, Any] = {
            "status": StatisticsGroupingType.STATUS,
            "flow": StatisticsGroupingType.PIPELINE,
            "stack": StatisticsGroupingType.STACK,
        }
        groupings: list[Any] = [
            TimeGrouping(
                type=StatisticsGroupingType.TIME,
                name=name,
                granularity=StatisticsTimeGranularity.DAY,
            )
            if name == "day"
            else SimpleGrouping(type=kinds[name], name=name)
            for name in group_by
        ]
        raws = names.raw_for(status) if status else []
        wanted = filters.one_of(raws)
        run_filter = PipelineRunFilter(
            project=client._project, pipeline=flow, stack=stack, status=wanted if raws else None
        )
        conditions = time_conditions(since, until)
        if conditions:  # a list of conditions: set as Kitaru's _WindowedStore sets it
            run_filter = run_filter.model_copy(update={"start_time": conditions})
        request = RunStatisticsRequest(filter=run_filter, groupings=groupings, max_groups=10_000)
        response = self.zen().zen_store.get_run_statistics(request)
        rows = []
        for group in response.groups:
            keys = dict(group.group_keys or {})
            row: dict[str, Any] = {"count": int(group.run_count)}
            if "status" in keys:
                row["status"] = str(getattr(keys["status"], "value", keys["status"]))
            for name, kind in (("flow", "flow"), ("stack", "stack")):
                if name in keys:
                    raw_id = keys[name]
                    row[f"{name}_id"] = str(raw_id) if raw_id is not None else None
                    row[name] = self._name_of(kind, str(raw_id)) if raw_id is not None else None
            if "day" in keys:
                row["day"] = None if keys["day"] is None else str(keys["day"])
            rows.append(row)
        return groups.merge_groups(rows, group_by, max_groups, bool(response.truncated))

    def sdk_statistics(
        self,
        *,
        group_by: list[str],
        flow: str | None = None,
        status: str | None = None,
        stack: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_groups: int = 100,
    ) -> dict[str, Any]:
        """Kitaru's own statistics helper (one aggregate per execution status), with the
        window: the reference the differential test holds the other paths to.

        Private Kitaru API: ``kitaru._client._statistics.get_execution_statistics``
        (the public ``executions.statistics`` takes no client, so no time window).
        """
        from kitaru._client._statistics import get_execution_statistics

        client = self.client()
        conditions = time_conditions(since, until)
        scoped: Any = _WindowedClient(client, conditions) if conditions else client
        result = get_execution_statistics(
            client=scoped,  # the helper reads only ``_project`` and ``_client()``
            group_by=[_GROUPINGS.get(name, name) for name in group_by],
            flow=flow,
            status=status,
            stack=stack,
            max_groups=max_groups,
        )
        return {
            "groups": [self._group(g.keys, g.execution_count) for g in result.groups],
            "truncated": bool(result.truncated),
        }

    def flow_inputs(self, exec_id: str) -> dict[str, Any]:
        """The flow parameters an execution ran with (defaults included).

        ZenML API: the run's ``config.parameters`` (Kitaru's Execution does not carry them).
        """
        store = self.store_sql()
        if store is not None and _is_uuid(exec_id):
            found = inputs.flow_inputs(store[0], [exec_id])
            if exec_id not in found:
                with missing_execution(exec_id):
                    raise NotFound(f"No execution with exec_id {exec_id!r}.")
            return found[exec_id]
        with missing_execution(exec_id):
            run = self.zen().get_pipeline_run(exec_id, hydrate=True)
        return dict(run.config.parameters or {})

    def flow_inputs_many(self, exec_ids: list[str]) -> dict[str, dict[str, Any]]:
        """exec_id -> flow parameters, for many executions at once (missing ids left out).

        On the embedded store: one query, each snapshot's parameters parsed once.
        On a server: one hydrated run listing per 100 ids (ZenML's ``id``
        filter with ``oneof``), reading each run's ``config.parameters``.
        """
        wanted = [i for i in exec_ids if _is_uuid(i)]
        store = self.store_sql()
        if store is not None:
            return inputs.flow_inputs(store[0], wanted)
        zen, found = self.zen(), {}
        for chunk in filters.chunks(wanted):
            listed = zen.list_pipeline_runs(
                id=filters.one_of(chunk),
                hydrate=True,
                size=len(chunk),
            )
            for run in listed.items:
                found[str(run.id)] = dict(run.config.parameters or {})
        return found

    def compare_executions(self, exec_id: str, other_exec_id: str) -> dict[str, Any]:
        """Kitaru's diff of two executions, checkpoint by checkpoint, each fetched once.

        ``{"base": Execution, "other": Execution, "checkpoints": [{name,
        base_call_id, other_call_id, status_match, duration_delta_ms,
        token_delta, cost_delta_usd, artifact_hashes: {artifact: [base_hash,
        other_hash]}}], "artifact_ids": {call_id: {artifact: artifact_id}},
        "values": {artifact_id: value}, "urls": [...], "warnings": [...]}``.
        NotFound names ``exec_id`` or ``other_exec_id``.

        What ``kitaru.diff.diff(exec_id, other_exec_id)`` does, without its
        second fetch of each execution: every artifact value is loaded once,
        hashed as Kitaru hashes it, and handed back for the previews. Private
        Kitaru API: ``kitaru.diff``'s ``_align_checkpoints``,
        ``_compare_checkpoints`` (given the hashes in its cache),
        ``_client_ui_url_context``, ``_execution_project_name_or_id``,
        ``_resolve_compare_flow_version`` and ``build_compare_url_for_executions``,
        and ``KitaruClient._get_artifact_version`` (how ``_artifact_content_hash``
        loads a value; its hash is mirrored by ``_content_hash``).
        """
        from kitaru.diff import (
            _align_checkpoints,
            _client_ui_url_context,
            _compare_checkpoints,
            _execution_project_name_or_id,
            _resolve_compare_flow_version,
            build_compare_url_for_executions,
        )

        client = self.client()
        base = self._kitaru_execution(client, exec_id, "exec_id")
        other = self._kitaru_execution(client, other_exec_id, "other_exec_id")
        loaded: dict[str, Any] = {}
        hashes: dict[str, str] = {}
        artifact_ids: dict[str, dict[str, str]] = {}
        for execution in (base, other):
            for call in execution.checkpoints:
                roles = artifact_ids.setdefault(str(call.call_id), {})
                for artifact in call.artifacts:
                    artifact_id = str(artifact.artifact_id)
                    roles[artifact.name or artifact.kind or "artifact"] = artifact_id
                    if artifact_id in loaded:
                        continue
                    try:
                        value = client._get_artifact_version(artifact_id, hydrate=True).load()
                        hashes[artifact_id] = _content_hash(value)
                    except Exception:  # Kitaru's hash is None then; so is the preview
                        continue
                    loaded[artifact_id] = value
        items = [
            _compare_checkpoints(
                original_cp=left, replay_cp=right, client=client, artifact_hash_cache=hashes
            )
            for left, right in _align_checkpoints(base, other)
        ]
        url = build_compare_url_for_executions(
            server_url=None,
            flow_id=base.flow_id,
            exec_ids=[base.exec_id, other.exec_id],
            flow_version=_resolve_compare_flow_version(base),
            project_name_or_id=_execution_project_name_or_id(base),
            ui_context=_client_ui_url_context(client),
        )
        return {
            "base": serialize.execution(base),
            "other": serialize.execution(other),
            "checkpoints": [
                {
                    "name": item.name,
                    "base_call_id": item.original_call_id,
                    "other_call_id": item.replay_call_id,
                    "status_match": bool(item.status_match),
                    "duration_delta_ms": item.duration_delta_ms,
                    "token_delta": dict(item.token_delta or {}),
                    "cost_delta_usd": item.cost_delta_usd,
                    "artifact_hashes": {
                        name: [left, right] for name, (left, right) in item.artifact_hashes.items()
                    },
                }
                for item in items
            ],
            "artifact_ids": artifact_ids,
            "values": loaded,
            "urls": [str(url)] if url else [],
            "warnings": [],
        }

    def _kitaru_execution(self, client: Any, exec_id: str, field: str) -> Any:
        with not_found_as(
            f"No execution with exec_id {exec_id!r}.",
            field=field,
            hint="List executions with kitaru_executions_list to find a valid exec_id.",
        ):
            return client.executions.get(exec_id)

    def checkpoint_reached(self, exec_id: str, at: str) -> str:
        """Whether checkpoint ``at`` resolves in the execution: present, missing,
        ambiguous or no_checkpoints (Kitaru's own test, on the execution in full)."""
        from kitaru.cohort import execution_replay_at_status

        with missing_execution(exec_id):
            execution = self.client().executions.get(exec_id)
        return str(execution_replay_at_status(execution=execution, at=at))
