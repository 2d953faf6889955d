"""Execution statuses by phase, shared by every handler that asks "is it over?"."""

from __future__ import annotations

FINISHED = frozenset({"completed", "failed", "cancelled"})
UNFINISHED = frozenset({"running", "waiting"})
# ZenML's run statuses under which a process is still on the execution (the reaper
# marks such an execution failed when its runner died)
LIVE_RUN_STATUSES = frozenset({"initializing", "provisioning", "queued", "running", "resuming"})
