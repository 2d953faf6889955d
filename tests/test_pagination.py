"""Cursor pagination: stable while new executions arrive, bound to its filters."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_example
from mcp_client import StdioClient

from kitaru_mcp.calls import cursor
from kitaru_mcp.core.errors import InvalidArgument

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_page_continues_after_the_cursor_item_when_items_arrive_on_top() -> None:
    before = [{"id": n} for n in "edcba"]
    first, start = cursor.page(before, "id", 0, None, 2)
    assert [i["id"] for i in first] == ["e", "d"] and start == 0
    after = [{"id": n} for n in "yxedcba"]  # two new items on top
    second, start = cursor.page(after, "id", 2, "d", 2)
    assert [i["id"] for i in second] == ["c", "b"]


def test_cursor_is_bound_to_its_filters() -> None:
    token = cursor.encode(2, "abc", {"flow": "x", "status": None})
    assert cursor.decode(token, {"flow": "x", "status": None}) == (2, "abc")
    with pytest.raises(InvalidArgument, match="other filters"):
        cursor.decode(token, {"flow": "y", "status": None})
    with pytest.raises(InvalidArgument, match="not one this server issued"):
        cursor.decode("garbage!", {})


def test_cursor_carries_a_resume_key_bound_to_its_filters() -> None:
    filters = {"flow": "x", "status": None}
    keyed = cursor.encode(20, "abc", filters, "2026-01-01T00:00:00|abc")
    assert cursor.decode(keyed, filters) == (20, "abc")
    assert cursor.resume_key(keyed, filters) == "2026-01-01T00:00:00|abc"
    assert cursor.resume_key(cursor.encode(20, "abc", filters), filters) is None  # by position
    with pytest.raises(InvalidArgument, match="other filters"):
        cursor.resume_key(keyed, {"flow": "y", "status": None})


def test_a_page_by_resume_key_costs_the_same_at_any_depth() -> None:
    """Each page is one keyset query that starts after the cursor's key (fake gateway)."""
    sys.path.insert(0, str(Path(__file__).parent / "unit"))
    from fakes import FakeGateway, execution
    from kitaru_mcp.generated import models
    from kitaru_mcp.handlers import executions

    gw = FakeGateway([execution(f"{n:08x}", minutes=n) for n in range(300)])
    token, seen = None, []
    while True:
        arguments = {"limit": 20, **({"cursor": token} if token else {})}
        page = executions.list_executions(gw, models.KitaruExecutionsListInput(**arguments))
        seen += [e.exec_id for e in page.executions]
        token = page.next_cursor
        if not token:
            break
    assert seen == [f"{n:08x}" for n in reversed(range(300))]
    asked = [args for name, args in gw.calls if name == "page_executions"]
    assert len(asked) == 15 and all(limit == 21 for _, _, limit, _ in asked)
    assert "list_executions" not in gw.names()


def test_paging_through_executions_is_stable(mcp_server: StdioClient, seeded) -> None:
    for name in ("p1", "p2"):
        run_example("two_steps.py", "two_steps", name=name)
    everything = mcp_server.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 200})
    order = [e["exec_id"] for e in everything["executions"]]
    assert len(order) >= 3

    first = mcp_server.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 2})
    assert first["has_more"] is True and first["next_cursor"]
    run_example("two_steps.py", "two_steps", name="arrived-between-pages")
    seen = [e["exec_id"] for e in first["executions"]]
    token = first["next_cursor"]
    while token:
        page = mcp_server.ok(
            "kitaru_executions_list", {"flow": "two_steps", "limit": 2, "cursor": token}
        )
        seen += [e["exec_id"] for e in page["executions"]]
        token = page["next_cursor"]
    assert seen == order, "no execution skipped or repeated"

    mismatch = mcp_server.error(
        "kitaru_executions_list", {"flow": "approval", "cursor": first["next_cursor"]}
    )
    assert mismatch["field"] == "cursor"


def test_every_list_tool_pages_with_a_cursor() -> None:
    from contract_cases import CONTRACT

    lists = [tool for tool in CONTRACT["tools"] if tool["name"].endswith("_list")]
    assert len(lists) >= 6
    for tool in lists:
        assert {"cursor", "limit"} <= set(tool["inputSchema"]["properties"]), tool["name"]
        assert {"has_more", "next_cursor"} <= set(tool["outputSchema"]["properties"]), tool["name"]


def test_artifacts_page_one_at_a_time(mcp_server: StdioClient, seeded) -> None:
    arguments = {"exec_id": seeded["completed"]}
    everything = mcp_server.ok("kitaru_artifacts_list", arguments)["artifacts"]
    assert len(everything) == 2
    first = mcp_server.ok("kitaru_artifacts_list", {**arguments, "limit": 1})
    assert first["has_more"] is True
    second = mcp_server.ok(
        "kitaru_artifacts_list", {**arguments, "limit": 1, "cursor": first["next_cursor"]}
    )
    assert second["has_more"] is False and second["next_cursor"] is None
    assert first["artifacts"] + second["artifacts"] == everything
