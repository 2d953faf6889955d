"""``--workers N`` and ``--stateless``: what the command line asks for, checked.

The supervisor that runs N server processes behind one socket is
``surface.supervisor`` (uvicorn's worker model); this module imports neither
it nor uvicorn, so a stdio server checks its options without them.
"""

from __future__ import annotations

import os
import socket
import sys

from kitaru_mcp.core import settings

WORKERS_ENV = "KITARU_MCP_WORKERS"
STATELESS_ENV = "KITARU_MCP_STATELESS"


class WorkersConfigError(ValueError):
    """``--workers`` cannot be served as asked (exit 2)."""


def parse_workers(raw: str | int | None, transport: str) -> int:
    """``--workers`` (or its env) as a count; WorkersConfigError naming the flag if unusable."""
    if raw is None or raw == "":
        return 1
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise WorkersConfigError(f"--workers {raw!r}: give a whole number of processes.") from None
    if count < 1:
        raise WorkersConfigError(f"--workers {count}: at least 1 process is needed.")
    if count > 1 and transport != "http":
        raise WorkersConfigError(
            "--workers needs --transport http: a stdio server serves exactly one client, "
            "in one process."
        )
    return count


def cores_warning(count: int) -> str | None:
    """A warning when ``count`` workers are more than this machine's cores (allowed)."""
    cores = os.cpu_count() or 1
    if count <= cores:
        return None
    return (
        f"kitaru-mcp: warning: --workers {count} is more than this machine's {cores} cores; "
        "extra workers share cores and add memory without adding throughput."
    )


def kernel_balances() -> bool:
    """Whether the kernel spreads connections across ``SO_REUSEPORT`` listeners (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def stateless_from_env() -> bool:
    return settings.switch(STATELESS_ENV)
