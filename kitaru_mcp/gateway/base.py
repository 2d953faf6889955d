"""What every part of the gateway shares: the connection, and not-found translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kitaru_mcp.core.errors import NotFound, is_not_found
from kitaru_mcp.gateway import session

_projects: dict[tuple[int, str | None], Any] = {}  # (store, project name) -> project id


class GatewayBase:
    """The connection every gateway part uses (one per process, followed on change)."""

    def client(self) -> Any:
        """Kitaru's client (``kitaru.KitaruClient``)."""
        return session.client()

    def zen(self) -> Any:
        """ZenML's client (``zenml.client.Client``), for what Kitaru does not expose."""
        return session.zen_client()

    def store_sql(self) -> tuple[Any, Any] | None:
        """(engine, project id) of the embedded SQL store; None on a server connection.

        Private Kitaru API: ``KitaruClient._project`` (the project Kitaru's
        own queries are scoped to; None means ZenML's active project).
        """
        from kitaru_mcp.gateway.store import tables

        zen = self.zen()
        engine = tables.engine(zen)
        if engine is None:
            return None
        project = self.client()._project
        name = str(project) if project is not None else None
        key = (id(zen.zen_store), name)
        if key not in _projects:
            found = zen.get_project(name) if name else zen.active_project
            _projects[key] = found.id
        return engine, _projects[key]

    def using(self) -> Any:
        """A context for one tool call: the connection is not reloaded under it."""
        return session.in_call()

    def prepare(self) -> None:
        """Start importing Kitaru and opening the store in the background (no wait)."""
        session.start_warm_up()

    def check_reachable(self) -> None:
        """BackendUnavailable at once when the configured server does not accept a connection
        (before work that would otherwise wait out ZenML's ~30 s of retries, e.g. a runner);
        at most once per call, with the probe of the call's clients."""
        session.probe_once()

    def sync(self, probe: bool = True) -> None:
        """Follow configuration changes; with ``probe``, fail fast on a server that is down."""
        session.sync_connection(probe=probe)


@contextmanager
def not_found_as(message: str, *, field: str, hint: str) -> Iterator[None]:
    """Re-raise any not-found failure inside the block as NotFound(message, field, hint)."""
    try:
        yield
    except Exception as exc:
        if not is_not_found(exc):
            raise
        raise NotFound(message, field=field, hint=hint) from exc


def missing_execution(exec_id: str) -> Any:
    """The block's not-found failures name the execution."""
    return not_found_as(
        f"No execution with exec_id {exec_id!r}.",
        field="exec_id",
        hint="List executions with kitaru_executions_list to find a valid exec_id.",
    )
