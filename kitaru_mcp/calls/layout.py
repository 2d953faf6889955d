"""How a result's JSON is laid out: what says how to go on first, entries compact.

The one serializer of every tool result (``structuredContent`` and the text
block alike, so both protocol revisions and ``kitaru-mcp call`` show the same
text). The rules are part of the contract (``resultLayout`` in
``generated/contract.json``, written from ``schemas/contract.yaml``):

- in every object the lead keys (``truncated``, ``next_cursor``, ``note``...)
  come first, in the contract's order, then the other fields, then the arrays:
  a client that keeps only the start of a long text (Claude Code's preview)
  still shows whether it was cut and how to page on;
- inside a repeated entry (an item of an array) a field that is null, ``[]`` or
  ``{}`` is left out: the generator refuses a schema whose entries require one.

Pure functions over plain data: no Kitaru, no I/O but the contract's first read.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def lead_keys() -> dict[str, int]:
    """The contract's lead keys, each with its rank."""
    text = resources.files("kitaru_mcp.generated").joinpath("contract.json").read_text("utf-8")
    lead = json.loads(text).get("resultLayout", {}).get("lead", [])
    return {key: rank for rank, key in enumerate(lead)}


def _ordered(value: dict[str, Any], in_entry: bool) -> dict[str, Any]:
    lead = lead_keys()
    first: list[tuple[int, str]] = []
    middle: list[str] = []
    arrays: list[str] = []
    for key, item in value.items():
        if in_entry and (item is None or item == [] or item == {}):
            continue
        if key in lead:
            first.append((lead[key], key))
        elif isinstance(item, list):
            arrays.append(key)
        else:
            middle.append(key)
    keys = [key for _, key in sorted(first)] + middle + arrays
    return {key: lay_out(value[key], in_entry) for key in keys}


def lay_out(value: Any, in_entry: bool = False) -> Any:
    """``value`` in the contract's layout (a new object; ``value`` is not changed)."""
    if isinstance(value, dict):
        return _ordered(value, in_entry)
    if isinstance(value, list):
        return [lay_out(item, True) for item in value]
    return value


def entry(value: Any) -> Any:
    """One repeated entry as the layout will send it (what a budget cut should measure)."""
    return lay_out(value, True)


def text(value: Any) -> str:
    """The text block of a result: its JSON, in the layout ``value`` already has."""
    return json.dumps(value, ensure_ascii=False)
