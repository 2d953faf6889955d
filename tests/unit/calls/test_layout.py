# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""The result layout: lead keys first, arrays last, repeated entries without empty fields."""

from __future__ import annotations

import json

import pytest

from kitaru_mcp.calls import budget, layout
from kitaru_mcp.calls.stubs import load_contract

pytestmark = pytest.mark.unit


def test_the_lead_keys_come_from_the_contract_in_its_order() -> None:
    lead = list(layout.lead_keys())
    assert lead[:5] == [
        "truncated",
        "partial",
        "has_more",
        "next_cursor",
        "checkpoints_next_cursor",
    ]
    assert "note" in lead and "returned" in lead


def test_how_to_go_on_comes_before_the_bulky_arrays_at_every_depth() -> None:
    data = {
        "exec_id": "aaaa0001",
        "entries": [{"message": "m", "source": "runner"}],
        "returned": 1,
        "execution": {"checkpoints": [{"name": "a"}], "status": "running", "truncated": True},
        "next_cursor": "abc",
        "truncated": True,
        "note": "older entries left out",
    }
    out = layout.lay_out(data)
    assert list(out) == [
        "truncated",
        "next_cursor",
        "note",
        "returned",
        "exec_id",
        "execution",
        "entries",
    ]
    assert list(out["execution"]) == ["truncated", "status", "checkpoints"]
    text = layout.text(out)
    assert text.index('"next_cursor"') < text.index('"entries"')
    assert data["entries"] == [{"message": "m", "source": "runner"}]  # the input is not changed


def test_entries_leave_out_null_and_empty_fields_but_the_top_level_keeps_them() -> None:
    data = {
        "stack": None,
        "entries": [
            {
                "timestamp": None,
                "level": None,
                "checkpoint": None,
                "source": "runner",
                "message": "hello",
                "extra": {},
                "tags": [],
                "zero": 0,
                "no": False,
                "blank": "",
            },
        ],
    }
    out = layout.lay_out(data)
    assert out["stack"] is None
    assert out["entries"] == [
        {"source": "runner", "message": "hello", "zero": 0, "no": False, "blank": ""}
    ]


def test_a_budget_cut_measures_an_entry_as_it_is_sent() -> None:
    entry = {
        "timestamp": None,
        "level": None,
        "checkpoint": None,
        "source": "runner",
        "message": "x" * 40,
    }
    sent = layout.entry(entry)
    assert budget.size(sent) < budget.size(entry)
    kept, cut = budget.fit_items([entry] * 100, 2 + 10 * (budget.size(sent) + 2))
    assert len(kept) == 10 and cut


def test_no_tool_requires_an_entry_field_that_the_layout_would_leave_out() -> None:
    """The generator refuses such a schema; here the published contract is checked again."""

    def entries(schema: dict, inside: bool = False):
        if inside and "properties" in schema:
            yield schema
        for child in schema.get("properties", {}).values():
            yield from entries(child, inside)
        if isinstance(schema.get("items"), dict):
            yield from entries(schema["items"], True)
        for option in schema.get("oneOf", []) + schema.get("anyOf", []):
            yield from entries(option, inside)

    for tool in load_contract().values():
        for entry in entries(tool["outputSchema"]):
            for name in entry.get("required", []):
                kinds = entry["properties"][name].get("type")
                kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
                assert not {"null", "array", "object"} & set(kinds), (tool["name"], name)
    assert json.loads(layout.text({"a": "é"})) == {"a": "é"}
