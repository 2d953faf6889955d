"""A fake gateway for the read areas: artifacts, logs, statistics, diff and cohort.

Data lives in plain dicts the tests fill; every call is recorded. The
executions' ``list_executions`` follows Kitaru 0.21's paging over a store
that refuses a page past the end (ZenML's "Invalid page N"), so a handler
that asks for one fails the test the way it fails for real.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kitaru_mcp.core.errors import InvalidArgument, NotFound
from kitaru_mcp.gateway.artifacts import ArtifactLoadFailed, LoadedArtifact
from unit.fakes import FakeGateway

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Artifact, ExecutionSummary


def artifact(artifact_id: str, name: str, checkpoint: str | None = "step") -> dict[str, Any]:
    """One artifact in the Artifact shape."""
    return {
        "artifact_id": artifact_id,
        "name": name,
        "kind": None,
        "save_type": "step_output",
        "checkpoint": checkpoint,
        "metadata": {"storage_size": 10},
    }


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


class ReadsFake(FakeGateway):
    """FakeGateway plus artifacts, log lines, flow inputs, diffs and statistics."""

    def __init__(self, executions: list[dict[str, Any]] | None = None) -> None:
        super().__init__(executions)
        self.artifacts: dict[str, list[Any]] = {}  # exec_id -> artifacts
        self.values: dict[str, Any] = {}  # artifact_id -> value (an exception: load fails)
        self.call_artifacts: dict[str, dict[str, dict[str, str]]] = {}  # exec_id -> call_id -> ...
        self.log_lines: dict[str, list[tuple[str | None, list[str]]]] = {}
        self.api_logs: dict[str, list[dict[str, Any]]] | None = None  # a server's log API
        self.inputs: dict[str, dict[str, Any]] = {}
        self.comparisons: dict[tuple[str, str], dict[str, Any]] = {}
        self.store_page_size = 50  # Kitaru 0.21 asks the store for max(50, limit) per page

    # ---------------------------------------------------------------- executions

    def _store_page(self, items: list[Any], page: int, size: int) -> list[Any]:
        """ZenML's paging: a page past the end is an error, not an empty page."""
        pages = max(1, math.ceil(len(items) / size))
        if page > pages:
            raise InvalidArgument(
                f"Invalid page {page}. The requested page size is {size} and there are a "
                f"total of {len(items)} items for this query. The maximum page value "
                f"therefore is {pages}."
            )
        return items[(page - 1) * size : page * size]

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[ExecutionSummary]:
        """Kitaru 0.21's ``executions.list``: store pages from 1 until enough matched."""
        self.calls.append(("list_executions", (flow, status, limit)))
        everything = FakeGateway.list_executions(self, flow=flow, status=status, limit=10**9)
        self.calls.pop()  # the base class recorded its own call
        start, stop = 0, limit
        store_size = max(self.store_page_size, limit)
        found: list[ExecutionSummary] = []
        store_page = 1
        while True:
            batch = self._store_page(everything, store_page, store_size)
            for position, summary in enumerate(batch, start=(store_page - 1) * store_size):
                if position >= start:
                    found.append(summary)
                if stop is not None and position + 1 >= stop:
                    return found
            if len(batch) < store_size:
                return found
            store_page += 1

    # ----------------------------------------------------------------- artifacts

    def _known(self, exec_id: str) -> None:
        if exec_id not in self.executions:
            raise NotFound(f"No execution with exec_id {exec_id!r}.", field="exec_id")

    def list_artifacts(
        self, exec_id: str, *, name: str | None = None, checkpoint: str | None = None
    ) -> list[Artifact]:
        self.calls.append(("list_artifacts", (exec_id, name, checkpoint)))
        self._known(exec_id)
        return [
            a.copy()
            for a in self.artifacts.get(exec_id, [])
            if (name is None or a["name"] == name)
            and (checkpoint is None or a["checkpoint"] == checkpoint)
        ]

    def load_artifact(self, artifact_id: str) -> LoadedArtifact:
        self.calls.append(("load_artifact", (artifact_id,)))
        found = [
            a for arts in self.artifacts.values() for a in arts if a["artifact_id"] == artifact_id
        ]
        if not found:
            raise NotFound(f"No artifact with artifact_id {artifact_id!r}.", field="artifact_id")
        value = self.values.get(artifact_id)
        if isinstance(value, BaseException):
            try:
                raise value
            except BaseException as exc:
                raise ArtifactLoadFailed(found[0]) from exc
        return LoadedArtifact(artifact=found[0], value=value)

    # ---------------------------------------------------------------------- logs

    def checkpoint_log_lines(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[tuple[str | None, list[str]]]:
        self.calls.append(("checkpoint_log_lines", (exec_id, checkpoint)))
        self._known(exec_id)
        return [
            (name, list(lines))
            for name, lines in self.log_lines.get(exec_id, [])
            if checkpoint is None or name == checkpoint
        ]

    def log_api_entries(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[dict[str, Any]] | None:
        """None (the local store) unless ``api_logs`` is set (a server connection)."""
        self.calls.append(("log_api_entries", (exec_id, checkpoint)))
        if self.api_logs is None:
            return None
        self._known(exec_id)
        return [
            dict(e)
            for e in self.api_logs.get(exec_id, [])
            if checkpoint is None or e["checkpoint"] == checkpoint
        ]

    # ---------------------------------------------------------------- inspection

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
        self.calls.append(("execution_statistics", (tuple(group_by), flow, status, since, until)))
        counts: Counter[tuple[Any, ...]] = Counter()
        for e in self.executions.values():
            started = datetime.fromisoformat(e["started_at"]).replace(tzinfo=None)
            if (flow and e["flow"] != flow) or (status and e["status"] != status):
                continue
            if (since and started < since) or (until and started > until):
                continue
            values = {"status": e["status"], "flow": e["flow"], "stack": e["stack"]}
            values["day"] = e["started_at"][:10]
            counts[tuple(values[name] for name in group_by)] += 1
        ranked = counts.most_common()
        groups = [{**dict(zip(group_by, key, strict=True)), "count": n} for key, n in ranked]
        if "day" in group_by:  # as Kitaru: by day, oldest first, the newest days kept
            groups.sort(key=lambda g: (g["day"], repr(sorted(g.items()))))
            return {"groups": groups[-max_groups:], "truncated": len(groups) > max_groups}
        return {"groups": groups[:max_groups], "truncated": len(groups) > max_groups}

    def flow_inputs(self, exec_id: str) -> dict[str, Any]:
        self.calls.append(("flow_inputs", (exec_id,)))
        self._known(exec_id)
        return dict(self.inputs.get(exec_id, {}))

    def flow_inputs_many(self, exec_ids: list[str]) -> dict[str, dict[str, Any]]:
        self.calls.append(("flow_inputs_many", (tuple(exec_ids),)))
        return {i: dict(self.inputs.get(i, {})) for i in exec_ids if i in self.executions}

    def compare_executions(self, exec_id: str, other_exec_id: str) -> dict[str, Any]:
        """Both executions, then the stored comparison or checkpoints paired by name with
        matching hashes; the artifact ids by call and the values that load."""
        self.calls.append(("compare_executions", (exec_id, other_exec_id)))
        for field, known in (("exec_id", exec_id), ("other_exec_id", other_exec_id)):
            if known not in self.executions:
                raise NotFound(f"No execution with exec_id {known!r}.", field=field)
        sides = {
            "base": copy.deepcopy(self.executions[exec_id]),
            "other": copy.deepcopy(self.executions[other_exec_id]),
        }
        ids = {**self.call_artifacts.get(exec_id, {}), **self.call_artifacts.get(other_exec_id, {})}
        known_ids = {a["artifact_id"] for arts in self.artifacts.values() for a in arts}
        values = {
            artifact_id: value
            for artifact_id, value in self.values.items()
            if artifact_id in known_ids and not isinstance(value, BaseException)
        }
        extra = {**sides, "artifact_ids": ids, "values": values}
        if (exec_id, other_exec_id) in self.comparisons:
            return {**self.comparisons[(exec_id, other_exec_id)], **extra}
        base = {c["name"]: c for c in self.executions[exec_id]["checkpoints"]}
        other = {c["name"]: c for c in self.executions[other_exec_id]["checkpoints"]}
        return {
            **extra,
            "checkpoints": [
                comparison_item(
                    name,
                    base[name]["call_id"] if name in base else None,
                    other[name]["call_id"] if name in other else None,
                    status_match=name in base
                    and name in other
                    and base[name]["status"] == other[name]["status"],
                    hashes={"output": ["h", "h"]} if name in base and name in other else {},
                )
                for name in sorted(set(base) | set(other))
            ],
            "urls": [],
            "warnings": [],
        }

    def checkpoint_reached(self, exec_id: str, at: str) -> str:
        self.calls.append(("checkpoint_reached", (exec_id, at)))
        names = [c["name"] for c in self.executions[exec_id]["checkpoints"]]
        if not names:
            return "no_checkpoints"
        return {0: "missing", 1: "present"}.get(names.count(at), "ambiguous")


def comparison_item(
    name: str,
    base_call_id: str | None,
    other_call_id: str | None,
    *,
    status_match: bool = True,
    hashes: dict[str, list[str | None]] | None = None,
    duration_delta_ms: float | None = 1.23456,
) -> dict[str, Any]:
    """One checkpoint pair as ``compare_executions`` returns it."""
    return {
        "name": name,
        "base_call_id": base_call_id,
        "other_call_id": other_call_id,
        "status_match": status_match,
        "duration_delta_ms": duration_delta_ms,
        "token_delta": {},
        "cost_delta_usd": None,
        "artifact_hashes": hashes or {},
    }


if TYPE_CHECKING:  # mypy: the fake offers what the gateway's ports say, with their signatures
    from kitaru_mcp.gateway.ports import ArtifactsPort, InspectionPort, LogsPort

    _artifacts: ArtifactsPort = ReadsFake()
    _logs: LogsPort = ReadsFake()
    _inspection: InspectionPort = ReadsFake()
