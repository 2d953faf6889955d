"""The ``install``, ``uninstall`` and ``doctor`` subcommands: their options and their runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kitaru_mcp.clients.registry import CLIENTS

USAGE_ERROR = 2
NAMES = ("install", "uninstall", "doctor")


def add_commands(commands: Any) -> None:
    """Add the three subcommands to the ``kitaru-mcp`` parser's subparsers."""
    known = ", ".join(CLIENTS)
    for verb, summary in (
        ("install", "add this server to an assistant's configuration"),
        ("uninstall", "remove this server from an assistant's configuration"),
    ):
        sub = commands.add_parser(
            verb,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. Clients: {known}. Uses the "
            "client's own CLI (claude, codex, gemini) when it is on PATH, else edits its file: "
            "only this entry changes, a backup is left beside the file before the first change.",
        )
        sub.add_argument("client", choices=list(CLIENTS), metavar="CLIENT", help=known)
        sub.add_argument(
            "--scope",
            choices=("user", "project"),
            default="user",
            help="user (default): for every project; project: a file in the current directory "
            "(claude-code, cursor, vscode, gemini)",
        )
        sub.add_argument("--name", default="kitaru", help="the server's name (default kitaru)")
        sub.add_argument(
            "--dry-run", action="store_true", help="print what would change, change nothing"
        )
        sub.add_argument(
            "--force",
            action="store_true",
            help="replace (or remove) an entry of that name that starts something else",
        )
        sub.add_argument(
            "--no-cli",
            action="store_true",
            help="edit the client's file even when its CLI is on PATH",
        )
        if verb == "install":
            sub.add_argument(
                "--mode",
                dest="entry_mode",
                choices=("read-only", "standard", "destructive"),
                help="the --mode the client starts the server with",
            )
            sub.add_argument(
                "--toolsets", dest="entry_toolsets", metavar="LIST", help="the --toolsets to serve"
            )
            sub.add_argument(
                "--allow-target-root",
                dest="entry_roots",
                action="append",
                metavar="PATH",
                help="a --allow-target-root for the server (repeatable; made absolute)",
            )
            sub.add_argument(
                "--env",
                dest="entry_env",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="an environment variable for the server (repeatable); the file is then 0600",
            )
    doctor = commands.add_parser(
        "doctor",
        help="check this installation: versions, connection, target roots, PATH, clients",
        description="One line a check, ✓ or ✗ with the fix. Exit 1 when a check fails. "
        "Runs no flow and writes nothing; never prints a credential.",
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        from kitaru_mcp.clients import doctor

        return doctor.main(as_json=args.json, out=sys.stdout)
    return _change(args)


def _change(args: argparse.Namespace) -> int:
    from kitaru_mcp.clients import install
    from kitaru_mcp.clients.entry import parse_env, this_entry
    from kitaru_mcp.clients.files import ConfigError

    client = CLIENTS[args.client]
    prog = f"kitaru-mcp {args.command}"
    if args.scope not in client.scopes:
        print(
            f"{prog}: {client.title} has no {args.scope} scope; it has: {', '.join(client.scopes)}",
            file=sys.stderr,
        )
        return USAGE_ERROR
    target = install.Target(
        client=client,
        scope=args.scope,
        name=args.name,
        home=Path(os.path.expanduser("~")),
        project=Path.cwd(),
        use_cli=not args.no_cli,
    )
    try:
        if args.command == "uninstall":
            return install.uninstall(target, args.force, args.dry_run, sys.stdout)
        if args.entry_toolsets:
            from kitaru_mcp.surface.toolsets import parse_toolsets

            parse_toolsets(args.entry_toolsets)  # unknown names: ArgumentTypeError below
        env = parse_env(args.entry_env)
        entry = this_entry(args.entry_mode, args.entry_toolsets, args.entry_roots, env)
        return install.install(target, entry, args.force, args.dry_run, sys.stdout)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return install.FAILED
    except OSError as exc:
        print(f"{prog}: {exc.filename or target.path}: {exc.strerror}", file=sys.stderr)
        return install.FAILED
