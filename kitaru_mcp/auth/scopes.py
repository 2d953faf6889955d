"""The scope ladder and what each tool, resource and prompt needs.

``kitaru:read`` < ``kitaru:write`` < ``kitaru:destructive``: each scope
includes the ones before it. A tool's required scope comes from its
annotations alone (read-only: read; destructive: destructive; anything else:
write), so the generator, the docs and the server agree. What a caller may do
is always capped by the server's own ``--mode`` and ``--toolsets``: a scope
never serves a tool the server does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

READ = "kitaru:read"
WRITE = "kitaru:write"
DESTRUCTIVE = "kitaru:destructive"
LADDER = (READ, WRITE, DESTRUCTIVE)
# the highest scope each --mode can honour
MODE_CAP = {"read-only": READ, "standard": WRITE, "destructive": DESTRUCTIVE}


def scope_for(annotations: Mapping[str, Any]) -> str:
    """The scope a tool with these annotations needs."""
    if annotations.get("readOnlyHint"):
        return READ
    if annotations.get("destructiveHint", True):  # MCP's default for a non-read-only tool
        return DESTRUCTIVE
    return WRITE


def level(scope: str) -> int:
    """1, 2 or 3 for the ladder's scopes; 0 for any other."""
    return LADDER.index(scope) + 1 if scope in LADDER else 0


def granted(scopes: Iterable[str]) -> frozenset[str]:
    """Every ladder scope the given ones include (``kitaru:write`` -> read and write)."""
    top = max((level(scope) for scope in scopes), default=0)
    return frozenset(LADDER[:top])


def allows(scopes: frozenset[str] | None, needed: str) -> bool:
    """Whether a caller holding ``scopes`` (None: not limited by a token) may do ``needed``."""
    return scopes is None or needed in granted(scopes)


def highest(needed: Iterable[str]) -> str:
    """The one scope that covers all of ``needed`` (read when nothing is needed)."""
    return max(needed, key=level, default=READ)


def supported(mode: str) -> list[str]:
    """The scopes a server in ``mode`` can honour, lowest first."""
    return list(LADDER[: level(MODE_CAP.get(mode, DESTRUCTIVE))])
