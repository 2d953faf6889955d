"""The logs tool: Kitaru's recorded checkpoint logs plus the runner's own output.

On a server connection the checkpoint records come from the server's log API;
on the local store (where that API refuses) from the log files Kitaru writes.
Filters (checkpoint, since, level) apply first; then the newest ``tail``
entries before the cursor, cut further to the result budget, newest kept.
``next_cursor`` pages backwards to older entries.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp.calls import budget, cursor
from kitaru_mcp.calls.context import current, runs
from kitaru_mcp.core.errors import InvalidArgument
from kitaru_mcp.gateway.ports import GatewayPort

MAX_MESSAGE = 4000  # characters kept of one log message
_NO_LOGS = (
    "No log records were found for this execution: the backend may keep no logs, "
    "or the execution has not logged anything yet."
)


def _level(value: Any) -> str | None:
    """A level name; numbers (20, or "20" as the server's log API sends them) become names."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
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


def checkpoint_entries(
    gw: GatewayPort, exec_id: str, checkpoint: str | None
) -> tuple[list[dict[str, Any]], str]:
    """Kitaru's per-run and per-checkpoint log records, oldest first, and where they came
    from: the server's log API on a server connection, else the log files Kitaru wrote."""
    from_api = gw.log_api_entries(exec_id, checkpoint)
    if from_api is not None:
        return [
            {
                "timestamp": e.get("timestamp"),
                "level": _level(e.get("level")),
                "checkpoint": e.get("checkpoint"),
                "source": "checkpoints",
                "message": str(e.get("message", ""))[:MAX_MESSAGE],
            }
            for e in from_api
        ], "server_log_api"
    entries: list[dict[str, Any]] = []
    for name, lines in gw.checkpoint_log_lines(exec_id, checkpoint):
        entries += parse_records(lines, name)
    entries.sort(key=lambda entry: entry["timestamp"] or "")
    return entries, "log_files"


def runner_entries(exec_id: str) -> list[dict[str, Any]]:
    """The non-blank lines of the runner's log files (kept by this server, not by Kitaru)."""
    record = runs().record(exec_id) or {}
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


_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}


def _check_checkpoint(gw: GatewayPort, exec_id: str, checkpoint: str | None) -> None:
    """The execution exists (NotFound otherwise) and has the checkpoint asked for."""
    names = {c["name"] for c in gw.get_execution(exec_id)["checkpoints"]}
    if checkpoint and checkpoint not in names:
        raise InvalidArgument(
            f"Execution {exec_id} has no checkpoint {checkpoint!r}; "
            f"its checkpoints are: {', '.join(sorted(names)) or '(none)'}.",
            field="checkpoint",
        )


def _since_key(value: str) -> str:
    """An ISO time comparable as text with the stores' timestamps (UTC, no offset, no 'Z')."""
    text = value.strip().replace(" ", "T")
    for suffix in ("Z", "+00:00"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def _check_since(since: str | None) -> str | None:
    if since is None:
        return None
    key = _since_key(since)
    from datetime import datetime

    try:
        datetime.fromisoformat(key)
    except ValueError:
        raise InvalidArgument(
            f"since {since!r} is not an ISO 8601 time.",
            field="since",
            hint="Use e.g. 2026-11-25T17:24:00 or 2026-11-25T17:24:00Z (UTC).",
        ) from None
    return key


def filter_entries(
    entries: list[dict[str, Any]], since: str | None, level: str | None
) -> list[dict[str, Any]]:
    """Entries at or after ``since`` and at or above ``level``; an entry without a time
    (or a level) is left out by that filter."""
    kept = entries
    if since is not None:
        kept = [e for e in kept if e["timestamp"] and _since_key(e["timestamp"]) >= since]
    if level is not None:
        floor = _LEVELS[level]
        kept = [e for e in kept if _LEVELS.get(str(e["level"] or "").upper(), -1) >= floor]
    return kept


def page_back(
    entries: list[dict[str, Any]], end: int, tail: int, max_chars: int, head: dict[str, Any]
) -> tuple[list[dict[str, Any]], int, bool]:
    """The newest ``tail`` entries before position ``end``, cut (oldest first) so that the
    result (``head`` plus the entries) fits in ``max_chars``; their start, and whether the
    budget cut them."""
    window = entries[max(0, end - tail) : end]
    room = budget.room_for({**head, "entries": []}, "entries", max_chars)
    kept, cut = budget.fit_items(window, room, from_end=True)
    return kept, end - len(kept), cut


def get_execution_logs(
    gw: GatewayPort, params: models.GetExecutionLogsInput
) -> models.GetExecutionLogsOutput:
    """Checkpoint logs (time-ordered), then runner output; the newest ``tail`` entries
    (before ``cursor``), within the result budget."""
    since = _check_since(params.since)
    level = params.level
    filters = {
        "exec_id": params.exec_id,
        "checkpoint": params.checkpoint,
        "source": params.source,
        "since": since,
        "level": level,
    }
    position, _ = cursor.decode(params.cursor, filters)
    _check_checkpoint(gw, params.exec_id, params.checkpoint)
    runner = [] if params.checkpoint else runner_entries(params.exec_id)
    source = params.source
    if source == "auto":  # the runner's output is the whole story; Kitaru's records lack prints
        source = "runner" if runner else "checkpoints"
    entries: list[dict[str, Any]] = []
    records_from = None
    if source in ("all", "checkpoints"):
        records, records_from = checkpoint_entries(gw, params.exec_id, params.checkpoint)
        entries += records
    if source in ("all", "runner"):
        entries += runner
    total = len(entries)
    entries = filter_entries(entries, since, level)
    end = min(position, len(entries)) if params.cursor else len(entries)
    head = {"exec_id": params.exec_id, "returned": 0, "truncated": True, "note": _NO_LOGS}
    kept, start, cut = page_back(entries, end, params.tail, current().max_result_chars, head)
    note = None
    if not total:
        note = _NO_LOGS
    elif cut:
        note = (
            f"Cut at the result budget ({current().max_result_chars} characters): "
            f"{len(kept)} of the {min(params.tail, end)} entries asked for. Pass next_cursor "
            "for the older ones, or narrow with since, level or checkpoint."
        )
    elif not entries:
        note = "No log entries match the filters (since, level, checkpoint)."
    return models.GetExecutionLogsOutput.model_validate(
        {
            "exec_id": params.exec_id,
            "entries": kept,
            "returned": len(kept),
            "truncated": start > 0,
            "note": note,
            "next_cursor": cursor.encode(start, "", filters) if start > 0 else None,
            "records_from": records_from,
        }
    )
