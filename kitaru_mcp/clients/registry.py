"""The clients ``kitaru-mcp install`` knows: where each keeps its servers, and in what shape."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PathFor = Callable[[Path, Path], Path]  # (home, project folder) -> the file


def _app_config(home: Path, *parts: str) -> Path:
    """A desktop app's per-user config folder: macOS, Windows (APPDATA) or XDG."""
    if sys.platform == "darwin":
        return home.joinpath("Library", "Application Support", *parts)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")).joinpath(*parts)
    base = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base).joinpath(*parts)


@dataclass(frozen=True)
class Client:
    name: str
    title: str
    files: dict[str, PathFor]  # scope -> where that scope's file is
    key: str = "mcpServers"  # the object (or TOML table) that holds the servers
    format: str = "json"
    typed: bool = False  # entries carry "type": "stdio"
    cli: str | None = None  # the client's own CLI, used when it is on PATH
    notes: tuple[tuple[str, str], ...] = ()  # (scope or "*", what the user does next)

    def next_step(self, scope: str) -> str | None:
        return next((text for where, text in self.notes if where in (scope, "*")), None)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.files)

    def path(self, scope: str, home: Path, project: Path) -> Path:
        return self.files[scope](home, project)


CLIENTS: dict[str, Client] = {
    client.name: client
    for client in (
        Client(
            "claude-code",
            "Claude Code",
            {
                "user": lambda home, project: home / ".claude.json",
                "project": lambda home, project: project / ".mcp.json",
            },
            typed=True,
            cli="claude",
            notes=(("project", "Claude Code asks once to approve a project's servers"),),
        ),
        Client(
            "claude-desktop",
            "Claude Desktop",
            {
                "user": lambda home, project: _app_config(
                    home, "Claude", "claude_desktop_config.json"
                )
            },
            notes=(("*", "restart Claude Desktop to load it"),),
        ),
        Client(
            "codex",
            "Codex",
            {"user": lambda home, project: home / ".codex" / "config.toml"},
            key="mcp_servers",
            format="toml",
            cli="codex",
        ),
        Client(
            "cursor",
            "Cursor",
            {
                "user": lambda home, project: home / ".cursor" / "mcp.json",
                "project": lambda home, project: project / ".cursor" / "mcp.json",
            },
        ),
        Client(
            "vscode",
            "VS Code",
            {
                "user": lambda home, project: _app_config(home, "Code", "User", "mcp.json"),
                "project": lambda home, project: project / ".vscode" / "mcp.json",
            },
            key="servers",
            typed=True,
        ),
        Client(
            "windsurf",
            "Windsurf",
            {"user": lambda home, project: home / ".codeium" / "windsurf" / "mcp_config.json"},
        ),
        Client(
            "gemini",
            "Gemini CLI",
            {
                "user": lambda home, project: home / ".gemini" / "settings.json",
                "project": lambda home, project: project / ".gemini" / "settings.json",
            },
            cli="gemini",
        ),
    )
}
