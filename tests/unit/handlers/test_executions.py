"""handlers.executions on a fake gateway: paging, filters, not-found."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import executions

from kitaru_mcp.core.errors import InvalidArgument, NotFound

pytestmark = pytest.mark.unit


def _list(gw, **arguments):
    return executions.list_executions(gw, models.KitaruExecutionsListInput(**arguments))


def test_list_is_newest_first_and_filtered(gw):
    page = _list(gw, limit=10)
    assert [e.exec_id for e in page.executions] == ["cccc0003", "bbbb0002", "aaaa0001"]
    assert [e.exec_id for e in _list(gw, flow="greet").executions] == ["bbbb0002", "aaaa0001"]
    assert [e.exec_id for e in _list(gw, status="failed").executions] == ["bbbb0002"]


def test_pages_follow_the_cursor_without_repeats(gw):
    first = _list(gw, limit=2)
    assert first.has_more is True and first.count == 2
    second = _list(gw, limit=2, cursor=first.next_cursor)
    assert [e.exec_id for e in second.executions] == ["aaaa0001"]
    assert second.has_more is False and second.next_cursor is None


def test_cursor_for_other_filters_is_refused(gw):
    first = _list(gw, limit=1)
    with pytest.raises(InvalidArgument) as caught:
        _list(gw, limit=1, flow="sum", cursor=first.next_cursor)
    assert caught.value.field == "cursor"


def test_latest_and_get(gw):
    latest = executions.latest_execution(gw, models.KitaruExecutionsLatestInput(flow="greet"))
    assert latest.exec_id == "bbbb0002" and latest.status == "failed"
    got = executions.get_execution(gw, models.KitaruExecutionsGetInput(exec_id="aaaa0001"))
    assert got.flow == "greet" and [c.name for c in got.checkpoints] == ["step"]


def test_latest_with_no_match_names_the_filters(gw):
    with pytest.raises(NotFound) as caught:
        executions.latest_execution(gw, models.KitaruExecutionsLatestInput(flow="nope"))
    assert "flow='nope'" in caught.value.message


def test_keys_compare_as_naive_utc_and_round_up_to_the_second() -> None:
    """The keyset helpers (keyset.py imports nothing of Kitaru)."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from kitaru_mcp.gateway import keyset

    run_id = "0" * 31 + "a"
    naive = keyset.decode_key(f"2026-11-30T10:00:00.250000|{run_id}")
    shifted = keyset.decode_key(f"2026-11-30T11:00:00.250000+01:00|{run_id}")
    assert naive == shifted == (datetime(2026, 11, 30, 10, 0, 0, 250000), str(uuid.UUID(run_id)))
    aware = datetime(2026, 11, 30, 10, 0, 0, tzinfo=timezone(timedelta(hours=-2)))
    assert keyset.run_key(aware, run_id)[0] == datetime(2026, 11, 30, 12, 0, 0)
    assert keyset.whole_second_after(naive[0]) == "2026-11-30 10:00:01"
    assert keyset.whole_second_after(datetime(2026, 11, 30, 10, 0, 0)) == "2026-11-30 10:00:00"
    with pytest.raises(ValueError):
        keyset.decode_key("2026-11-30T10:00:00|not-a-uuid")
