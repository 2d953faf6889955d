"""Server-wide settings: the roots `.py` targets must live under, and the numbers.

The CLI turns ``--allow-target-root`` into ``KITARU_MCP_TARGET_ROOTS`` once, at
start-up, before any call is served; handlers only ever read it through
``target_roots()``. Every number the server takes from the environment (time
limits, leases, sizes) is in ``NUMBERS``, read with ``number()``, and every switch
in ``SWITCHES``, read with ``switch()``; the CLI refuses to start on a value that
is no such number or switch (``environment_problems``), so the fallback to the
default is only ever taken by a process started some other way. Nothing here imports Kitaru.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Number:
    """A number the environment may set: its default and what it must be."""

    default: float
    kind: str  # "seconds" (> 0), "seconds_or_zero", "count" (whole, >= 1), "whole", "port"


NUMBERS: dict[str, Number] = {
    "KITARU_MCP_CALL_TIMEOUT": Number(120, "seconds"),
    "KITARU_MCP_CONNECT_TIMEOUT": Number(3, "seconds"),
    "KITARU_MCP_START_TIMEOUT": Number(300, "seconds"),
    "KITARU_MCP_STORE_LOCK_TIMEOUT": Number(300, "seconds"),
    "KITARU_MCP_IDEMPOTENCY_WINDOW": Number(900, "seconds"),
    "KITARU_MCP_CLAIM_LEASE": Number(30, "seconds"),
    "KITARU_MCP_RUNNER_LEASE": Number(30, "seconds"),
    "KITARU_MCP_REQUEST_STATE_TTL": Number(3600, "seconds"),  # a person answers a form
    "KITARU_MCP_HEADER_TIMEOUT": Number(10, "seconds"),
    "KITARU_MCP_AUTH_LEEWAY": Number(30, "seconds_or_zero"),
    "KITARU_MCP_MAX_CONNECTIONS": Number(256, "count"),
    "KITARU_MCP_AUDIT_MAX_BYTES": Number(10 * 1024 * 1024, "whole"),  # 0: never rotate
    "KITARU_MCP_AUDIT_BACKUPS": Number(5, "whole"),
    "KITARU_MCP_PORT": Number(8765, "port"),
}
_EXPECTED = {
    "seconds": "a number of seconds above 0",
    "seconds_or_zero": "a number of seconds, 0 or more",
    "count": "a whole number, 1 or more",
    "whole": "a whole number, 0 or more",
    "port": "a port number from 0 to 65535",
}


def _parsed(raw: str, kind: str) -> float | None:
    try:
        value = float(raw) if kind.startswith("seconds") else int(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if kind == "seconds":
        return value if value > 0 else None
    if kind == "seconds_or_zero":
        return value if value >= 0 else None
    if kind == "count":
        return value if value >= 1 else None
    if kind == "whole":
        return value if value >= 0 else None
    return value if 0 <= value <= 65535 else None


def number(name: str) -> float:
    """The setting ``name`` (one of ``NUMBERS``) from the environment, else its default;
    an int for whole-number kinds."""
    setting = NUMBERS[name]
    raw = os.environ.get(name, "").strip()
    value = _parsed(raw, setting.kind) if raw else None
    if value is None:
        value = setting.default
    return value if setting.kind.startswith("seconds") else int(value)


SWITCHES: dict[str, bool] = {  # name -> default
    "KITARU_MCP_WARMUP": True,  # import Kitaru in the background after tools/list
    "KITARU_MCP_WARM_RUNNER": True,  # keep a runner template
    "KITARU_MCP_STATELESS": False,  # HTTP without sessions
}
_ON = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off"}


def switch(name: str) -> bool:
    """The switch ``name`` (one of ``SWITCHES``): 1/true/yes/on or 0/false/no/off, any
    case; else (unset, empty, anything else) its default."""
    raw = os.environ.get(name, "").strip().lower()
    return True if raw in _ON else False if raw in _OFF else SWITCHES[name]


def environment_problems() -> list[str]:
    """One line per numeric setting or switch whose value is not what it must be (set
    but empty counts as unset)."""
    problems = []
    for name in SWITCHES:
        raw = os.environ.get(name, "").strip()
        if raw and raw.lower() not in _ON | _OFF:
            problems.append(
                f"{name} must be one of 1, true, yes, on, 0, false, no, off, not {raw[:40]!r}."
            )
    for name, setting in NUMBERS.items():
        raw = os.environ.get(name, "").strip()
        if raw and _parsed(raw, setting.kind) is None:
            shown = raw if len(raw) <= 40 else raw[:40] + "..."
            problems.append(f"{name} must be {_EXPECTED[setting.kind]}, not {shown!r}.")
    return problems
