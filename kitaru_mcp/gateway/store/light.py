"""Stand-ins for the five ZenML tables a listing reads, for SQLAlchemy Core alone.

While Kitaru still loads, a listing is read from the embedded store
(``gateway.embedded``) with these: ``summaries`` builds the same query over
them as over ZenML's SQLModel classes (``tables.table``), with no Kitaru or
ZenML import. Private ZenML API (pinned by ``tests/test_differential.py``,
which compares the pages): the tables' and columns' names.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


class _Table:
    """A Core table that reads like ZenML's SQLModel class: ``Run.status``, ``select_from(Run)``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        try:
            return self._table.c[name]
        except KeyError:  # SQLAlchemy asks objects what they are: not a column, not here
            raise AttributeError(name) from None

    def __clause_element__(self) -> Any:
        return self._table


def _tables() -> dict[str, _Table]:
    from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid

    meta = MetaData()

    def ids(*names: str) -> list[Column]:
        return [Column(name, Uuid) for name in names]

    return {
        "PipelineRunSchema": _Table(
            Table(
                "pipeline_run",
                meta,
                *ids("id", "project_id", "pipeline_id", "snapshot_id", "stack_id"),
                *ids("original_run_id"),
                Column("status", String),
                Column("created", DateTime),
                Column("start_time", DateTime),
                Column("end_time", DateTime),
            )
        ),
        "PipelineSchema": _Table(
            Table("pipeline", meta, *ids("id", "project_id"), Column("name", String))
        ),
        "PipelineSnapshotSchema": _Table(Table("pipeline_snapshot", meta, *ids("id", "stack_id"))),
        "RunWaitConditionSchema": _Table(
            Table("run_wait_condition", meta, *ids("id", "run_id"), Column("status", String))
        ),
        "StackSchema": _Table(Table("stack", meta, *ids("id"), Column("name", String))),
    }


_TABLES: dict[str, _Table] = {}


def table(name: str) -> Any:
    """The stand-in for ZenML's table class ``name`` (as ``tables.table`` names them)."""
    with _lock:
        if not _TABLES:
            _TABLES.update(_tables())
    return _TABLES[name]
