"""The clients' own ``mcp add`` / ``mcp remove`` commands (Claude Code, Codex, Gemini CLI)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kitaru_mcp.clients.entry import Entry
from kitaru_mcp.clients.files import ConfigError


def find(cli: str | None) -> str | None:
    return shutil.which(cli) if cli else None


def add_argv(cli: str, program: str, scope: str, name: str, entry: Entry) -> list[str]:
    """The command line that adds ``entry`` under ``name`` with that client's CLI."""
    if cli == "claude":
        env = [part for key, value in entry.env.items() for part in ("-e", f"{key}={value}")]
        return [
            program,
            "mcp",
            "add",
            "--scope",
            scope,
            name,
            *env,
            "--",
            entry.command,
            *entry.args,
        ]
    if cli == "codex":
        env = [part for key, value in entry.env.items() for part in ("--env", f"{key}={value}")]
        return [program, "mcp", "add", name, *env, "--", entry.command, *entry.args]
    if cli == "gemini":
        env = [part for key, value in entry.env.items() for part in ("-e", f"{key}={value}")]
        args = ["--", *entry.args] if entry.args else []  # `--`: its options are not gemini's
        return [program, "mcp", "add", "--scope", scope, *env, name, entry.command, *args]
    raise ValueError(f"no native add for {cli}")


def remove_argv(cli: str, program: str, scope: str, name: str) -> list[str]:
    if cli == "codex":
        return [program, "mcp", "remove", name]
    return [program, "mcp", "remove", "--scope", scope, name]


def shown(argv: list[str], entry: Entry | None) -> str:
    """The command line for a message, with every --env value replaced by ***."""
    secrets = {f"{k}={v}" for k, v in (entry.env if entry else {}).items()}
    return " ".join(
        f"{part.split('=', 1)[0]}=***" if part in secrets else part
        for part in [Path(argv[0]).name, *argv[1:]]
    )


def run(argv: list[str], cwd: Path, entry: Entry | None = None) -> None:
    """Run the client's CLI; ConfigError with its own message when it fails."""
    try:
        out = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"`{shown(argv, entry)}` did not run: {exc}") from None
    if out.returncode != 0:
        said = (out.stderr.strip() or out.stdout.strip())[-500:]
        for value in entry.env.values() if entry else ():
            if value:
                said = said.replace(value, "***")
        raise ConfigError(f"`{shown(argv, entry)}` failed (exit {out.returncode}): {said}")
