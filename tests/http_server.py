"""A ``kitaru-mcp --transport http`` process for a test: its own HOME, a free loopback
port, stdout and stderr kept apart (stdout must stay empty over HTTP)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
LEGACY, MODERN = "2025-11-25", "2026-07-28"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HttpServer:
    def __init__(self, tmp: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        home = tmp / "home"
        home.mkdir(exist_ok=True)
        config = str(home / ".config" / "kitaru")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path = tmp / f"stdout-{self.port}.log"
        self.stderr_path = tmp / f"stderr-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_MCP_")}
        environment = {
            **clean,
            "HOME": str(home),
            "KITARU_CONFIG_PATH": config,
            "ZENML_CONFIG_PATH": config,
            **(env or {}),
        }
        command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http"]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *flags],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=environment,
            )

    def wait_listening(self, timeout: float = 60) -> HttpServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the server exited ({self.process.returncode}):\n{self.stderr}"
                )
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"the server did not listen within {timeout} s:\n{self.stderr}")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def stdout(self) -> bytes:
        return self.stdout_path.read_bytes()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def post(self, body: Any, token: str | None = None, **headers: str) -> httpx2.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        auth = {"authorization": f"Bearer {token}"} if token else {}
        with httpx2.Client(timeout=30) as http:
            return http.post(self.url, content=content, headers={**JSON_HEADERS, **auth, **headers})


def modern_meta() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def modern_request(method: str, params: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        "params": {**params, "_meta": modern_meta()},
    }


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


def sse_or_json(response: httpx2.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a response, whether sent as JSON or as one SSE event."""
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        messages = [json.loads(d) for d in data if d]
        return messages[-1]
    return json.loads(text)


class LegacySession:
    """A raw 2025-11-25 session over HTTP: initialize, then requests with the session id."""

    def __init__(self, server: HttpServer, token: str | None) -> None:
        self.server = server
        self.token = token
        self.next_id = 1
        opened = server.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY,
                    "capabilities": {},
                    "clientInfo": {"name": "raw-test", "version": "1"},
                },
            },
            token,
        )
        assert opened.status_code == 200, opened.text
        self.session_id = opened.headers["mcp-session-id"]
        done = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert done.status_code == 202, done.text

    def post(self, body: dict[str, Any], **headers: str) -> httpx2.Response:
        return self.server.post(
            body,
            self.token,
            **{"mcp-session-id": self.session_id, "mcp-protocol-version": LEGACY, **headers},
        )

    def request(self, method: str, params: dict[str, Any]) -> httpx2.Response:
        self.next_id += 1
        return self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
