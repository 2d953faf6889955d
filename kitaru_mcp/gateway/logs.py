"""Logs: the log files Kitaru records for a run and its checkpoints."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from kitaru_mcp.gateway.base import GatewayBase, missing_execution


def _read_lines(uri: str) -> list[str]:
    path = Path(uri)
    if path.is_file():
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    from zenml.io import fileio  # a remote artifact store (s3://, gs://...)

    with fileio.open(uri, "r") as handle:
        return handle.read().splitlines()


def _collection_lines(collection: Any) -> list[str]:
    """The lines of every log file of a collection; one that cannot be read is skipped."""
    lines: list[str] = []
    for logs in collection or []:
        with contextlib.suppress(Exception):  # a missing or unreadable file: keep the others
            lines += _read_lines(logs.uri)
    return lines


class LogsGateway(GatewayBase):
    def checkpoint_log_lines(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[tuple[str | None, list[str]]]:
        """The raw lines (JSON records) of the run's logs (checkpoint None), then each step's.

        With ``checkpoint``, only that checkpoint's lines. ZenML API: the run's
        and each step's ``log_collection`` (Kitaru's SDK exposes no file-level logs).
        """
        with missing_execution(exec_id):
            run = self.zen().get_pipeline_run(exec_id, hydrate=True)
        found: list[tuple[str | None, list[str]]] = []
        if checkpoint is None:
            found.append((None, _collection_lines(run.log_collection)))
        for name, step in run.steps.items():
            if checkpoint is None or name == checkpoint:
                found.append((name, _collection_lines(getattr(step, "log_collection", None))))
        return found

    def log_api_entries(
        self, exec_id: str, checkpoint: str | None = None
    ) -> list[dict[str, Any]] | None:
        """Kitaru's log API (checkpoint records from the server), oldest first; None on the
        local store, where that API refuses ("requires a server-backed connection")."""
        from zenml.enums import StoreType

        if self.zen().zen_store.type == StoreType.SQL:
            return None
        with missing_execution(exec_id):
            found = self.client().executions.logs(exec_id, checkpoint=checkpoint, source="step")
        return [
            {
                "timestamp": entry.timestamp,
                "level": entry.level,
                "checkpoint": entry.checkpoint_name,
                "message": entry.message,
            }
            for entry in found
        ]
