"""stdio serving: every request answered, nothing but JSON-RPC on fd 1, a graceful end.

The SDK's stdio transport drops a line it cannot parse (malformed JSON, or
JSON nested deeper than its parser allows) and the client waits for ever.
Here such a line gets a JSON-RPC error at once: ``-32700`` for malformed
JSON, ``-32600`` for one the SDK cannot read (e.g. nested too deeply), with
the request's id when it can be read. (Arguments that parse but nest deeper
than ``dispatch.MAX_DEPTH`` get a clean ``invalid_argument`` tool error.)

On SIGTERM, SIGINT or stdin closing the server stops taking calls, lets
in-flight calls finish for up to ``GRACE_S`` seconds, answers the rest with a
clean ``unavailable`` error, releases its runner template and returns; fd 1
is pointed at stderr before anything else runs, so Kitaru's exit-time logs
never reach the wire.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import mcp.types as types
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from kitaru_mcp.core import early_stop
from kitaru_mcp.surface.dispatch import MAX_DEPTH

GRACE_S = 2.0
logger = logging.getLogger("kitaru_mcp")
_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,20})')


class _StdinLines:
    """Lines of stdin, read by a daemon thread (so a shutdown never waits on a read).

    The last line is kept, to answer it when the SDK cannot parse it.
    """

    def __init__(self) -> None:
        self.last = ""
        self._send, self._receive = anyio.create_memory_object_stream[str](16)

    def close(self) -> None:
        """End the lines now (as EOF would): the transport then winds down."""
        self._send.close()

    def __aiter__(self) -> Any:
        return self._lines()

    async def _lines(self) -> Any:
        send, receive = self._send, self._receive
        token = anyio.lowlevel.current_token()

        def pump() -> None:
            # Raw reads of fd 0: a daemon thread blocked here holds no buffer lock that
            # the interpreter's shutdown would need.
            with contextlib.suppress(Exception):  # the loop may be gone: nothing to tell
                for line in _raw_lines(sys.stdin.fileno()):
                    anyio.from_thread.run(send.send, line, token=token)
            with contextlib.suppress(Exception):
                anyio.from_thread.run_sync(send.close, token=token)

        threading.Thread(target=pump, name="kitaru-mcp-stdin", daemon=True).start()
        async with receive:
            async for line in receive:
                self.last = line
                yield line


def _raw_lines(fd: int) -> Any:
    """Decoded lines from ``fd`` until EOF, read with ``os.read``."""
    pending = b""
    while chunk := os.read(fd, 1 << 16):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace") + "\n"
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _request_id(line: str) -> str | int | None:
    """The id of a request line that does not parse, when it can be found."""
    found = _ID.search(line[:10_000])
    if found is None:
        return None
    raw = found.group(1)
    try:
        return json.loads(raw)
    except ValueError:
        return None


def parse_error(line: str) -> types.JSONRPCError:
    """The JSON-RPC error for a line the SDK could not read."""
    code = types.INVALID_REQUEST
    message = (
        "Invalid request: not a JSON-RPC message, or nested too deeply "
        f"(tool arguments may nest at most {MAX_DEPTH} levels)"
    )
    try:
        json.loads(line)
    except RecursionError:
        pass
    except ValueError as exc:
        code, message = types.PARSE_ERROR, f"Parse error: {exc}"
    request_id = _request_id(line) if code != types.PARSE_ERROR else None
    return types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message[:300])
    )


async def serve_stdio(server: Any, on_shutdown: Any = None) -> None:
    """Serve ``server`` over stdio until stdin closes or a signal asks it to stop."""
    from mcp.server.stdio import stdio_server

    lines = _StdinLines()
    try:
        async with stdio_server(stdin=lines) as (raw_read, write):  # type: ignore[arg-type]
            send, receive = create_context_streams[SessionMessage | Exception](0)

            async def forward() -> None:
                async with send:
                    async for item in raw_read:
                        if isinstance(item, Exception):
                            error = parse_error(lines.last)
                            await write.send(SessionMessage(error))
                            continue
                        await send.send(item)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(forward)
                tasks.start_soon(_stop_on_signal, tasks.cancel_scope, lines, on_shutdown)
                await server.run(receive, write, server.create_initialization_options())
                if on_shutdown is not None:
                    await on_shutdown()
                tasks.cancel_scope.cancel()
    finally:
        guard_stdout()
        logger.info("stdio transport closed")


async def _stop_on_signal(scope: anyio.CancelScope, lines: _StdinLines, on_shutdown: Any) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        if not early_stop.asked():  # a signal that came while the loop started counts too
            await signals.__anext__()
    if on_shutdown is not None:
        await on_shutdown()
    lines.close()
    scope.cancel()


def guard_stdout() -> None:
    """Point fd 1 at stderr: whatever prints from now on never reaches the protocol."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.dup2(2, 1)
