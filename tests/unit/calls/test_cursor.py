"""The paged-list answer every paged list tool returns, built in one place."""

from __future__ import annotations

import pytest

from kitaru_mcp.calls import cursor

pytestmark = pytest.mark.unit


def test_a_page_becomes_the_answer_with_its_count_and_what_goes_beside() -> None:
    items = [{"id": f"i{n}"} for n in range(5)]
    page = cursor.paginate(items, "id", 2, None, {"f": 1})
    shaped = cursor.answer(page, "things", active="i0")
    assert shaped["things"] == items[:2] and shaped["count"] == 2 and shaped["active"] == "i0"
    assert shaped["has_more"] is True and shaped["next_cursor"] == page["next_cursor"]
    last = cursor.answer(cursor.paginate(items, "id", 2, page["next_cursor"], {"f": 1}), "things")
    assert [t["id"] for t in last["things"]] == ["i2", "i3"]
    assert "count" not in cursor.answer(page, "stacks", counted=False)
