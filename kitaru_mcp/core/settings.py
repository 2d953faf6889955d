"""Server-wide settings that handlers read: the roots `.py` targets must live under.

The CLI turns ``--allow-target-root`` into ``KITARU_MCP_TARGET_ROOTS`` once, at
start-up, before any call is served; handlers only ever read it through
``target_roots()``. Nothing here imports Kitaru.
"""

from __future__ import annotations

import os
from pathlib import Path

from kitaru_mcp.core.errors import InvalidArgument

TARGET_ROOTS_ENV = "KITARU_MCP_TARGET_ROOTS"


def target_roots() -> list[Path]:
    """The directories `.py` targets may live under (symlinks resolved); default the cwd."""
    raw = os.environ.get(TARGET_ROOTS_ENV, "")
    parts = [part for part in raw.split(os.pathsep) if part.strip()]
    return [Path(part).expanduser().resolve() for part in parts] or [Path.cwd().resolve()]


def is_file_target(module_ref: str) -> bool:
    """Whether the part of a target before ``:`` names a file rather than a module."""
    return module_ref.endswith(".py") or "/" in module_ref or os.sep in module_ref


def check_target(target: str, field: str = "target") -> None:
    """Refuse a `.py` target outside the allowed roots (symlinks and ``..`` resolved).

    Module targets (``pkg.mod:flow``) are imported by name from the server's
    working directory and ``sys.path``; they are not checked here.
    """
    module_ref = target.split(":")[0]
    if not is_file_target(module_ref):
        return
    resolved = Path(module_ref).expanduser().resolve()
    roots = target_roots()
    if any(resolved.is_relative_to(root) for root in roots):
        return
    shown = ", ".join(str(root) for root in roots)
    raise InvalidArgument(
        f"target file {module_ref!r} resolves to {resolved}, which is outside the allowed "
        f"target roots ({shown}).",
        field=field,
        hint="Use a file under an allowed root, or start kitaru-mcp with "
        f"--allow-target-root <dir> (env {TARGET_ROOTS_ENV}, {os.pathsep!r}-separated).",
    )
