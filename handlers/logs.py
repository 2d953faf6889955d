"""The logs tool: Kitaru's recorded checkpoint logs plus the runner's own output."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp import state
from kitaru_mcp.errors import InvalidArgument
from kitaru_mcp.gateway import Gateway

MAX_MESSAGE = 4000  # characters kept of one log message
_NO_LOGS = (
    "No log records were found for this execution: the backend may keep no logs, "
    "or the execution has not logged anything yet."
)


def _level(value: Any) -> str | None:
    if isinstance(value, int):
        return logging.getLevelName(value)
    return str(value) if value is not None else None


def parse_records(lines: list[str], checkpoint: str | None) -> list[dict[str, Any]]:
    """Kitaru's JSON log lines as entries; a line that is not a JSON record is skipped."""
    entries = []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError, TypeError, AttributeError):
            record = json.loads(line)
            entries.append(
                {
                    "timestamp": record.get("timestamp"),
                    "level": _level(record.get("level")),
                    "checkpoint": checkpoint,
                    "source": "checkpoints",
                    "message": str(record.get("message", ""))[:MAX_MESSAGE],
                }
            )
    return entries


def checkpoint_entries(gw: Gateway, exec_id: str, checkpoint: str | None) -> list[dict[str, Any]]:
    """Kitaru's per-run and per-checkpoint log records, oldest first."""
    entries: list[dict[str, Any]] = []
    for name, lines in gw.checkpoint_log_lines(exec_id, checkpoint):
        entries += parse_records(lines, name)
    entries.sort(key=lambda entry: entry["timestamp"] or "")
    return entries


def runner_entries(exec_id: str) -> list[dict[str, Any]]:
    """The non-blank lines of the runner's log files (kept by this server, not by Kitaru)."""
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
                            "message": line[:MAX_MESSAGE],
                        }
                    )
    return entries


def _check_checkpoint(gw: Gateway, exec_id: str, checkpoint: str | None) -> None:
    """The execution exists (NotFound otherwise) and has the checkpoint asked for."""
    names = {c["name"] for c in gw.get_execution(exec_id)["checkpoints"]}
    if checkpoint and checkpoint not in names:
        raise InvalidArgument(
            f"Execution {exec_id} has no checkpoint {checkpoint!r}; "
            f"its checkpoints are: {', '.join(sorted(names)) or '(none)'}.",
            field="checkpoint",
        )


def get_execution_logs(
    gw: Gateway, params: models.GetExecutionLogsInput
) -> models.GetExecutionLogsOutput:
    """Checkpoint logs (time-ordered), then runner output; the newest ``tail`` entries."""
    _check_checkpoint(gw, params.exec_id, params.checkpoint)
    runner = [] if params.checkpoint else runner_entries(params.exec_id)
    source = params.source
    if source == "auto":  # the runner's output is the whole story; Kitaru's records lack prints
        source = "runner" if runner else "checkpoints"
    entries: list[dict[str, Any]] = []
    if source in ("all", "checkpoints"):
        entries += checkpoint_entries(gw, params.exec_id, params.checkpoint)
    if source in ("all", "runner"):
        entries += runner
    kept = entries[-params.tail :]
    return models.GetExecutionLogsOutput.model_validate(
        {
            "exec_id": params.exec_id,
            "entries": kept,
            "returned": len(kept),
            "truncated": len(kept) < len(entries),
            "note": None if entries else _NO_LOGS,
        }
    )
