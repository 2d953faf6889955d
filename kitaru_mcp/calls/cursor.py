"""Opaque, stable cursors for list tools.

A cursor remembers the last item a page returned and its position. The next
page continues right after that item even when new items arrived at the top
in between (lists are newest first), so no item is skipped or repeated.

A list backed by an ordered query also puts the item's resume key in the
cursor (``k``: the sort columns of the last item): the next page is then a
keyset query that starts right after it, and costs the same at any depth.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from kitaru_mcp.core.errors import InvalidArgument


def encode(position: int, last_id: str, filters: dict[str, Any], key: str | None = None) -> str:
    data: dict[str, Any] = {"p": position, "id": last_id, "f": filters}
    if key is not None:
        data["k"] = key
    raw = json.dumps(data, sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _foreign(exc: Exception) -> InvalidArgument:
    error = InvalidArgument(
        "cursor is not one this server issued.",
        field="cursor",
        hint="Pass next_cursor from the previous page unchanged, or omit it.",
    )
    error.__cause__ = exc
    return error


def _load(cursor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict):
            raise TypeError("not an object")
        return data
    except (ValueError, TypeError) as exc:
        raise _foreign(exc) from exc


def resume_key(cursor: str | None, filters: dict[str, Any]) -> str | None:
    """The keyset resume key of a cursor made for the same filters (None: page by position)."""
    if not cursor:
        return None
    decode(cursor, filters)  # the same checks as any cursor
    key = _load(cursor).get("k")
    if key is not None and not isinstance(key, str):
        raise _foreign(TypeError("key"))
    return key


def decode(cursor: str | None, filters: dict[str, Any]) -> tuple[int, str | None]:
    """(position, last id) from a cursor made for the same filters; (0, None) for none."""
    if not cursor:
        return 0, None
    data = _load(cursor)
    try:
        position, last_id, made_for = int(data["p"]), str(data["id"]), data["f"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _foreign(exc) from exc
    if made_for != filters:
        raise InvalidArgument(
            f"cursor was issued for other filters ({made_for}), not {filters}.",
            field="cursor",
            hint="Repeat the same filters when paging, or start again without a cursor.",
        )
    return position, last_id


def page(items: Sequence[Any], key: str, position: int, last_id: str | None, limit: int):
    """Cut one page from ``items`` (fetched from the top) after the cursor's item."""
    start = position
    if last_id is not None:
        ids = [item[key] for item in items]
        start = ids.index(last_id) + 1 if last_id in ids else position
    return items[start : start + limit], start


def paginate(
    items: Sequence[Mapping[str, Any]],
    key: str,
    limit: int,
    token: str | None,
    filters: dict[str, Any],
    max_chars: int | None = None,
) -> dict[str, Any]:
    """One page of ``items`` (all of them, in a stable order) and how to get the next.

    With ``max_chars`` (the result budget), the page also stops before the items whose
    JSON would take the result past it (``has_more`` and ``next_cursor`` then lead on).
    """
    from kitaru_mcp.calls import budget

    position, last_id = decode(token, filters)
    kept, start = page(items, key, position, last_id, limit)
    if max_chars is not None:
        kept, _ = budget.fit_items(kept, max_chars - budget.SLACK * 2)
    has_more = len(items) > start + len(kept)
    next_cursor = encode(start + len(kept), kept[-1][key], filters) if has_more and kept else None
    return {"items": kept, "has_more": has_more, "next_cursor": next_cursor}


def answer(page: Mapping[str, Any], name: str, *, counted: bool = True, **beside: Any) -> dict:
    """A paged list's answer, the one shape every paged list tool returns: the page's items
    as ``name`` (with their ``count`` when ``counted``), what goes ``beside`` them, then
    ``has_more`` and ``next_cursor``."""
    shaped: dict[str, Any] = {name: page["items"]}
    if counted:
        shaped["count"] = len(page["items"])
    shaped.update(beside)
    shaped["has_more"] = page["has_more"]
    shaped["next_cursor"] = page["next_cursor"]
    return shaped
