"""ZenML's ``oneof`` list filters and their request chunks, built in one place."""

from __future__ import annotations

import json

import pytest

from kitaru_mcp.gateway import filters

pytestmark = pytest.mark.unit


def test_one_value_is_itself_and_several_are_a_compact_oneof() -> None:
    assert filters.one_of(["completed"]) == "completed"
    several = filters.one_of(["running", "initializing"])
    assert several == 'oneof:["running","initializing"]'
    assert json.loads(several.removeprefix("oneof:")) == ["running", "initializing"]


def test_values_go_in_requests_of_at_most_a_hundred() -> None:
    ids = [f"{n:04d}" for n in range(250)]
    sizes = [len(chunk) for chunk in filters.chunks(ids)]
    assert sizes == [100, 100, 50]
    assert [v for chunk in filters.chunks(ids) for v in chunk] == ids
    assert list(filters.chunks([])) == []
