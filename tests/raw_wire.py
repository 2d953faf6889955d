"""The project's one hand-rolled JSON-RPC client: a server over pipes, or over HTTP.

Everything that can speaks through the official SDK (``tests/mcp_client.py``).
This is for the rest: tests that judge every byte the server wrote to stdout
(``tests/test_stdout.py``, ``tests/test_faults.py``) and benchmarks that time a
spawn to the millisecond or load a server with self-contained 2026-07-28 calls
(``bench/``), where a client library's own work would be measured too.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
CLIENT_INFO = {"name": "kitaru-mcp-raw", "version": "0"}


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1e3


class RawStdio:
    """A server over pipes; its stdout read byte for byte in a thread and kept.

    Lines that are not JSON are kept in ``raw`` and skipped as messages (judged by
    whoever reads ``raw``). Answers are waited for on a condition, not polled.
    """

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
    ) -> None:
        self.spawned = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        self.raw = bytearray()
        self.messages: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._ended = False
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            with self._arrived:
                self.raw += line
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if isinstance(message, dict):
                        self.messages.append(message)
                self._arrived.notify_all()
        with self._arrived:
            self._ended = True
            self._arrived.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        """Write one message as a line (``jsonrpc`` added when missing)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"method": method, **({"params": params} if params is not None else {})})

    def answer_to(self, ident: Any, timeout: float = 240) -> dict[str, Any]:
        """The whole answer message to request ``ident``, once it came."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if message.get("id") == ident and "method" not in message:
                        return message
                left = deadline - time.monotonic()
                if self._ended:
                    raise AssertionError(f"the server exited ({self.process.poll()}) unanswered")
                if left <= 0:
                    raise AssertionError(f"no answer to request {ident!r} within {timeout} s")
                self._arrived.wait(left)

    def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 240
    ) -> dict[str, Any]:
        """Send a request; its whole answer message (``result`` or ``error``)."""
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params or {}})
        return self.answer_to(ident, timeout)

    def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A request's ``result``; an error answer raises."""
        answer = self.request(method, params)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """``tools/call``'s result (``isError`` is the caller's to judge)."""
        return self.result("tools/call", {"name": tool, "arguments": arguments})

    def ok(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A call that must succeed: its structured content (a tool error raises)."""
        result = self.call(tool, arguments)
        if result.get("isError"):
            raise RuntimeError(f"{tool} failed: {str(result.get('content'))[:500]}")
        return result.get("structuredContent") or {}

    def initialize(self, protocol: str = LEGACY) -> dict[str, Any]:
        """The initialize handshake (and its notification); the server's answer."""
        params = {"protocolVersion": protocol, "capabilities": {}, "clientInfo": CLIENT_INFO}
        answer = self.result("initialize", params)
        self.notify("notifications/initialized")
        return answer

    def start(self, protocol: str = LEGACY) -> tuple[float, float, int]:
        """Initialize, then ``tools/list``: ms from spawn to each answer, and the tool count."""
        self.initialize(protocol)
        initialized = ms_since(self.spawned)
        tools = self.result("tools/list")["tools"]
        return initialized, ms_since(self.spawned), len(tools)

    def close(self) -> bytes:
        """Close stdin, wait for the exit (killing after 30 s); every byte of stdout."""
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        return bytes(self.raw)


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    """The headers of a self-contained 2026-07-28 request over streamable HTTP."""
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers


def http_message(content_type: str, text: str) -> dict[str, Any]:
    """The JSON-RPC answer in an HTTP response body (plain JSON or the last SSE event)."""
    if content_type.startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        return json.loads([d for d in data if d][-1])
    return json.loads(text)
