"""The ``kitaru-mcp`` command: serve MCP over stdio (default)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kitaru_mcp import __version__


def _quiet_kitaru() -> None:
    """No analytics calls and no colour codes from Kitaru/ZenML in a server process."""
    for name in ("ZENML_ANALYTICS_OPT_IN", "KITARU_ANALYTICS_OPT_IN"):
        os.environ.setdefault(name, "false")
    os.environ.setdefault("ZENML_LOGGING_COLORS_DISABLED", "true")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kitaru-mcp",
        description="MCP server for Kitaru executions (stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"kitaru-mcp {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("KITARU_MCP_LOG_LEVEL", "WARNING"))
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _quiet_kitaru()

    import anyio

    from kitaru_mcp.server import build_server, serve_stdio

    server = build_server()
    try:
        anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        return 130
    return 0
