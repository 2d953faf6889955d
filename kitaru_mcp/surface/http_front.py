"""The HTTP front: what a hostile client meets before authentication and the MCP app.

- ``FrontProtocol`` (uvicorn's h11 protocol, extended): a connection whose
  request headers do not arrive within ``header_timeout_s`` is closed, and
  connections beyond ``max_connections`` are answered 503 and closed at once;
  both are counted before any token is checked.
- ``BodyGuard`` (pure ASGI, on ``POST``): reads the whole body (413 past the
  limit, 408 if it does not arrive in time), answers a body that is not JSON
  with ``-32700`` and a batch or anything but one JSON-RPC 2.0 message with
  ``-32600`` (on both protocol revisions; no library text, no echo of the
  body), and hands the parsed message on (``MESSAGE_KEY``) for the scope
  check. A client that disconnects mid-body is noted in one debug line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio
import anyio.to_thread
import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("kitaru_mcp.http")

MESSAGE_KEY = "kitaru_mcp.message"
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # the SDK's own limit
BODY_TIMEOUT_S = 30.0
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_BUSY_BODY = b'{"error": "too many open connections"}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\nretry-after: 1\r\n\r\n%s"
) % (len(_BUSY_BODY), _BUSY_BODY)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    if body:
        head.insert(0, (b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def front_protocol(header_timeout_s: float, max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a header-read timeout and a connection cap."""

    class FrontProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                logger.debug("refused a connection: %d are open", len(self.connections) - 1)
                transport.write(_BUSY)
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                logger.debug("closed a connection whose request headers did not arrive in time")
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()  # a new request begins: its headers must arrive in time
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return FrontProtocol


def _error(code: int, message: str, request_id: Any = None) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json.dumps(body).encode()


def _request_id(message: Any) -> Any:
    """The request's id when it is a plain one (never more than 128 characters of the body)."""
    if not isinstance(message, dict):
        return None
    value = message.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and len(value) > 128:
        return None
    return value


def classify(body: bytes) -> tuple[Any, bytes | None]:
    """(the parsed message, None) or (None, the JSON-RPC error to answer)."""
    try:
        message = json.loads(body)
    except RecursionError:
        return None, _error(INVALID_REQUEST, "Invalid request: the JSON nests too deeply.")
    except ValueError:  # includes UnicodeDecodeError
        return None, _error(PARSE_ERROR, "Parse error: the request body is not valid JSON.")
    if isinstance(message, list):
        return None, _error(
            INVALID_REQUEST, "Invalid request: batches are not supported; send one message."
        )
    if not _is_message(message):
        return None, _error(
            INVALID_REQUEST,
            "Invalid request: expected one JSON-RPC 2.0 request, notification or response.",
            _request_id(message),
        )
    return message, None


def _is_message(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return False
    request_id = message.get("id")
    if "id" in message and (
        isinstance(request_id, bool) or not isinstance(request_id, int | str | None)
    ):
        return False
    if "method" in message:
        params = message.get("params")
        return isinstance(message["method"], str) and (params is None or isinstance(params, dict))
    # a response to one of the server's requests (e.g. an answered form)
    return "id" in message and (("result" in message) != ("error" in message))


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            main = value.split(b";", 1)[0]
            return any(part.strip().lower() == b"application/json" for part in main.split(b","))
    return False


class BodyGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(BODY_TIMEOUT_S) as late:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    logger.debug("the client went away before its request body was complete")
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    await self._too_large(send)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if late.cancelled_caught:
            await send_json(send, 408, _error(INVALID_REQUEST, "The request body came too slowly."))
            return
        body = b"".join(chunks)
        parsed, refusal = await anyio.to_thread.run_sync(classify, body)
        if refusal is not None and _is_json(scope):
            await send_json(send, 400, refusal)
            return
        # Another content type: the SDK answers it (415, or its own parse error), but a body
        # that parses is still handed on, so the scope check sees what any path would run.
        inner = scope if parsed is None else {**scope, MESSAGE_KEY: parsed}
        await self.app(inner, _replay(body, receive), send)

    async def _too_large(self, send: Send) -> None:
        message = f"Invalid request: the body is over {self.max_body_bytes} bytes."
        await send_json(send, 413, _error(INVALID_REQUEST, message))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body once, then waits on the client as before."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
