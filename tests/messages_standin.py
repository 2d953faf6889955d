"""A scripted stand-in for the Anthropic Messages API, so the real Claude Code CLI can be
driven against kitaru-mcp without a model service.

Claude Code (``claude -p``) posts ``/v1/messages`` with ``stream: true`` and reads
server-sent events. Requests of its main loop carry the ``ToolSearch`` tool; side
requests (titles, summaries) do not and get a short text. Each main-loop request is
answered by the next step of the script: a step is a function of the conversation so
far (``Turn``) that returns a tool call (``use(name, input)``) or a final text
(``say(text)``). Every request body is kept, so a test asserts on exactly what Claude
Code sent back: the tool results as the model would have seen them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    kind: str  # "tool_use" or "text"
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def use(name: str, arguments: dict[str, Any] | None = None) -> Reply:
    """Call a tool: an MCP tool's full name is ``mcp__<server>__<tool>``."""
    return Reply("tool_use", name=name, input=arguments or {})


def say(text: str) -> Reply:
    return Reply("text", text=text)


@dataclass
class Turn:
    """What the stand-in sees when it answers a main-loop request."""

    request: dict[str, Any]

    @property
    def tool_names(self) -> list[str]:
        return [tool.get("name", "") for tool in self.request.get("tools", [])]

    def results(self) -> list[dict[str, Any]]:
        """Every tool_result block of the conversation, oldest first."""
        found: list[dict[str, Any]] = []
        for message in self.request.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                found.extend(b for b in content if b.get("type") == "tool_result")
        return found

    def last_text(self) -> str:
        """The text of the newest tool result (its text blocks joined)."""
        results = self.results()
        return result_text(results[-1]) if results else ""

    def last_json(self) -> Any:
        return json.loads(self.last_text())


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


Step = Callable[[Turn], Reply]


def _events(reply: Reply, number: int) -> bytes:
    usage = {"input_tokens": 100, "output_tokens": 10}
    message = {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    out = [("message_start", {"type": "message_start", "message": message})]
    if reply.kind == "tool_use":
        block = {"type": "tool_use", "id": f"toolu_{number}", "name": reply.name, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(reply.input)}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": reply.text}
        stop = "end_turn"
    out += [
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 10},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in out)


class MessagesStandIn:
    """A loopback HTTP server answering Claude Code's Messages API requests from a script."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        self.steps: list[Step] = list(steps or [])
        self.requests: list[dict[str, Any]] = []  # every main-loop request, in order
        self.errors: list[str] = []  # a step that raised (the test fails on it)
        self._lock = threading.Lock()
        self._next = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MessagesStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, steps: list[Step]) -> None:
        """A new script for the next ``claude -p`` run."""
        with self._lock:
            self.steps, self._next, self.requests = list(steps), 0, []

    def answer(self, request: dict[str, Any]) -> Reply:
        tools = [tool.get("name") for tool in request.get("tools", [])]
        if "ToolSearch" not in tools:
            return say("kitaru")  # a side request (a title, a summary)
        with self._lock:
            self.requests.append(request)
            if self._next >= len(self.steps):
                return say("Done.")
            step = self.steps[self._next]
            self._next += 1
        try:
            return step(Turn(request))
        except Exception as exc:  # a script bug must show in the test, not hang Claude Code
            self.errors.append(f"step {self._next}: {type(exc).__name__}: {exc}")
            return say("The script failed.")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._json(404, {"type": "error", "error": {"type": "not_found_error"}})

            do_HEAD = do_GET

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                if path.endswith("/count_tokens"):
                    self._json(200, {"input_tokens": 100})
                    return
                if not path.endswith("/v1/messages"):
                    self._json(404, {"type": "error", "error": {"type": "not_found_error"}})
                    return
                reply = standin.answer(body)
                with standin._lock:
                    number = len(standin.requests) + 1000 * len(standin.errors)
                data = _events(reply, number)
                if not body.get("stream"):
                    self._json(200, _whole(reply, number))
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _whole(reply: Reply, number: int) -> dict[str, Any]:
    if reply.kind == "tool_use":
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": f"toolu_{number}",
            "name": reply.name,
            "input": reply.input,
        }
        stop = "tool_use"
    else:
        block, stop = {"type": "text", "text": reply.text}, "end_turn"
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [block],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 10},
    }
