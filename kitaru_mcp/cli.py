"""The ``kitaru-mcp`` command: serve MCP over stdio (default)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kitaru_mcp import __version__

TOOLSETS = ("execution", "artifact", "connection")


def _quiet_kitaru() -> None:
    """No analytics calls and no colour codes from Kitaru/ZenML in a server process."""
    for name in ("ZENML_ANALYTICS_OPT_IN", "KITARU_ANALYTICS_OPT_IN"):
        os.environ.setdefault(name, "false")
    os.environ.setdefault("ZENML_LOGGING_COLORS_DISABLED", "true")


def _toolsets(value: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = names - set(TOOLSETS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown toolset(s) {', '.join(sorted(unknown))}; choose from {', '.join(TOOLSETS)}"
        )
    return names


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kitaru-mcp",
        description="MCP server for Kitaru executions (stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"kitaru-mcp {__version__}")
    parser.add_argument(
        "--mode",
        choices=("read-only", "standard", "destructive"),
        default=os.environ.get("KITARU_MCP_MODE", "standard"),
        help="read-only: only read tools; standard (default): all but destructive tools "
        "(cancel, abort_wait, deletes, stop server); destructive: every tool. "
        "Env: KITARU_MCP_MODE.",
    )
    parser.add_argument(
        "--read-only",
        dest="mode",
        action="store_const",
        const="read-only",
        help="the same as --mode read-only",
    )
    parser.add_argument(
        "--toolsets",
        type=_toolsets,
        default=os.environ.get("KITARU_MCP_TOOLSETS") or None,
        help=f"serve only these groups, comma-separated ({', '.join(TOOLSETS)}). "
        "Env: KITARU_MCP_TOOLSETS.",
    )
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=float(os.environ.get("KITARU_MCP_CALL_TIMEOUT", "120")),
        help="seconds one tool call may take before it is a timeout error (default 120)",
    )
    parser.add_argument("--log-level", default=os.environ.get("KITARU_MCP_LOG_LEVEL", "WARNING"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if isinstance(args.toolsets, str):  # from the environment
        args.toolsets = _toolsets(args.toolsets)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _quiet_kitaru()

    import anyio

    from kitaru_mcp.server import ServeOptions, build_server, serve_stdio

    options = ServeOptions(mode=args.mode, toolsets=args.toolsets, call_timeout_s=args.call_timeout)
    server = build_server(options)
    try:
        anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        return 130
    return 0
