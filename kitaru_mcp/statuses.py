"""Execution statuses by phase, shared by every handler that asks "is it over?"."""

from __future__ import annotations

FINISHED = frozenset({"completed", "failed", "cancelled"})
UNFINISHED = frozenset({"running", "waiting"})
