"""ZenML's REST list filters, built in one place: ``oneof`` values and their request chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

PER_REQUEST = 100  # values per ``oneof`` filter: keeps the URL short for any proxy


def one_of(values: Sequence[str]) -> str:
    """The filter that matches any of ``values`` (a single value as itself)."""
    if len(values) == 1:
        return values[0]
    return f"oneof:{json.dumps(list(values), separators=(',', ':'))}"


def chunks(values: Sequence[str], size: int = PER_REQUEST) -> Iterator[list[str]]:
    """``values`` in requests of at most ``size``."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
