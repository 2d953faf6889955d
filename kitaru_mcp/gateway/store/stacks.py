"""Stacks and their components, in the order they were created."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.store.tables import table

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Stack, StackComponent


def stacks(engine: Any, active_id: str) -> list[Stack]:
    """Every stack (the Stack shape, ``active`` for ``active_id``), in two small queries.

    The components of a stack in the order the Stack shape lists them from
    ZenML's hydrated model: by type; within a type (sandboxes, alerters...
    may be several) the type's default first, then in the order they were
    added (the order in which ZenML's model loads them from SQLite).
    """
    from sqlalchemy import select
    from sqlmodel import Session

    Stacks = table("StackSchema")
    Composition = table("StackCompositionSchema")
    Component = table("StackComponentSchema")
    with Session(engine) as session:
        found: dict[str, Stack] = {
            str(stack_id): {
                "name": name,
                "id": str(stack_id),
                "active": str(stack_id) == active_id,
                "components": [],
            }
            for stack_id, name in session.execute(select(Stacks.id, Stacks.name))
        }
        members = (
            select(
                Composition.stack_id,
                Composition.default_for_type,
                Component.type,
                Component.name,
                Component.flavor,
            )
            .join(Component, Component.id == Composition.component_id)
            .order_by(*_insertion_order(engine, "stack_composition"))
        )
        ranked: dict[str, list[tuple[tuple[str, bool], StackComponent]]] = {}
        for stack_id, default, kind, name, flavor in session.execute(members):
            component: StackComponent = {"type": str(kind), "name": name, "flavor": flavor}
            ranked.setdefault(str(stack_id), []).append(((str(kind), default is None), component))
    for stack_id, members_of in ranked.items():
        if stack_id in found:
            members_of.sort(key=lambda member: member[0])  # stable: component id order kept
            found[stack_id]["components"] = [component for _, component in members_of]
    return list(found.values())


def _insertion_order(engine: Any, table: str) -> list[Any]:
    """ORDER BY terms for the order rows were added: SQLite's rowid; none elsewhere."""
    from sqlalchemy import literal_column

    return [literal_column(f"{table}.rowid")] if engine.dialect.name == "sqlite" else []
