"""The note a person sees when they start ``kitaru-mcp`` by hand in a terminal."""

from __future__ import annotations

import contextlib
from typing import TextIO

HINT = (
    "kitaru-mcp {version}: an MCP server for Kitaru. It now waits for an MCP client on stdin "
    "(JSON-RPC), so it prints nothing more.\n"
    "  Add it to your assistant: kitaru-mcp install <client> (claude-code, claude-desktop, "
    "codex, cursor, vscode, windsurf, gemini); check it: kitaru-mcp doctor. Ctrl-C stops it.\n"
)


def print_hint(stdin: TextIO, stderr: TextIO) -> bool:
    """Print the note on stderr when stdin is a terminal (never for a pipe or a socket)."""
    try:
        interactive = stdin.isatty()
    except (ValueError, OSError):
        return False
    if not interactive:
        return False
    from kitaru_mcp import __version__

    with contextlib.suppress(OSError, ValueError):
        stderr.write(HINT.format(version=__version__))
        stderr.flush()
    return True
