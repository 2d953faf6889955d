"""ZenML's SQL tables and the embedded store's engine.

Private ZenML API (pinned): ``SqlZenStore.engine`` and the table schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def table(name: str) -> Any:
    """One of ZenML's SQLModel table classes (typed Any: its columns are used in queries)."""
    from zenml.zen_stores import schemas

    return getattr(schemas, name)


def engine(zen: Any) -> Any | None:
    """The embedded store's SQLAlchemy engine; None on a server (REST) connection.

    Private ZenML API: ``SqlZenStore.engine`` (the store's own engine).
    """
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    store = zen.zen_store
    return store.engine if isinstance(store, SqlZenStore) else None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
