"""Sealing the 2026-07-28 ``requestState`` under a key this server keeps.

An input-required result hands the client a state to echo on its next call;
the SDK's ``RequestStateBoundary`` encrypts and authenticates it (AES-GCM,
bound to the tool, its arguments, the audience and an expiry), so a handler
only ever reads state this server minted.

The key comes from ``KITARU_MCP_REQUEST_STATE_KEY`` (at least 32 characters:
several HTTP servers behind one address share it) or else from the file
``request-state.key`` in the server's state directory, created once (0600,
atomically: two servers starting together end up with the same key).

A state that fails verification (tampered, sealed under another key, for
another call, or expired) never reaches a handler: a ``tools/call`` gets a
clean ``invalid_argument`` tool error and nothing is sent anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from kitaru_mcp.core import settings, state
from kitaru_mcp.core.errors import InvalidArgument, failure_text

logger = logging.getLogger("kitaru_mcp")

KEY_ENV = "KITARU_MCP_REQUEST_STATE_KEY"
TTL_ENV = "KITARU_MCP_REQUEST_STATE_TTL"  # seconds a form stays answerable
KEY_FILE = "request-state.key"
AUDIENCE = "kitaru-mcp"
MIN_KEY_CHARS = 32


class KeyConfigError(ValueError):
    """The request-state key given by the environment is unusable: do not start."""


def key_path() -> Path:
    return state.state_dir() / KEY_FILE


def load_key() -> bytes:
    """The sealing key: from the environment, or this server's key file (made once)."""
    given = os.environ.get(KEY_ENV)
    if given is not None:
        if len(given.strip()) < MIN_KEY_CHARS:
            raise KeyConfigError(
                f"{KEY_ENV} is too short: use at least {MIN_KEY_CHARS} random characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return given.strip().encode("utf-8")
    path = key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        return _create_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_CHARS:
        raise KeyConfigError(f"{path} holds no usable key; delete it to make a new one.")
    return key


def _create_key(path: Path) -> bytes:
    """Write a new key with mode 0600; if another process won the race, use its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_hex(32).encode("ascii"))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another server made it first: use theirs
            os.link(partial, path)  # atomic, and never replaces an existing key
    finally:
        partial.unlink(missing_ok=True)
    return _read_key(path)


def ttl_s() -> float:
    return settings.number(TTL_ENV)


def install(server: Any) -> None:
    """Seal and verify requestState on ``server`` (a low-level mcp Server)."""
    from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity

    try:
        key = load_key()
    except OSError as exc:  # e.g. a read-only home: forms still work within this process
        logger.warning("request-state key not kept (%s); using a key for this process only", exc)
        key = secrets.token_hex(32).encode("ascii")
    security = RequestStateSecurity(keys=[key], ttl=ttl_s())
    boundary = RequestStateBoundary(security, default_audience=AUDIENCE)
    server.middleware.extend([refused_state_as_tool_error, boundary])


def refused_state() -> InvalidArgument:
    return InvalidArgument(
        "requestState was refused: it was altered, is for another call or another "
        "server, or has expired. Nothing was sent.",
        field="requestState",
        hint="Call the tool again without requestState or inputResponses to get a fresh form.",
    )


async def refused_state_as_tool_error(ctx: Any, call_next: Any) -> Any:
    """Middleware: on ``tools/call``, the boundary's refusal becomes an invalid_argument
    tool error (what the model can act on) instead of a JSON-RPC error."""
    from mcp.shared.exceptions import MCPError

    try:
        return await call_next(ctx)
    except MCPError as exc:
        data = exc.error.data if isinstance(exc.error.data, dict) else {}
        if ctx.method != "tools/call" or data.get("reason") != "invalid_request_state":
            raise
        import mcp.types as types

        text = failure_text(refused_state())
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], is_error=True
        )
