"""A small round-robin HTTP proxy for tests: each request goes to the next backend.

Buffered (a stateless MCP response is whole once its POST ends), one thread per
connection; a backend that refuses the connection is skipped, as a balancer's
health check would. ``served`` lists which backend answered each request.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RoundRobin:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends  # base URLs, e.g. http://127.0.0.1:PORT
        self.served: list[tuple[int, str, str | None]] = []  # (backend, method, tool name)
        self._next: dict[str, Any] = {}  # JSON-RPC method -> its own turn counter
        self._lock = threading.Lock()
        self.pinned: int | None = None  # every request to one backend (None: round robin)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                proxy.forward(self)

            def do_GET(self) -> None:
                proxy.forward(self)

            def do_DELETE(self) -> None:
                proxy.forward(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/mcp"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def _order(self, method: str) -> list[int]:
        """The backends to try, the next in turn first. Each JSON-RPC method takes turns
        on its own, so the N-th and (N+1)-th tools/call always land on different replicas
        whatever else a client sends between them (initialize, tools/list...)."""
        with self._lock:
            if self.pinned is not None:
                return [self.pinned]
            first = next(self._next.setdefault(method, itertools.count())) % len(self.backends)
        return [(first + i) % len(self.backends) for i in range(len(self.backends))]

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        method, tool = _what(body)
        for index in self._order(method):
            try:
                with httpx2.Client(timeout=300) as http:
                    answer = http.request(
                        request.command,
                        self.backends[index] + request.path,
                        content=body,
                        headers=headers,
                    )
            except httpx2.ConnectError:
                continue  # that backend is down: the next one
            with self._lock:
                self.served.append((index, method, tool))
            request.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    request.send_header(name, value)
            request.send_header("content-length", str(len(answer.content)))
            request.end_headers()
            request.wfile.write(answer.content)
            return
        request.send_response(502)
        request.send_header("content-length", "0")
        request.end_headers()

    def tool_calls(self, name: str) -> list[int]:
        """The backends that answered each ``tools/call`` of ``name``, in order."""
        return [b for b, method, tool in self.served if method == "tools/call" and tool == name]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.http.shutdown()
            self.http.server_close()


def _what(body: bytes) -> tuple[str, str | None]:
    """The JSON-RPC method of a request body, and the tool's name for tools/call."""
    try:
        message = json.loads(body or b"{}")
    except ValueError:
        return "", None
    if not isinstance(message, dict):
        return "", None
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    return str(message.get("method") or ""), params.get("name")
