"""``--toolsets`` values: toolset names and aliases, expanded and checked."""

from __future__ import annotations

import argparse


def parse_toolsets(value: str) -> frozenset[str]:
    """Toolset names (or aliases, e.g. ``connection`` for all five admin toolsets)."""
    from kitaru_mcp.generated.tools import TOOLSET_ALIASES, TOOLSETS

    names = {part.strip() for part in value.split(",") if part.strip()}
    unknown = names - set(TOOLSETS) - set(TOOLSET_ALIASES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown toolset(s) {', '.join(sorted(unknown))}; choose from {', '.join(TOOLSETS)}"
        )
    expanded = set()
    for name in names:
        expanded.update(TOOLSET_ALIASES.get(name, (name,)))
    return frozenset(expanded)
