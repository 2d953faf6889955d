"""Stack tools: list, create and delete."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk
from kitaru_mcp.handlers.sdk import sync_connection

from kitaru_mcp import cursor
from kitaru_mcp.errors import Conflict, InvalidArgument, NotFound


def _components(stack: Any) -> list[dict[str, Any]]:
    components = []
    for kind, members in sorted(stack.components.items(), key=lambda item: str(item[0])):
        for component in members:
            components.append(
                {
                    "type": str(getattr(kind, "value", kind)),
                    "name": component.name,
                    "flavor": component.flavor_name,
                }
            )
    return components


def _stack(stack: Any, *, active: bool) -> dict[str, Any]:
    return {
        "name": stack.name,
        "id": str(stack.id),
        "active": active,
        "components": _components(stack),
    }


def list_stacks(params: models.KitaruStacksListInput) -> models.KitaruStacksListOutput:
    """Every stack of the connection, with its components, and which one is active."""
    import kitaru
    from zenml.client import Client

    sync_connection()
    active = {info.name for info in kitaru.list_stacks() if info.is_active}
    stacks = [
        _stack(stack, active=stack.name in active)
        for stack in Client().list_stacks(hydrate=True, size=1000).items
    ]
    stacks.sort(key=lambda s: (not s["active"], s["name"]))
    page = cursor.paginate(stacks, "id", params.limit, params.cursor, {})
    return models.KitaruStacksListOutput.model_validate(
        {
            "stacks": page["items"],
            "active": next(iter(sorted(active)), None),
            "has_more": page["has_more"],
            "next_cursor": page["next_cursor"],
        }
    )


_UNFINISHED = ("running", "waiting")


def _active_name() -> str:
    from zenml.client import Client

    return str(Client().active_stack_model.name)


def _find_stack(name: str) -> Any | None:
    from zenml.client import Client

    matches = [s for s in Client().list_stacks(name=name, hydrate=True, size=10).items]
    return next((s for s in matches if s.name == name), None)


def _unfinished_executions(stack_name: str) -> list[str]:
    client = sdk.client()
    return [
        execution.exec_id
        for status in _UNFINISHED
        for execution in client.executions.list(status=status, limit=200)
        if execution.stack_name == stack_name
    ]


def _unshared_components(stack: Any) -> list[str]:
    """Components only this stack uses: the ones a recursive delete removes."""
    from zenml.client import Client

    client = Client()
    labels = []
    for kind, members in sorted(stack.components.items(), key=lambda item: str(item[0])):
        for component in members:
            users = client.list_stacks(component_id=component.id, size=2, page=1).items
            if len(users) == 1 and users[0].id == stack.id:
                labels.append(f"{component.name} ({getattr(kind, 'value', kind)})")
    return labels


def _is_managed(stack: Any) -> bool:
    """Kitaru labels the stacks it creates; only their components are deleted with them."""
    labels = getattr(stack, "labels", None) or {}
    return str(labels.get("kitaru.managed", "")).strip().lower() == "true"


def _create(params: models.ManageStackInput) -> dict[str, Any]:
    import kitaru

    if params.force:
        raise InvalidArgument(
            "force applies only to action delete.", field="force", hint="Drop `force`."
        )
    if _find_stack(params.name) is not None:
        raise Conflict(
            f"A stack named {params.name!r} already exists.",
            field="name",
            hint="Choose another name, or delete it first with action delete.",
        )
    before = _active_name()
    kitaru.create_stack(params.name, activate=params.activate)
    after = _active_name()
    created = _find_stack(params.name)
    state = (
        f"it is now the active stack (was {before!r})"
        if after != before
        else f"the active stack is still {after!r}"
    )
    return {
        "action": "create",
        "name": params.name,
        "stack": _stack(created, active=after == params.name),
        "components_deleted": [],
        "active_stack": after,
        "active_changed": after != before,
        "message": f"Created stack {params.name!r}; {state}.",
    }


def _delete(params: models.ManageStackInput) -> dict[str, Any]:
    import kitaru

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
    stack = _find_stack(params.name)
    if stack is None:
        raise NotFound(
            f"No stack named {params.name!r}.",
            field="name",
            hint="List stacks with kitaru_stacks_list to see the names.",
        )
    before = _active_name()
    if not params.force:
        reasons = []
        if before == params.name:
            reasons.append("it is the active stack")
        users = _unfinished_executions(params.name)
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
    managed = _is_managed(stack)
    components = _unshared_components(stack) if managed else []
    kitaru.delete_stack(params.name, recursive=managed, force=params.force)
    after = _active_name()
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


def manage_stack(params: models.ManageStackInput) -> models.ManageStackOutput:
    """Create a local stack (activated only when asked) or delete one (force for active/in use)."""
    sync_connection()
    result = _create(params) if params.action == "create" else _delete(params)
    return models.ManageStackOutput.model_validate(result)
