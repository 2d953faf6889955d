"""Stack tools: list."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models


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


def list_stacks(params: models.KitaruStacksListInput) -> models.KitaruStacksListOutput:
    """Every stack of the connection, with its components, and which one is active."""
    import kitaru
    from zenml.client import Client

    active = {info.name for info in kitaru.list_stacks() if info.is_active}
    stacks = [
        {
            "name": stack.name,
            "id": str(stack.id),
            "active": stack.name in active,
            "components": _components(stack),
        }
        for stack in Client().list_stacks(hydrate=True, size=1000).items
    ]
    stacks.sort(key=lambda s: (not s["active"], s["name"]))
    return models.KitaruStacksListOutput.model_validate(
        {"stacks": stacks, "active": next(iter(sorted(active)), None)}
    )
