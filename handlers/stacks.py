"""Stack tools: list, create and delete."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp.calls import cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import Conflict, InvalidArgument, NotFound
from kitaru_mcp.core.statuses import UNFINISHED
from kitaru_mcp.gateway.ports import GatewayPort

_BUSY_SCAN = 200  # unfinished executions looked at per status when deciding "in use"


def list_stacks(
    gw: GatewayPort, params: models.KitaruStacksListInput
) -> models.KitaruStacksListOutput:
    """Every stack of the connection, with its components, and which one is active."""
    stacks = sorted(gw.list_stacks(), key=lambda s: (not s["active"], s["name"]))
    active = next(iter(sorted(s["name"] for s in stacks if s["active"])), None)
    page = cursor.paginate(
        stacks, "id", params.limit, params.cursor, {}, current().max_result_chars
    )
    return models.KitaruStacksListOutput.model_validate(
        cursor.answer(page, "stacks", counted=False, active=active)
    )


def _unfinished_executions(gw: GatewayPort, stack_name: str) -> list[str]:
    return [
        execution["exec_id"]
        for status in sorted(UNFINISHED)
        for execution in gw.list_executions(status=status, limit=_BUSY_SCAN)
        if execution["stack"] == stack_name
    ]


def _create(gw: GatewayPort, params: models.ManageStackInput) -> dict[str, Any]:
    if params.force:
        raise InvalidArgument(
            "force applies only to action delete.", field="force", hint="Drop `force`."
        )
    if gw.find_stack(params.name) is not None:
        raise Conflict(
            f"A stack named {params.name!r} already exists.",
            field="name",
            hint="Choose another name, or delete it first with action delete.",
        )
    before = gw.active_stack()
    gw.create_stack(params.name, activate=bool(params.activate))
    after = gw.active_stack()
    state = (
        f"it is now the active stack (was {before!r})"
        if after != before
        else f"the active stack is still {after!r}"
    )
    return {
        "action": "create",
        "name": params.name,
        "stack": gw.find_stack(params.name),
        "components_deleted": [],
        "active_stack": after,
        "active_changed": after != before,
        "message": f"Created stack {params.name!r}; {state}.",
    }


def _delete(gw: GatewayPort, params: models.ManageStackInput) -> dict[str, Any]:
    if params.activate:
        raise InvalidArgument(
            "activate applies only to action create.", field="activate", hint="Drop `activate`."
        )
    if params.name == "default":
        raise Conflict(
            "The default stack cannot be deleted.",
            field="name",
            hint="It is the fallback every connection needs; delete other stacks only.",
        )
    if gw.find_stack(params.name) is None:
        raise NotFound(
            f"No stack named {params.name!r}.",
            field="name",
            hint="List stacks with kitaru_stacks_list to see the names.",
        )
    before = gw.active_stack()
    if not params.force:
        reasons = []
        if before == params.name:
            reasons.append("it is the active stack")
        users = _unfinished_executions(gw, params.name)
        if users:
            reasons.append(
                f"{len(users)} unfinished (running or waiting) execution(s) use it: "
                + ", ".join(users[:5])
            )
        if reasons:
            raise Conflict(
                f"Stack {params.name!r} is in use: {'; '.join(reasons)}.",
                field="force",
                hint="Pass force: true to delete it anyway (if it is the active stack, the "
                "default stack becomes active), or let those executions finish first.",
            )
    components = gw.delete_stack(params.name, force=bool(params.force))
    after = gw.active_stack()
    state = (
        f"the active stack is now {after!r}"
        if after != before
        else f"the active stack is still {after!r}"
    )
    return {
        "action": "delete",
        "name": params.name,
        "stack": None,
        "components_deleted": components,
        "active_stack": after,
        "active_changed": after != before,
        "message": f"Deleted stack {params.name!r}; {state}.",
    }


def manage_stack(gw: GatewayPort, params: models.ManageStackInput) -> models.ManageStackOutput:
    """Create a local stack (activated only when asked) or delete one (force for active/in use)."""
    result = _create(gw, params) if params.action == "create" else _delete(gw, params)
    return models.ManageStackOutput.model_validate(result)
