"""Projects: list, current, show, use (through Kitaru's public project API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_mcp.core.errors import Unsupported
from kitaru_mcp.gateway.base import GatewayBase, not_found_as

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Project

# Kitaru's answers when the connection has a single project (local store, open-source server).
_SINGLE_PROJECT = {"KitaruFeatureNotAvailableError", "NotImplementedError"}


def _project(info: Any) -> Project:
    """Kitaru's ProjectInfo in the Project shape of schemas/defs."""
    return {
        "id": str(info.id),
        "name": info.name,
        "display_name": info.display_name,
        "description": info.description,
        "active": bool(info.is_active),
    }


def _missing(name_or_id: str) -> Any:
    return not_found_as(
        f"No project {name_or_id!r}.",
        field="name_or_id",
        hint="Pass a name or id from kitaru_projects_list.",
    )


class ProjectsGateway(GatewayBase):
    def _projects(self) -> Any:
        """``KitaruClient.for_project_management().projects`` (no active project needed)."""
        self.zen()  # follows the configuration and makes sure the store exists
        from kitaru import KitaruClient

        return KitaruClient.for_project_management().projects

    def list_projects(self) -> list[Project]:
        """Every project the user can see (Project shape), the active one marked."""
        return [_project(info) for info in self._projects().list()]

    def current_project(self) -> Project:
        return _project(self._projects().current())

    def get_project(self, name_or_id: str) -> Project:
        """One project by name, id or id prefix; NotFound when none matches."""
        projects = self._projects()
        with _missing(name_or_id):
            return _project(projects.get(name_or_id))

    def use_project(self, name_or_id: str) -> Project:
        """Make the project active; Unsupported on a connection with a single project."""
        projects = self._projects()
        try:
            info = projects.use(name_or_id)
        except Exception as exc:
            if _SINGLE_PROJECT & {cls.__name__ for cls in type(exc).__mro__}:
                raise Unsupported("Switching projects needs a ZenML Pro/Cloud workspace.") from None
            with _missing(name_or_id):
                raise
        return _project(info)
