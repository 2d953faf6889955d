"""handlers.stacks on a fake gateway: listing, and manage_stack's create/delete rules."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import stacks

from kitaru_mcp.core.errors import Conflict, InvalidArgument, NotFound
from unit.fakes import execution
from unit.fakes_admin import FakeAdminGateway, raised

pytestmark = pytest.mark.unit


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway()


def _manage(gw, **arguments) -> models.ManageStackOutput:
    return stacks.manage_stack(gw, models.ManageStackInput(**arguments))


def test_list_puts_the_active_stack_first_then_names(admin) -> None:
    admin.create_stack("alpha", activate=False)
    admin.active = "prod"
    listed = stacks.list_stacks(admin, models.KitaruStacksListInput())
    assert [s.name for s in listed.stacks] == ["prod", "alpha", "default"]
    assert listed.active == "prod" and listed.stacks[0].active is True
    assert listed.has_more is False and listed.next_cursor is None


def test_list_pages_with_a_cursor(admin) -> None:
    first = stacks.list_stacks(admin, models.KitaruStacksListInput(limit=1))
    assert [s.name for s in first.stacks] == ["default"] and first.has_more is True
    rest = stacks.list_stacks(
        admin, models.KitaruStacksListInput(limit=5, cursor=first.next_cursor)
    )
    assert [s.name for s in rest.stacks] == ["prod"] and rest.has_more is False


def test_create_leaves_the_active_stack_unless_asked(admin) -> None:
    created = _manage(admin, action="create", name="scratch")
    assert created.stack.name == "scratch" and created.stack.active is False
    assert (created.active_stack, created.active_changed) == ("default", False)
    assert "still 'default'" in created.message
    activated = _manage(admin, action="create", name="fresh", activate=True)
    assert (activated.active_stack, activated.active_changed) == ("fresh", True)
    assert activated.stack.active is True and "was 'default'" in activated.message


def test_create_refuses_an_existing_name_and_force(admin) -> None:
    exists = raised(Conflict, _manage, admin, action="create", name="prod")
    assert exists.field == "name" and "'prod'" in exists.message
    forced = raised(InvalidArgument, _manage, admin, action="create", name="x", force=True)
    assert forced.field == "force"
    assert "create_stack" not in admin.names()


def test_delete_rules_default_missing_and_activate(admin) -> None:
    default = raised(Conflict, _manage, admin, action="delete", name="default", force=True)
    assert default.field == "name"
    missing = raised(NotFound, _manage, admin, action="delete", name="nope")
    assert missing.field == "name" and "'nope'" in missing.message
    misplaced = raised(InvalidArgument, _manage, admin, action="delete", name="prod", activate=True)
    assert misplaced.field == "activate"
    assert "delete_stack" not in admin.names()


def test_deleting_the_active_stack_needs_force(admin) -> None:
    admin.active = "prod"
    refused = raised(Conflict, _manage, admin, action="delete", name="prod")
    assert refused.field == "force" and "active stack" in refused.message
    assert "force" in refused.hint and "prod" in admin.stacks
    deleted = _manage(admin, action="delete", name="prod", force=True)
    assert (deleted.active_stack, deleted.active_changed) == ("default", True)
    assert deleted.stack is None
    assert deleted.components_deleted == ["prod (artifact_store)", "prod (orchestrator)"]
    assert admin.calls[-1] == ("delete_stack", ("prod", True))


def test_a_stack_busy_with_unfinished_executions_needs_force(admin) -> None:
    busy = [
        execution("run00001", status="running", minutes=1),
        execution("wait0002", status="waiting", minutes=2),
        execution("done0003", status="completed", minutes=3),
    ]
    for e in busy:
        e["stack"] = "prod"
    admin.executions.update({e["exec_id"]: e for e in busy})
    refused = raised(Conflict, _manage, admin, action="delete", name="prod")
    assert "2 unfinished" in refused.message
    assert "run00001" in refused.message and "wait0002" in refused.message
    assert "done0003" not in refused.message
    assert _manage(admin, action="delete", name="prod", force=True).name == "prod"


def test_deleting_an_idle_stack_needs_no_force(admin) -> None:
    admin.stacks["byo"] = {**admin.stacks["prod"], "name": "byo", "managed": False}
    deleted = _manage(admin, action="delete", name="byo")
    assert deleted.components_deleted == [] and deleted.active_changed is False
    assert "still 'default'" in deleted.message
