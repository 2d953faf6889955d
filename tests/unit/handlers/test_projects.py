"""handlers.projects on a fake gateway: list, show by name/id/prefix, use on one project."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import projects

from kitaru_mcp.core.errors import BackendUnavailable, NotFound, Unsupported
from unit.fakes_admin import DEFAULT_PROJECT_ID, FakeAdminGateway, raised

pytestmark = pytest.mark.unit


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway()


def _show(gw, name_or_id: str) -> models.Project:
    return projects.show_project(gw, models.KitaruProjectsShowInput(name_or_id=name_or_id))


def test_list_puts_the_active_project_first(admin) -> None:
    admin.projects.append({**admin.projects[0], "id": "aaaa", "name": "aardvark", "active": False})
    listed = projects.list_projects(admin, models.KitaruProjectsListInput())
    assert [p.name for p in listed.projects] == ["default", "aardvark"]
    assert listed.active == "default" and listed.count == 2


def test_show_by_name_id_and_id_prefix(admin) -> None:
    current = projects.current_project(admin, models.KitaruProjectsCurrentInput())
    assert current.name == "default" and current.active is True
    assert _show(admin, "default") == current
    assert _show(admin, DEFAULT_PROJECT_ID) == current
    assert _show(admin, DEFAULT_PROJECT_ID[:8]) == current


def test_show_a_missing_project_lists_the_names(admin) -> None:
    missing = raised(NotFound, _show, admin, "no-such-project")
    assert missing.field == "name_or_id"
    assert "the projects here are: default" in missing.message


def test_show_keeps_a_backend_failure_for_a_project_that_exists(admin) -> None:
    def down(name_or_id):
        raise BackendUnavailable("cannot reach the server.")

    admin.get_project = down
    with pytest.raises(BackendUnavailable):
        _show(admin, "default")
    with pytest.raises(NotFound):  # a name that does not exist is still not_found
        _show(admin, "elsewhere")


def test_use_on_a_single_project_connection_is_unsupported(admin) -> None:
    refused = raised(
        Unsupported, projects.use_project, admin, models.KitaruProjectsUseInput(name_or_id="x")
    )
    assert "Pro/Cloud" in refused.message and "'default'" in refused.message
    assert "kitaru login" in refused.hint and refused.field == "name_or_id"


def test_use_switches_on_a_workspace_with_several(admin) -> None:
    admin.multi_project = True
    admin.projects.append({**admin.projects[0], "id": "bbbb", "name": "team", "active": False})
    used = projects.use_project(admin, models.KitaruProjectsUseInput(name_or_id="team"))
    assert used.name == "team" and used.active is True
    missing = raised(
        NotFound, projects.use_project, admin, models.KitaruProjectsUseInput(name_or_id="gone")
    )
    assert "default, team" in missing.message
