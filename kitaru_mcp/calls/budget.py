"""The result budget: every tool result fits in a model's context.

A result is measured as the characters of its JSON text (what the text block
carries: ``json.dumps(result, ensure_ascii=False)``). The server's budget
(``--max-result-chars`` / ``KITARU_MCP_MAX_RESULT_CHARS``, default 40,000:
Claude Code shows a result of up to 50,000 characters inline and saves a larger
one to a file) reaches handlers through the call context (``kitaru_mcp.calls.context.current()``);
handlers cut their own output with the helpers below (log tails, list pages,
previews, checkpoint pages), flag it ``truncated`` and say how to go on. The
dispatcher checks every result once more as a last resort.

Pure functions over plain data: no Kitaru, no I/O.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kitaru_mcp.calls import layout

DEFAULT_MAX_RESULT_CHARS = 40_000
MIN_MAX_RESULT_CHARS = 10_000
ENV = "KITARU_MCP_MAX_RESULT_CHARS"
SLACK = 1_000  # kept free for the fields a handler adds after cutting (counts, notes, cursors)

T = TypeVar("T")


class BudgetConfigError(ValueError):
    """A budget below the minimum, or not a number."""


def parse(value: str | int) -> int:
    """A budget from the command line or the environment; BudgetConfigError if unusable."""
    try:
        chars = int(str(value).strip().replace("_", ""))
    except ValueError:
        raise BudgetConfigError(
            f"--max-result-chars / {ENV} must be a whole number of characters, not {value!r}."
        ) from None
    if chars < MIN_MAX_RESULT_CHARS:
        raise BudgetConfigError(
            f"--max-result-chars / {ENV} is {chars}, below the minimum of "
            f"{MIN_MAX_RESULT_CHARS} characters: no tool result could be useful in less. "
            f"Use at least {MIN_MAX_RESULT_CHARS} (default {DEFAULT_MAX_RESULT_CHARS})."
        )
    return chars


def from_env() -> int:
    """The budget set in the environment, or the default (raises BudgetConfigError)."""
    raw = os.environ.get(ENV)
    return parse(raw) if raw not in (None, "") else DEFAULT_MAX_RESULT_CHARS


def size(value: Any) -> int:
    """Characters of ``value``'s JSON text, as the result's text block carries it."""
    return len(json.dumps(value, ensure_ascii=False, default=str))


def fits(value: Any, max_chars: int) -> bool:
    return size(value) <= max_chars


def fit_items(
    items: Sequence[T],
    room: int,
    *,
    from_end: bool = False,
    measure: Callable[[T], int] | None = None,
) -> tuple[list[T], bool]:
    """The longest run of ``items`` whose JSON fits in ``room`` characters, and whether any
    were left out. From the start (a page) or, with ``from_end``, from the end (a tail).

    Each item costs its JSON size as the layout sends it (an entry's null and empty
    fields left out) plus a separator; an empty list costs 2 (``[]``).
    """
    measure = measure or (lambda item: size(layout.entry(item)))
    spent = 2
    kept: list[T] = []
    ordered = reversed(items) if from_end else iter(items)
    for item in ordered:
        cost = measure(item) + 2  # ", " between items
        if spent + cost > room:
            break
        spent += cost
        kept.append(item)
    if from_end:
        kept.reverse()
    return kept, len(kept) < len(items)


def cut_text(text: str, room: int) -> tuple[str, bool]:
    """``text`` cut so that its JSON string form (quotes and escapes included) fits in
    ``room`` characters, never inside a character; and whether it was cut."""
    if size(text) <= room:
        return text, False
    low, high = 0, min(len(text), max(room, 0))
    while low < high:  # the longest prefix that fits (escaping makes it non-linear)
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low], True


def room_for(result: dict[str, Any], key: str, max_chars: int) -> int:
    """Characters left for ``result[key]`` once the rest of the result is counted."""
    rest = {k: v for k, v in result.items() if k != key}
    return max_chars - size(rest) - len(json.dumps(key)) - 2 - SLACK
