"""A blocking wrapper around the official MCP client over stdio, for tests.

The client runs in its own thread and event loop, so one server process can
serve a whole test module while tests stay plain functions.

It connects in either protocol revision (``era``):

- ``"2025-11-25"`` (the default): ``ClientSession`` and its initialize
  handshake; the server pushes forms (elicitation) within the call.
- ``"2026-07-28"``: the high-level ``mcp.Client`` (``mode="auto"``
  negotiates it); a form comes back as an input-required result, and
  ``Client.call_tool`` answers it through ``elicitation_callback`` and retries.

``api`` is the object to make requests on in either era (same method names:
``call_tool``, ``read_resource``, ``get_prompt``, ``complete``...);
``request(name, ...)`` makes one and waits for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

import mcp
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ERAS = (LEGACY, MODERN)


_CONTRACT = Path(__file__).resolve().parent.parent / "generated" / "contract.json"
_DECLARED: dict[str, set[str]] = {}


def check_declared(tool: str, text: str) -> None:
    """Fail when ``tool`` answered an error code its schema's ``errors:`` leaves out."""
    if not _DECLARED:
        for entry in json.loads(_CONTRACT.read_text())["tools"]:
            _DECLARED[entry["name"]] = {"invalid_argument", *entry["errors"]}
    try:
        code = json.loads(text).get("code")
    except (ValueError, AttributeError):
        return  # not a ToolError (an unknown tool's protocol message): nothing to compare
    if tool in _DECLARED and code is not None:
        assert code in _DECLARED[tool], (
            f"{tool} answered error code {code!r}, which its schema does not declare "
            f"(errors: {sorted(_DECLARED[tool])})"
        )


class StdioSession:
    """One server over stdio, opened in the caller's event loop, in either era.

    The async core that ``StdioClient`` runs in a thread of its own; the benchmarks
    (``bench/run.py``) use it as it is, inside their own loop.
    """

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
        session_kwargs: dict[str, Any] | None = None,
        era: str = LEGACY,
        errlog: Any = None,
    ) -> None:
        assert era in ERAS, era
        self.command, self.env, self.cwd, self.era = command, env, cwd, era
        self.session_kwargs = session_kwargs or {}
        self.errlog = errlog or sys.stderr
        self._stack = AsyncExitStack()
        self.session: ClientSession | None = None
        self.client: mcp.Client | None = None  # the 2026-07-28 client
        self.init_result: Any = None

    async def __aenter__(self) -> StdioSession:
        params = StdioServerParameters(
            command=self.command[0], args=self.command[1:], env=self.env, cwd=self.cwd
        )
        transport = stdio_client(params, errlog=self.errlog)
        if self.era == MODERN:
            client = mcp.Client(transport, **self.session_kwargs)  # type: ignore[arg-type]
            self.client = await self._stack.enter_async_context(client)
            assert self.client.protocol_version == MODERN, self.client.protocol_version
            self.session = self.client.session
            return self
        read, write = await self._stack.enter_async_context(transport)
        self.session = await self._stack.enter_async_context(
            ClientSession(read, write, **self.session_kwargs)
        )
        self.init_result = await self.session.initialize()
        assert self.init_result.protocol_version == LEGACY, self.init_result.protocol_version
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.aclose()

    @property
    def api(self) -> Any:
        """What requests are made on: the ``mcp.Client`` (2026-07-28) or the session."""
        return self.client if self.client is not None else self.session


class StdioClient:
    """Spawns ``kitaru-mcp`` (or any command) and talks to it, blocking, from any thread."""

    def __init__(
        self,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        session_kwargs: dict[str, Any] | None = None,
        era: str = LEGACY,
    ) -> None:
        assert era in ERAS, era
        self.command = command or [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.session_kwargs = session_kwargs or {}
        self.errlog_path: Path | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.era = era
        self._open: StdioSession | None = None

    def _run(self, coro: Any, timeout: float = 240) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def session(self) -> ClientSession | None:
        return self._open.session if self._open else None

    @property
    def client(self) -> mcp.Client | None:
        return self._open.client if self._open else None

    @property
    def init_result(self) -> Any:
        return self._open.init_result if self._open else None

    def start(self, errlog_path: Path | None = None) -> StdioClient:
        self._thread.start()
        self.errlog_path = errlog_path
        errlog = open(errlog_path, "a") if errlog_path else sys.stderr  # noqa: SIM115
        opening = StdioSession(
            self.command, self.env, self.cwd, self.session_kwargs, self.era, errlog
        )
        self._run(opening.__aenter__())
        self._open = opening
        return self

    def close(self) -> None:
        if self._open is not None:
            with suppress(Exception):
                self._run(self._open.__aexit__(None, None, None), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> StdioClient:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def api(self) -> Any:
        """What requests are made on: the ``mcp.Client`` (2026-07-28) or the session."""
        assert self._open is not None, "not started"
        return self._open.api

    def request(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``api.<method>(*args, **kwargs)``, waited for."""
        return self._run(getattr(self.api, method)(*args, **kwargs))

    def list_tools(self) -> list[Any]:
        return self.request("list_tools").tools

    def call(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The raw CallToolResult (on 2026-07-28, after any input-required rounds).

        A tool error whose code the tool's schema does not declare fails the test.
        """
        result = self.request("call_tool", name, arguments or {}, **kwargs)
        if result.is_error:
            check_declared(name, result.content[0].text)
        return result

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed; return its structured content."""
        result = self.call(name, arguments)
        assert not result.is_error, f"{name} failed: {result.content[0].text}"
        assert json.loads(result.content[0].text) == result.structured_content
        return result.structured_content

    def error(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must fail; return the parsed ToolError."""
        result = self.call(name, arguments)
        assert result.is_error, f"{name} unexpectedly succeeded: {result.content[0].text}"
        return json.loads(result.content[0].text)
