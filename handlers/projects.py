"""Project tools: list, current, show, use."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers.sdk import sync_connection

from kitaru_mcp import cursor
from kitaru_mcp.errors import NotFound, Unsupported, to_failure


def _project(info: Any) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "name": info.name,
        "display_name": info.display_name,
        "description": info.description,
        "active": bool(info.is_active),
    }


def _all() -> list[Any]:
    from kitaru._config import _projects

    sync_connection()
    return list(_projects.list_projects())


def list_projects(params: models.KitaruProjectsListInput) -> models.KitaruProjectsListOutput:
    projects = sorted((_project(p) for p in _all()), key=lambda p: (not p["active"], p["name"]))
    active = next((p["name"] for p in projects if p["active"]), None)
    page = cursor.paginate(projects, "id", params.limit, params.cursor, {})
    return models.KitaruProjectsListOutput.model_validate(
        {
            "projects": page["items"],
            "count": len(page["items"]),
            "active": active,
            "has_more": page["has_more"],
            "next_cursor": page["next_cursor"],
        }
    )


def current_project(params: models.KitaruProjectsCurrentInput) -> models.Project:
    from kitaru._config import _projects

    sync_connection()
    return models.Project.model_validate(_project(_projects.current_project()))


def _not_found(name_or_id: str) -> NotFound:
    names = ", ".join(sorted(p.name for p in _all())) or "(none)"
    return NotFound(
        f"No project {name_or_id!r}; the projects here are: {names}.",
        field="name_or_id",
        hint="Pass a name or id from kitaru_projects_list.",
    )


def _exists(name_or_id: str) -> bool:
    return any(
        name_or_id in (p.name, str(p.id)) or str(p.id).startswith(name_or_id) for p in _all()
    )


def show_project(params: models.KitaruProjectsShowInput) -> models.Project:
    from kitaru._config import _projects

    sync_connection()
    try:
        info = _projects.get_project(params.name_or_id)
    except Exception as exc:
        if isinstance(to_failure(exc), NotFound) or not _exists(params.name_or_id):
            raise _not_found(params.name_or_id) from None
        raise
    return models.Project.model_validate(_project(info))


def use_project(params: models.KitaruProjectsUseInput) -> models.Project:
    """Switch the active project (ZenML Pro/Cloud only)."""
    from kitaru._config import _projects

    sync_connection()
    try:
        info = _projects.use_project(params.name_or_id)
    except Exception as exc:
        names = {cls.__name__ for cls in type(exc).__mro__}
        if names & {"KitaruFeatureNotAvailableError", "NotImplementedError"}:
            current = _projects.current_project().name
            raise Unsupported(
                f"Switching projects needs a ZenML Pro/Cloud workspace; this connection "
                f"(the embedded local store or an open-source server) has one project, "
                f"{current!r}, which stays in use.",
                field="name_or_id",
                hint="Connect to a Pro/Cloud workspace with `kitaru login <url>` to use "
                "several projects; on this connection keep using the current one.",
            ) from None
        if isinstance(to_failure(exc), NotFound) or not _exists(params.name_or_id):
            raise _not_found(params.name_or_id) from None
        raise
    return models.Project.model_validate(_project(info))
