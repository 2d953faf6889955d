"""Stacks: list them, find one, create and delete."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.base import GatewayBase

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Stack, StackComponent


def _components(stack: Any) -> list[StackComponent]:
    components: list[StackComponent] = []
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


def _stack(stack: Any, *, active: bool) -> Stack:
    """A ZenML stack model in the Stack shape of schemas/defs."""
    return {
        "name": stack.name,
        "id": str(stack.id),
        "active": active,
        "components": _components(stack),
    }


def _is_managed(stack: Any) -> bool:
    """Kitaru labels the stacks it creates; only their components are deleted with them."""
    labels = getattr(stack, "labels", None) or {}
    return str(labels.get("kitaru.managed", "")).strip().lower() == "true"


def _active_stack_id(zen: Any) -> str:
    """The active stack's id, found as ``Client.active_stack_model`` finds it, without
    loading that stack a second time (the listing has it).

    Private ZenML API: ``Client._config`` (the repository's configuration, whose
    ``active_stack_id`` wins over the global one) and the ``ZENML_ACTIVE_STACK_ID``
    variable, read in the order ``active_stack_model`` reads them.
    """
    from zenml.config.global_config import GlobalConfiguration
    from zenml.constants import ENV_ZENML_ACTIVE_STACK_ID

    if from_env := os.environ.get(ENV_ZENML_ACTIVE_STACK_ID):
        return str(from_env)
    config = zen._config
    if config is not None and config.active_stack_id:
        return str(config.active_stack_id)
    return str(GlobalConfiguration().get_active_stack_id())


class StacksGateway(GatewayBase):
    def list_stacks(self) -> list[Stack]:
        """Every stack of the connection with its components (Stack shape), unsorted.

        One listing (on the embedded store, ZenML's tables read directly): the
        active stack is the one whose id is the client's active stack id (how
        ``kitaru.list_stacks`` marks it).
        """
        zen = self.zen()  # follows the configuration first
        active_id = _active_stack_id(zen)
        store = self.store_sql()
        if store is not None:  # the embedded store: two small queries, no models
            from kitaru_mcp.gateway.store import stacks

            return stacks.stacks(store[0], active_id)
        found = zen.list_stacks(hydrate=True, size=1000).items
        return [_stack(stack, active=str(stack.id) == active_id) for stack in found]

    def active_stack(self) -> str:
        """The active stack's name."""
        return str(self.zen().active_stack_model.name)

    def _stack_model(self, name: str) -> Any | None:
        matches = self.zen().list_stacks(name=name, hydrate=True, size=10).items
        return next((s for s in matches if s.name == name), None)

    def find_stack(self, name: str) -> Stack | None:
        """The stack with exactly this name (Stack shape), or None."""
        stack = self._stack_model(name)
        if stack is None:
            return None
        return _stack(stack, active=self.active_stack() == stack.name)

    def create_stack(self, name: str, activate: bool) -> None:
        """Create a local stack (Kitaru's own components), activating it only when asked."""
        import kitaru

        self.sync()
        kitaru.create_stack(name, activate=activate)

    def delete_stack(self, name: str, force: bool) -> list[str]:
        """Delete the stack; return the components deleted with it, as ``name (type)``.

        A stack Kitaru created (labelled ``kitaru.managed``) goes with the
        components only it uses; any other stack's components are kept.
        """
        import kitaru

        stack = self._stack_model(name)
        managed = stack is not None and _is_managed(stack)
        components = self._unshared_components(stack) if managed else []
        kitaru.delete_stack(name, recursive=managed, force=force)
        return components

    def _unshared_components(self, stack: Any) -> list[str]:
        """Components only this stack uses: the ones a recursive delete removes."""
        zen = self.zen()
        labels = []
        for kind, members in sorted(stack.components.items(), key=lambda item: str(item[0])):
            for component in members:
                users = zen.list_stacks(component_id=component.id, size=2, page=1).items
                if len(users) == 1 and users[0].id == stack.id:
                    labels.append(f"{component.name} ({getattr(kind, 'value', kind)})")
        return labels
