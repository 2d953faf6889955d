"""The entry a client needs to start this installation of kitaru-mcp."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_MARKERS = ("TOKEN", "KEY", "PASSWORD", "SECRET", "CREDENTIAL", "AUTH")


@dataclass(frozen=True)
class Entry:
    """What a client runs: a command, its arguments, and extra environment variables."""

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def as_json(self, with_type: bool = False) -> dict[str, Any]:
        """The entry as the JSON clients keep it (``type: stdio`` for those that want it)."""
        out: dict[str, Any] = {"type": "stdio"} if with_type else {}
        out["command"] = self.command
        out["args"] = list(self.args)
        if self.env:
            out["env"] = dict(self.env)
        return out

    @classmethod
    def from_mapping(cls, raw: Any) -> Entry | None:
        """An entry read from a client's file (None when it has no command: a URL server)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("command"), str):
            return None
        args = raw.get("args") or []
        env = raw.get("env") or {}
        return cls(
            command=raw["command"],
            args=tuple(str(a) for a in args) if isinstance(args, list) else (),
            env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {},
        )

    def describe(self) -> str:
        """One line for a message: the command line, environment names only (never values)."""
        text = " ".join([self.command, *self.args])
        if self.env:
            text += f" (env: {', '.join(sorted(self.env))})"
        return text


def this_command() -> str:
    """The absolute path of the ``kitaru-mcp`` script next to this interpreter.

    Falls back to the interpreter itself (with ``-m kitaru_mcp``, see ``this_entry``)
    when the script is not there, e.g. when run from a source tree.
    """
    folder = Path(sys.executable).parent
    for name in ("kitaru-mcp", "kitaru-mcp.exe"):
        candidate = folder / name
        if candidate.exists():
            return str(candidate.absolute())
    return str(Path(sys.executable).absolute())


def this_entry(
    mode: str | None = None,
    toolsets: str | None = None,
    target_roots: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Entry:
    """The entry that starts this installation with the options the user chose."""
    command = this_command()
    args: list[str] = []
    if not Path(command).name.startswith("kitaru-mcp"):
        args += ["-m", "kitaru_mcp"]
    if mode:
        args += ["--mode", mode]
    if toolsets:
        args += ["--toolsets", toolsets]
    for root in target_roots or []:
        args += ["--allow-target-root", os.path.realpath(os.path.expanduser(root))]
    return Entry(command=command, args=tuple(args), env=dict(env or {}))


def same_program(command: str) -> bool:
    """Whether ``command`` is this installation's kitaru-mcp (or its interpreter)."""
    try:
        return Path(command).resolve() == Path(this_command()).resolve()
    except OSError:
        return False


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings into a dict; ValueError names the bad one (never its value)."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            shown = key if sep else "(no '=')"
            raise ValueError(f"--env takes KEY=VALUE; got a bad one: {shown}")
        env[key] = value
    return env
