"""The logs tool: Kitaru's recorded checkpoint logs plus the runner's own output."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk

from kitaru_mcp import state

_MAX_MESSAGE = 4000


def _level(value: Any) -> str | None:
    if isinstance(value, int):
        return logging.getLevelName(value)
    return str(value) if value is not None else None


def _read_lines(uri: str) -> list[str]:
    path = Path(uri)
    if path.is_file():
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    from zenml.io import fileio  # remote artifact stores

    with fileio.open(uri, "r") as handle:
        return handle.read().splitlines()


def _entries_from_collection(collection: Any, checkpoint: str | None) -> list[dict[str, Any]]:
    entries = []
    for logs in collection or []:
        with contextlib.suppress(Exception):
            for line in _read_lines(logs.uri):
                with contextlib.suppress(json.JSONDecodeError, TypeError, AttributeError):
                    record = json.loads(line)
                    entries.append(
                        {
                            "timestamp": record.get("timestamp"),
                            "level": _level(record.get("level")),
                            "checkpoint": checkpoint,
                            "source": "checkpoints",
                            "message": str(record.get("message", ""))[:_MAX_MESSAGE],
                        }
                    )
    return entries


def _checkpoint_entries(exec_id: str, checkpoint: str | None) -> list[dict[str, Any]]:
    """Kitaru's per-run and per-checkpoint log records, oldest first."""
    from zenml.client import Client

    run = Client().get_pipeline_run(exec_id, hydrate=True)
    entries = [] if checkpoint else _entries_from_collection(run.log_collection, None)
    for name, step in run.steps.items():
        if checkpoint is None or name == checkpoint:
            entries += _entries_from_collection(getattr(step, "log_collection", None), name)
    entries.sort(key=lambda entry: entry["timestamp"] or "")
    return entries


def _runner_entries(exec_id: str) -> list[dict[str, Any]]:
    record = state.read_record(exec_id) or {}
    entries = []
    for log in record.get("logs", []):
        with contextlib.suppress(OSError):
            for line in Path(log).read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    entries.append(
                        {
                            "timestamp": None,
                            "level": None,
                            "checkpoint": None,
                            "source": "runner",
                            "message": line[:_MAX_MESSAGE],
                        }
                    )
    return entries


def get_execution_logs(params: models.GetExecutionLogsInput) -> models.GetExecutionLogsOutput:
    """Checkpoint logs (time-ordered), then runner output; the newest ``tail`` entries."""
    execution = sdk.get_execution(params.exec_id)
    if params.checkpoint and params.checkpoint not in {c.name for c in execution.checkpoints}:
        names = ", ".join(sorted({c.name for c in execution.checkpoints})) or "(none)"
        from kitaru_mcp.errors import InvalidArgument

        raise InvalidArgument(
            f"Execution {params.exec_id} has no checkpoint {params.checkpoint!r}; "
            f"its checkpoints are: {names}.",
            field="checkpoint",
        )
    runner = [] if params.checkpoint else _runner_entries(params.exec_id)
    source = params.source
    if source == "auto":  # the runner's output is the whole story; Kitaru's records lack prints
        source = "runner" if runner else "checkpoints"
    entries: list[dict[str, Any]] = []
    if source in ("all", "checkpoints"):
        entries += _checkpoint_entries(params.exec_id, params.checkpoint)
    if source in ("all", "runner"):
        entries += runner
    note = None
    if not entries:
        note = (
            "No log records were found for this execution: the backend may keep no logs, "
            "or the execution has not logged anything yet."
        )
    kept = entries[-params.tail :]
    return models.GetExecutionLogsOutput.model_validate(
        {
            "exec_id": params.exec_id,
            "entries": kept,
            "returned": len(kept),
            "truncated": len(kept) < len(entries),
            "note": note,
        }
    )
