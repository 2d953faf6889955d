"""The ``kitaru-mcp`` command: serve MCP over stdio (default), or use the tools from a terminal.

- ``kitaru-mcp``: serve MCP over stdio.
- ``kitaru-mcp --transport http [--host 127.0.0.1] [--port 8765]``: serve MCP
  over streamable HTTP (see ``kitaru_mcp.surface.http_transport``); ``--stateless`` keeps
  no session, ``--workers N`` serves from N processes behind one socket
  (``kitaru_mcp.surface.workers``).
- ``kitaru-mcp tools [--json]``: list the tools.
- ``kitaru-mcp call <tool> ['<json arguments>' | -]``: run one tool through the
  same validation, handler and error boundary as an MCP call; the result (or
  the tool error) is printed as JSON on stdout; exit 1 on a tool error.
- ``kitaru-mcp contract``: print the machine-readable contract.
- ``kitaru-mcp install CLIENT`` / ``uninstall CLIENT``: add this server to an
  assistant's configuration, or remove it; ``kitaru-mcp doctor``: check this
  installation (see ``kitaru_mcp.clients``).

Exit status 2 means bad usage (unknown tool, arguments not a JSON object).
Only ``call`` and serving import Kitaru, and only when a tool needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from typing import Any

from kitaru_mcp import __version__
from kitaru_mcp.core import settings
from kitaru_mcp.surface.toolsets import parse_toolsets

USAGE_ERROR = 2


def _quiet_kitaru() -> None:
    """No analytics calls and no colour codes from Kitaru/ZenML in a server process."""
    for name in ("ZENML_ANALYTICS_OPT_IN", "KITARU_ANALYTICS_OPT_IN"):
        os.environ.setdefault(name, "false")
    os.environ.setdefault("ZENML_LOGGING_COLORS_DISABLED", "true")


def _serve_options(parser: argparse.ArgumentParser) -> None:
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
        type=parse_toolsets,
        default=os.environ.get("KITARU_MCP_TOOLSETS") or None,
        help="serve only these toolsets, comma-separated (execution, artifact, connection, "
        "stacks, deployments, projects, secrets; connection also selects the last four). "
        "Env: KITARU_MCP_TOOLSETS.",
    )
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=settings.number("KITARU_MCP_CALL_TIMEOUT"),
        help="seconds one tool call may take before it is a timeout error (default 120)",
    )
    parser.add_argument(
        "--max-result-chars",
        default=os.environ.get("KITARU_MCP_MAX_RESULT_CHARS") or None,
        metavar="N",
        help="largest tool result, in characters of JSON (default 40000, at least 10000); "
        "logs, lists and previews are cut to it and say how to go on. "
        "Env: KITARU_MCP_MAX_RESULT_CHARS.",
    )
    parser.add_argument(
        "--allow-target-root",
        dest="target_roots",
        action="append",
        metavar="PATH",
        help="a directory whose .py files kitaru_executions_run may run (repeatable; default: "
        "the server's working directory). Env: KITARU_MCP_TARGET_ROOTS (os.pathsep-separated).",
    )
    http = parser.add_argument_group("HTTP transport")
    http.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default=os.environ.get("KITARU_MCP_TRANSPORT", "stdio"),
        help="stdio (default) or http (streamable HTTP at /mcp). Env: KITARU_MCP_TRANSPORT.",
    )
    http.add_argument(
        "--host",
        default=os.environ.get("KITARU_MCP_HOST", "127.0.0.1"),
        help="address to bind (default 127.0.0.1); any non-loopback address needs a token",
    )
    http.add_argument("--port", type=int, default=settings.number("KITARU_MCP_PORT"), help="port")
    http.add_argument(
        "--token",
        default=None,
        help="bearer token every request must carry (at least 16 characters). Prefer the "
        "env KITARU_MCP_TOKEN: a command line is visible to other local users.",
    )
    http.add_argument(
        "--allow-origin",
        dest="allow_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an Origin allowed besides loopback ones, e.g. https://app.example.com "
        "(repeatable; http://host:* for any port)",
    )
    http.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="a Host header value allowed besides loopback ones and --host (repeatable)",
    )
    http.add_argument(
        "--workers",
        default=os.environ.get("KITARU_MCP_WORKERS") or None,
        metavar="N",
        help="serve HTTP from N processes behind one socket (default 1; implies --stateless). "
        "Env: KITARU_MCP_WORKERS.",
    )
    http.add_argument(
        "--stateless",
        action="store_true",
        default=None,
        help="keep no session between HTTP requests (no Mcp-Session-Id; 2025-11-25 clients "
        "cannot be asked mid-call). Env: KITARU_MCP_STATELESS.",
    )
    _auth_options(http)


def _auth_options(http: Any) -> None:
    """``--auth oauth`` and its settings, and the HTTP front's limits (kitaru_mcp.auth)."""
    env = os.environ.get
    http.add_argument(
        "--auth",
        choices=("none", "oauth"),
        default=env("KITARU_MCP_AUTH", "none"),
        help="oauth: an OAuth 2.1 resource server; access tokens of --auth-issuer decide who "
        "may call what (scopes kitaru:read/write/destructive). Exclusive with --token. "
        "Env: KITARU_MCP_AUTH.",
    )
    http.add_argument(
        "--auth-issuer",
        metavar="URL",
        help="the authorization server (https, or http on loopback). Env: KITARU_MCP_AUTH_ISSUER.",
    )
    http.add_argument(
        "--auth-audience",
        metavar="URL",
        help="the audience tokens must carry (default: the public /mcp URL). "
        "Env: KITARU_MCP_AUTH_AUDIENCE.",
    )
    http.add_argument(
        "--public-url",
        metavar="URL",
        help="this server's URL as clients reach it, behind a proxy (e.g. https://mcp.example.com)."
        " Env: KITARU_MCP_PUBLIC_URL.",
    )
    http.add_argument(
        "--auth-jwks-url",
        metavar="URL",
        help="the issuer's JWKS (default: found through its metadata). "
        "Env: KITARU_MCP_AUTH_JWKS_URL.",
    )
    http.add_argument(
        "--auth-introspection-url",
        metavar="URL",
        help="RFC 7662 introspection endpoint for opaque tokens; this server's client "
        "credentials come from KITARU_MCP_AUTH_CLIENT_ID and KITARU_MCP_AUTH_CLIENT_SECRET. "
        "Env: KITARU_MCP_AUTH_INTROSPECTION_URL.",
    )
    http.add_argument(
        "--auth-leeway",
        type=float,
        default=settings.number("KITARU_MCP_AUTH_LEEWAY"),
        metavar="S",
        help="clock leeway for exp/nbf, in seconds (default 30)",
    )
    http.add_argument(
        "--header-timeout",
        type=float,
        default=settings.number("KITARU_MCP_HEADER_TIMEOUT"),
        metavar="S",
        help="close a connection whose request headers take longer (default 10 s)",
    )
    http.add_argument(
        "--max-connections",
        type=int,
        default=settings.number("KITARU_MCP_MAX_CONNECTIONS"),
        metavar="N",
        help="open connections beyond this get 503 and are closed (default 256)",
    )


def _oauth_args(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.auth != "oauth":
        return None
    return {
        "issuer": args.auth_issuer,
        "audience": args.auth_audience,
        "public_url": args.public_url,
        "jwks_url": args.auth_jwks_url,
        "introspection_url": args.auth_introspection_url,
        "leeway_s": args.auth_leeway,
    }


def _observe_options(parser: argparse.ArgumentParser) -> None:
    """The audit log (traces take the standard OTEL_* environment; see the README)."""
    observe = parser.add_argument_group("audit and tracing")
    observe.add_argument(
        "--audit-log",
        default=None,
        metavar="PATH",
        help="write one JSON line per tools/call, resources/read and prompts/get to PATH "
        "(rotated by size, 0600; 'off' for none). Default: off, except with --auth oauth "
        "(<state dir>/audit.log). Env: KITARU_MCP_AUDIT_LOG.",
    )


def _start_observing(args: argparse.Namespace) -> int | None:
    """Open the audit log and set up traces; USAGE_ERROR when the log cannot be written."""
    from kitaru_mcp.observe import audit, tracing

    default_on = getattr(args, "auth", None) == "oauth"  # a team's server is audited
    path = audit.resolve(args.audit_log, default_on=default_on)
    if path is not None:
        try:
            audit.install(audit.open_log(path))
        except audit.AuditConfigError as exc:
            print(f"kitaru-mcp: {exc}", file=sys.stderr)
            return USAGE_ERROR
    tracing.configure()
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kitaru-mcp",
        description="MCP server for Kitaru executions (stdio by default), and its tools "
        "from a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"kitaru-mcp {__version__}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("KITARU_MCP_LOG_LEVEL", "WARNING"),
        help="what goes to stderr (default warning). Env: KITARU_MCP_LOG_LEVEL.",
    )
    _serve_options(parser)
    _observe_options(parser)
    commands = parser.add_subparsers(
        dest="command", metavar="{tools,call,contract,install,uninstall,doctor}"
    )
    tools = commands.add_parser("tools", help="list the tools (name, read-only, purpose)")
    tools.add_argument("--json", action="store_true", help="print a JSON array instead")
    call = commands.add_parser(
        "call",
        help="run one tool as an MCP call would and print its result as JSON",
        description="Run one tool through the same validation, handler and error boundary "
        "as an MCP tools/call. stdout carries only the JSON result; logs go to stderr. "
        "Exit 0 on success, 1 on a tool error (its JSON is printed), 2 on bad usage.",
    )
    call.add_argument("tool", help="tool name (see `kitaru-mcp tools`)")
    call.add_argument(
        "arguments",
        nargs="?",
        default="{}",
        help="the arguments as one JSON object (default {}); - reads them from stdin",
    )
    commands.add_parser("contract", help="print the contract (generated/contract.json)")
    from kitaru_mcp.clients.commands import add_commands

    add_commands(commands)
    return parser


def _contract_text() -> str:
    from importlib import resources

    return resources.files("kitaru_mcp.generated").joinpath("contract.json").read_text("utf-8")


def list_tools(as_json: bool) -> int:
    from kitaru_mcp.generated.tools import TOOLS

    rows = [
        {
            "name": stub.name,
            "group": stub.group,
            "read_only": stub.read_only,
            "summary": stub.summary,
        }
        for stub in sorted(TOOLS.values(), key=lambda stub: stub.name)
    ]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max((len(row["name"]) for row in rows), default=0)
    for row in rows:
        access = "read-only" if row["read_only"] else "writes   "
        print(f"{row['name']:<{width}}  {access}  {row['summary']}")
    return 0


def _usage_error(message: str) -> int:
    print(f"kitaru-mcp call: {message}", file=sys.stderr)
    return USAGE_ERROR


def call_tool(args: argparse.Namespace) -> int:
    """``kitaru-mcp call``: resolve the tool under the mode, parse the arguments, run, print."""
    from kitaru_mcp.surface.dispatch import Dispatcher, NotServed

    dispatcher = Dispatcher(_options(args))
    try:
        dispatcher.lookup(args.tool)
    except NotServed as exc:
        if args.tool not in dispatcher.every:
            return _usage_error(f"unknown tool {args.tool!r}; `kitaru-mcp tools` lists them.")
        return _usage_error(f"{args.tool!r}: {exc.reason}.")
    raw_arguments = args.arguments
    if raw_arguments == "-":
        raw_arguments = sys.stdin.read()
    try:
        arguments = json.loads(raw_arguments)
    except json.JSONDecodeError as exc:
        return _usage_error(f"arguments are not valid JSON ({exc}).")
    if not isinstance(arguments, dict):
        return _usage_error(f"arguments must be one JSON object, not {type(arguments).__name__}.")
    return run_call(dispatcher, args.tool, arguments)


def run_call(dispatcher: Any, name: str, arguments: dict[str, Any]) -> int:
    """Run the tool through the server's dispatch path; stdout gets the JSON result only.

    Kitaru and ZenML print to stdout, so fd 1 points at stderr while the tool
    runs (and stays so until exit); the result goes to the saved stdout.
    """
    import anyio

    sys.stdout.flush()
    result_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        result = anyio.run(dispatcher.call_tool, name, arguments)
    except KeyboardInterrupt:
        os.close(result_fd)
        return 130
    if result.is_error:
        payload: Any = json.loads(result.content[0].text)
    else:
        payload = result.structured_content
    sys.stdout.flush()
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 1 if result.is_error else 0


def _options(args: argparse.Namespace) -> Any:
    """The serve options (mode, toolsets, time limit) the command line asks for."""
    from kitaru_mcp.surface.dispatch import ServeOptions

    toolsets = parse_toolsets(args.toolsets) if isinstance(args.toolsets, str) else args.toolsets
    return ServeOptions(
        mode=args.mode,
        toolsets=toolsets,
        call_timeout_s=args.call_timeout,
        max_result_chars=args.max_result_chars,
    )


def _apply_target_roots(roots: list[str] | None) -> None:
    """``--allow-target-root`` -> KITARU_MCP_TARGET_ROOTS, set once before serving."""
    from kitaru_mcp.core.settings import TARGET_ROOTS_ENV

    if roots:
        resolved = [os.path.realpath(os.path.expanduser(root)) for root in roots]
        os.environ[TARGET_ROOTS_ENV] = os.pathsep.join(resolved)


class _StopBeforeServing(BaseException):  # not caught by an `except Exception` on the way
    """SIGTERM or SIGINT arrived before the transport took the signals over."""


def _stop_before_serving(signum: int, frame: Any) -> None:
    from kitaru_mcp.core import early_stop

    if early_stop.loop_running():  # the transport is starting: it stops once it listens
        early_stop.ask()
        return
    raise _StopBeforeServing


def serve(args: argparse.Namespace) -> int:
    """Serve until told to stop. A SIGTERM or SIGINT (Ctrl-C) before the transport handles
    signals (while the socket is bound and Kitaru loads, say) finds nothing in flight: the
    server then releases what it started and exits 0, as it would a moment later, without
    a traceback. Our SIGINT handler also keeps asyncio's own (which cancels the main task
    wherever it is) from being installed."""
    import signal

    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stop_before_serving)
    try:
        return _serve(args)
    except _StopBeforeServing:
        from kitaru_mcp.runs import forkserver

        forkserver.shutdown()  # a template spawned before serving (``_start_template``)
        _exit_now(0)
        return 0


def _serve(args: argparse.Namespace) -> int:
    import anyio

    from kitaru_mcp.surface import workers

    try:
        count = workers.parse_workers(args.workers, args.transport)
    except workers.WorkersConfigError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.stateless and args.transport != "http":
        print("kitaru-mcp: --stateless needs --transport http.", file=sys.stderr)
        return USAGE_ERROR
    if args.transport == "stdio":
        from kitaru_mcp.clients.hint import print_hint

        print_hint(sys.stdin, sys.stderr)

    http_options = None
    if args.auth == "oauth" and args.transport != "http":
        print("kitaru-mcp: --auth oauth needs --transport http.", file=sys.stderr)
        return USAGE_ERROR
    if args.transport == "http":
        http_options = _http_options(args, stateless=count > 1 or _stateless(args))
        if http_options is None:
            return USAGE_ERROR
        from kitaru_mcp.surface.stdio_transport import guard_stdout

        guard_stdout()  # over HTTP stdout carries nothing: whatever prints goes to stderr
    _apply_target_roots(args.target_roots)
    from kitaru_mcp.surface.request_state import KeyConfigError

    options = _options(args)
    refused = _start_observing(args)
    if refused is not None:
        return refused
    if http_options is not None:
        from kitaru_mcp.surface.workers import kernel_balances

        listening = _listen(http_options, reserve_only=count > 1 and kernel_balances())
        if listening is None:
            return 1
        if count > 1:
            return _supervise(args, options, http_options, listening, count)
    _start_template(options)
    from kitaru_mcp.surface.server import background, build_server, serve_stdio

    try:
        server = build_server(options)
    except KeyConfigError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        with background(options):  # runner template + reaper; released on exit
            if http_options is not None:
                from kitaru_mcp.surface.http_transport import serve_http

                anyio.run(serve_http, server, http_options, listening)
            else:
                anyio.run(serve_stdio, server)
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        _exit_now(130)
        return 130
    _exit_now(0)
    return 0


def _start_template(options: Any) -> None:
    """Spawn the runner template now, before the MCP import (``background`` finds it
    running): a run as the session's first call waits for the template's Kitaru import,
    the longest step on its way, and this starts that import half a second sooner."""
    from kitaru_mcp.surface.dispatch import Dispatcher

    if Dispatcher(options).starts_runners:
        from kitaru_mcp.runs import forkserver

        pid = forkserver.start_template()
        logging.getLogger("kitaru_mcp").debug("runner template %s spawned", pid)


def _stateless(args: argparse.Namespace) -> bool:
    from kitaru_mcp.surface.workers import stateless_from_env

    return bool(args.stateless) if args.stateless is not None else stateless_from_env()


def _http_options(args: argparse.Namespace, *, stateless: bool) -> Any:
    """The checked HTTP options, or None after saying on stderr why they are refused."""
    from dataclasses import replace

    from kitaru_mcp.surface.http_transport import HttpConfigError, HttpOptions

    try:
        built = HttpOptions.build(
            args.host,
            args.port,
            args.token,
            args.allow_origins,
            args.allow_hosts,
            oauth=_oauth_args(args),
            header_timeout_s=args.header_timeout,
            max_connections=args.max_connections,
        )
    except HttpConfigError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return None
    return replace(built, stateless=stateless)


def _listen(http_options: Any, reserve_only: bool) -> Any:
    """The bound socket, or None after saying why not (a busy port: exit 1, no traceback)."""
    from kitaru_mcp.surface.http_transport import ListenError, listen

    try:
        return listen(http_options, reserve_only=reserve_only)
    except ListenError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return None


def _supervise(
    args: argparse.Namespace, options: Any, http_options: Any, sock: Any, count: int
) -> int:
    """``--workers N`` (N > 1): uvicorn's supervisor over N servers on ``sock``."""
    from kitaru_mcp.observe import audit
    from kitaru_mcp.surface import request_state, supervisor, workers

    try:
        request_state.load_key()  # what every worker would refuse, refused once here
    except request_state.KeyConfigError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError:
        pass  # a read-only state directory: each worker keeps a key of its own (logged)
    warning = workers.cores_warning(count)
    if warning:
        print(warning, file=sys.stderr)
    log = audit.installed()
    spec = supervisor.WorkerSpec(
        serve=options,
        http=http_options,
        audit_log=str(log.path) if log is not None else None,
        log_level=args.log_level,
    )
    code = supervisor.supervise(spec, sock, count)
    _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End a server process that has shut down: skip the interpreter's teardown.

    The server has answered every call and released its runner processes by
    now; with Kitaru and ZenML loaded, a normal teardown (their exit hooks,
    joining their threads) takes seconds and may print.
    """
    from kitaru_mcp.observe import tracing

    tracing.finish()  # batched spans go out (a down collector costs at most its timeout)
    logging.shutdown()
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _check_budget(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--max-result-chars`` (or its env) as a number; below the minimum: exit 2, clearly."""
    from kitaru_mcp.calls import budget

    raw = args.max_result_chars
    try:
        args.max_result_chars = (
            budget.DEFAULT_MAX_RESULT_CHARS if raw is None else budget.parse(raw)
        )
    except budget.BudgetConfigError as exc:
        parser.exit(USAGE_ERROR, f"kitaru-mcp: {exc}\n")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# options whose default comes from a variable: argparse checks a flag's value against
# the choices, never a default, so a variable's value is checked here
_CHOSEN_FROM_ENV = (
    ("mode", "KITARU_MCP_MODE", ("read-only", "standard", "destructive")),
    ("transport", "KITARU_MCP_TRANSPORT", ("stdio", "http")),
    ("auth", "KITARU_MCP_AUTH", ("none", "oauth")),
    ("log_level", "KITARU_MCP_LOG_LEVEL", LOG_LEVELS),
)


def _check_choices(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A mode, transport, auth or log level from the environment that is none of the
    choices: exit 2 naming the variable (a flag's value argparse has checked already)."""
    args.log_level = str(args.log_level).upper()
    for dest, variable, choices in _CHOSEN_FROM_ENV:
        value = getattr(args, dest, None)
        if value is not None and value not in choices:
            shown = ", ".join(
                choice.lower() if dest == "log_level" else choice for choice in choices
            )
            parser.exit(
                USAGE_ERROR, f"kitaru-mcp: {variable} must be one of {shown}, not {value!r}.\n"
            )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_budget(parser, args)
    _check_choices(parser, args)
    problems = settings.environment_problems()
    if problems and args.command not in ("tools", "contract", "install", "uninstall", "doctor"):
        for problem in problems:  # serving or calling on a setting we would have to guess
            print(f"kitaru-mcp: {problem}", file=sys.stderr)
        return USAGE_ERROR

    from kitaru_mcp.core.errors import install_log_handlers

    install_log_handlers(args.log_level)
    if args.command == "tools":
        return list_tools(args.json)
    if args.command == "contract":
        sys.stdout.write(_contract_text())
        return 0
    if args.command in ("install", "uninstall", "doctor"):
        from kitaru_mcp.clients.commands import run as run_clients_command

        return run_clients_command(args)
    _quiet_kitaru()
    if args.command == "call":
        _apply_target_roots(args.target_roots)
        return call_tool(args)
    return serve(args)
