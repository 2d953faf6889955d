"""Project tools: list, current, show, use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kitaru_mcp.generated import models

from kitaru_mcp.calls import cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import NotFound, Unsupported
from kitaru_mcp.gateway.ports import GatewayPort

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Project


def _sorted(gw: GatewayPort) -> list[Project]:
    """Active first, then by name."""
    return sorted(gw.list_projects(), key=lambda p: (not p["active"], p["name"]))


def list_projects(
    gw: GatewayPort, params: models.KitaruProjectsListInput
) -> models.KitaruProjectsListOutput:
    """Every project, active first, one page at a time."""
    projects = _sorted(gw)
    active = next((p["name"] for p in projects if p["active"]), None)
    page = cursor.paginate(
        projects, "id", params.limit, params.cursor, {}, current().max_result_chars
    )
    return models.KitaruProjectsListOutput.model_validate(
        cursor.answer(page, "projects", active=active)
    )


def current_project(gw: GatewayPort, params: models.KitaruProjectsCurrentInput) -> models.Project:
    """The active project."""
    return models.Project.model_validate(gw.current_project())


def _not_found(gw: GatewayPort, name_or_id: str) -> NotFound:
    names = ", ".join(sorted(p["name"] for p in gw.list_projects())) or "(none)"
    return NotFound(
        f"No project {name_or_id!r}; the projects here are: {names}.",
        field="name_or_id",
        hint="Pass a name or id from kitaru_projects_list.",
    )


def _exists(gw: GatewayPort, name_or_id: str) -> bool:
    """Whether a project has this name or id, or an id starting with it."""
    return any(
        name_or_id in (p["name"], p["id"]) or p["id"].startswith(name_or_id)
        for p in gw.list_projects()
    )


def show_project(gw: GatewayPort, params: models.KitaruProjectsShowInput) -> models.Project:
    """One project by name, id or id prefix; a miss lists the projects there are."""
    try:
        project = gw.get_project(params.name_or_id)
    except Exception as exc:
        if isinstance(exc, NotFound) or not _exists(gw, params.name_or_id):
            raise _not_found(gw, params.name_or_id) from None
        raise
    return models.Project.model_validate(project)


def use_project(gw: GatewayPort, params: models.KitaruProjectsUseInput) -> models.Project:
    """Switch the active project (ZenML Pro/Cloud only)."""
    try:
        project = gw.use_project(params.name_or_id)
    except Unsupported:
        current = gw.current_project()["name"]
        raise Unsupported(
            f"Switching projects needs a ZenML Pro/Cloud workspace; this connection "
            f"(the embedded local store or an open-source server) has one project, "
            f"{current!r}, which stays in use.",
            field="name_or_id",
            hint="Connect to a Pro/Cloud workspace with `kitaru login <url>` to use "
            "several projects; on this connection keep using the current one.",
        ) from None
    except Exception as exc:
        if isinstance(exc, NotFound) or not _exists(gw, params.name_or_id):
            raise _not_found(gw, params.name_or_id) from None
        raise
    return models.Project.model_validate(project)
