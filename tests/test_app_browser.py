"""The execution view (MCP App) in a real browser, against a real kitaru-mcp.

Headless Chromium (the system browser, driven by Playwright) opens
tests/app_host/host.html: a small host built on the ext-apps AppBridge that
reads ``ui://kitaru/execution`` from the server, embeds it in a sandboxed
iframe, hands it a real tool result and forwards the view's tool calls to the
server through the Python MCP client. Real flows run on the test store.

Outside CI the module skips when no Chromium is installed; in CI (``CI`` set)
a missing browser is a failure (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import threading
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

HOST_HTML = ROOT / "tests" / "app_host" / "host.html"
HOST_URL = "http://kitaru-host.test/host.html"
MARKUP = "<img src=x onerror=\"document.title='pwned'\">"
UNKNOWN_ID = "00000000-0000-4000-8000-00000000beef"
# Set KITARU_MCP_SCREENSHOTS=DIR to keep the screenshots (docs/app-screenshot.png is one).
_SHOTS = os.environ.get("KITARU_MCP_SCREENSHOTS")
SCREENSHOTS = Path(_SHOTS) if _SHOTS else None

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.warm_runner]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install chromium (see .ci/run)")
        pytest.skip("no chromium on PATH (apt-get install chromium) for the execution view test")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip('playwright is not installed (pip install -e ".[test]")')
    return found


class Harness:
    """One kitaru-mcp (Python MCP client) and one headless Chromium, on a loop in a thread."""

    def __init__(self, chromium: str, errlog: Path) -> None:
        self.chromium = chromium
        self.errlog = errlog
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stack = AsyncExitStack()
        self.session: Any = None
        self.browser: Any = None

    def run(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> Harness:
        self.thread.start()
        self.ready = asyncio.run_coroutine_threadsafe(self._ready_event(), self.loop).result(10)
        self.main = asyncio.run_coroutine_threadsafe(self._main(), self.loop)
        self.run(self.ready.wait())
        if self.main.done():
            self.main.result()  # raises what went wrong while starting
        return self

    async def _ready_event(self) -> asyncio.Event:
        self.stopping = asyncio.Event()
        return asyncio.Event()

    async def _main(self) -> None:
        """Open the server and the browser, and close them in the same task (anyio wants it)."""
        try:
            async with self.stack:
                await self._start()
                self.ready.set()
                await self.stopping.wait()
        finally:
            self.ready.set()

    async def _start(self) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
        from playwright.async_api import async_playwright

        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "kitaru_mcp", "--mode", "standard"],
            env=dict(os.environ),
            cwd=ROOT,
        )
        errlog = self.stack.enter_context(open(self.errlog, "a"))  # noqa: SIM115
        read, write = await self.stack.enter_async_context(stdio_client(params, errlog=errlog))
        self.session = await self.stack.enter_async_context(ClientSession(read, write))
        await self.session.initialize()
        playwright = await self.stack.enter_async_context(async_playwright())
        self.browser = await playwright.chromium.launch(
            executable_path=self.chromium, args=["--no-sandbox"]
        )
        self.stack.push_async_callback(self.browser.close)

    def close(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.stopping.set)
            self.main.result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    # -- what the host page calls (Playwright expose_function) --------------------

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        from mcp.shared.exceptions import MCPError

        try:
            result = await self.session.call_tool(name, arguments)
        except MCPError as exc:  # a tool the server does not serve, or a protocol error
            return {"error": str(exc)}
        return {"result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}

    async def read(self, uri: str) -> dict[str, Any]:
        result = await self.session.read_resource(uri)
        content = result.contents[0]
        return {"text": content.text, "mimeType": content.mime_type, "meta": content.meta}

    # -- for the tests ---------------------------------------------------------------

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        out = self.run(self.call(name, arguments))
        assert "result" in out, out
        return out["result"]

    def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.tool(name, arguments)
        assert not result.get("isError"), result["content"][0]["text"]
        return result["structuredContent"]

    async def _open(self, tool: str, arguments: dict[str, Any], theme: str) -> Any:
        page = await self.browser.new_page(viewport={"width": 780, "height": 900})
        page.on("pageerror", lambda exc: print(f"page error: {exc}", file=sys.stderr))
        await page.expose_function("kitaruCall", self.call)
        await page.expose_function("kitaruRead", self.read)
        config = {"tool": tool, "arguments": arguments, "theme": theme}
        await page.add_init_script(f"window.__HOST__ = {json.dumps(config)};")
        host = HOST_HTML.read_text(encoding="utf-8")

        async def serve(route: Any) -> None:  # the host page, from disk: nothing leaves the machine
            await route.fulfill(status=200, content_type="text/html", body=host)

        await page.route(HOST_URL, serve)
        await page.goto(HOST_URL)
        await page.wait_for_function(
            "window.hostState && (window.hostState.resultSent || window.hostState.error)",
            timeout=60_000,
        )
        error = await page.evaluate("window.hostState.error || null")
        assert error is None, error
        return page

    def open(self, tool: str, arguments: dict[str, Any], theme: str = "light") -> Any:
        return self.run(self._open(tool, arguments, theme))


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory):
    chromium = _chromium()
    h = Harness(chromium, tmp_path_factory.mktemp("app-server") / "stderr.log").start()
    yield h
    h.close()


@pytest.fixture(scope="module")
def started(harness: Harness) -> dict[str, str]:
    """Flows started together through the server (they run while the first tests look)."""
    tag = uuid.uuid4().hex[:8]
    runs = {
        "waiting": ("examples/approval.py:approval", {"topic": f"browser {tag}"}),
        "failed": ("tests/flows/failing_two_steps.py:two_steps", {"name": f"browser {tag}"}),
        # markup in the question must show as text, never run
        "count": ("tests/flows/count_wait.py:count_wait", {"label": f"{tag} {MARKUP}"}),
    }

    ids = {}
    for key, (target, args) in runs.items():  # one after the other: each reuses the warm runner
        out = harness.ok("kitaru_executions_run", {"target": target, "args": args})
        ids[key] = out["execution"]["exec_id"]
    return ids


def _settled(harness: Harness, exec_id: str) -> dict[str, Any]:
    out = harness.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 90})
    return out["execution"]


def _shot(page: Any, harness: Harness, tmp_path: Path, name: str) -> Path:
    target = (SCREENSHOTS or tmp_path) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    harness.run(page.locator("#app-frame").screenshot(path=str(target)))
    return target


def _frame(page: Any) -> Any:
    return page.frame_locator("#app-frame")


def test_a_run_is_followed_live_and_its_timeline_lists_the_checkpoints(
    harness: Harness, started: dict[str, str], tmp_path: Path
) -> None:
    name = f"view-{uuid.uuid4().hex[:6]}"
    page = harness.open(
        "kitaru_executions_run",
        {"target": "examples/two_steps.py:two_steps", "args": {"name": name}},
    )
    frame = _frame(page)

    async def check() -> list[str]:
        status = frame.locator(".banner .status")
        await status.get_by_text("completed").wait_for(timeout=60_000)
        items = frame.locator(".timeline li.checkpoint")
        await items.nth(1).wait_for(timeout=10_000)
        return await items.evaluate_all(
            "els => els.map(e => e.dataset.name + ':' + e.dataset.status)"
        )

    assert harness.run(check()) == ["greet:completed", "shout:completed"]
    # standard mode: replay is served, cancel is not; the bars are drawn to scale
    replay = frame.get_by_role("button", name="Replay from checkpoint greet")
    assert harness.run(replay.count()) == 1
    assert harness.run(frame.get_by_role("button", name="Cancel execution").count()) == 0
    assert harness.run(frame.locator(".timeline .bar").count()) == 2
    _shot(page, harness, tmp_path, "completed")
    harness.run(page.close())


def test_the_wait_form_answers_a_real_wait_and_the_execution_completes(
    harness: Harness, started: dict[str, str], tmp_path: Path
) -> None:
    exec_id = started["waiting"]
    assert _settled(harness, exec_id)["status"] == "waiting"
    page = harness.open("kitaru_executions_get", {"exec_id": exec_id})
    frame = _frame(page)

    async def answer() -> None:
        await frame.get_by_text("Publish this draft?").wait_for(timeout=20_000)
        await frame.locator(".timeline li.checkpoint").first.wait_for(timeout=10_000)
        await frame.get_by_role("button", name="Approve").wait_for(timeout=10_000)
        await frame.locator("pre.logs").wait_for(timeout=30_000)  # the newest log lines

    harness.run(answer())
    _shot(page, harness, tmp_path, "waiting")

    async def approve() -> list[str]:
        await frame.get_by_role("button", name="Approve").click()
        await frame.locator(".banner .status").get_by_text("completed").wait_for(timeout=90_000)
        items = frame.locator(".timeline li.checkpoint")
        await items.nth(1).wait_for(timeout=10_000)
        return await items.evaluate_all("els => els.map(e => e.dataset.name)")

    assert harness.run(approve(), timeout=150) == ["draft", "publish"]
    assert harness.ok("kitaru_executions_get", {"exec_id": exec_id})["status"] == "completed"
    harness.run(page.close())


def test_an_answer_failing_the_wait_schema_is_shown_inline_and_not_sent(
    harness: Harness, started: dict[str, str]
) -> None:
    exec_id = started["count"]
    waiting = _settled(harness, exec_id)
    assert waiting["status"] == "waiting", waiting
    page = harness.open("kitaru_executions_get", {"exec_id": exec_id}, theme="dark")
    frame = _frame(page)
    sent = "window.hostState.calls.filter(c => c === 'kitaru_executions_input').length"

    async def bad_answer() -> tuple[str, int]:
        box = frame.get_by_label("Answer")
        await box.wait_for(timeout=20_000)
        await page.wait_for_function(f"{sent} >= 1")  # the view's probe for the tool
        probes = await page.evaluate(sent)
        await box.fill("2.5")
        await frame.get_by_role("button", name="Send answer").click()
        problem = frame.locator(".problems li").first
        await problem.wait_for(timeout=5_000)
        return await problem.inner_text(), await page.evaluate(sent) - probes

    problem, sent_calls = harness.run(bad_answer())
    question = harness.run(frame.locator(".question").inner_text())
    assert MARKUP in question
    assert harness.run(frame.locator("img").count()) == 0
    view = next(f for f in page.frames if f != page.main_frame)
    assert harness.run(view.title()) == "Kitaru execution"  # not "pwned"
    assert "integer" in problem
    assert sent_calls == 0
    assert harness.ok("kitaru_executions_get", {"exec_id": exec_id})["status"] == "waiting"

    async def good_answer() -> None:
        await frame.get_by_label("Answer").fill("3")
        await frame.get_by_role("button", name="Send answer").click()
        await frame.locator(".banner .status").get_by_text("completed").wait_for(timeout=90_000)

    harness.run(good_answer(), timeout=150)
    harness.run(page.close())


def test_a_failed_execution_shows_its_error_and_replays_from_a_checkpoint(
    harness: Harness, started: dict[str, str], tmp_path: Path
) -> None:
    exec_id = started["failed"]
    assert _settled(harness, exec_id)["status"] == "failed"
    page = harness.open("kitaru_executions_get", {"exec_id": exec_id}, theme="dark")
    frame = _frame(page)

    async def check() -> tuple[str, str]:
        failure = frame.locator("section.failure")
        await failure.get_by_text("boom: cannot shout").first.wait_for(timeout=20_000)
        traceback = failure.locator("pre")  # the excerpt, from the execution's logs
        await traceback.wait_for(timeout=30_000)
        return await failure.locator("p.error-text").inner_text(), await traceback.inner_text()

    error, traceback = harness.run(check())
    assert "RuntimeError" in error and "boom: cannot shout" in error
    assert traceback.startswith("Traceback (most recent call last)")
    assert "RuntimeError: boom: cannot shout" in traceback
    _shot(page, harness, tmp_path, "failed-dark")

    async def replay() -> str:  # "Replay from here" starts a new execution and shows it
        await frame.get_by_role("button", name="Replay from checkpoint shout").click()
        await frame.get_by_text(f"replay of {exec_id}").wait_for(timeout=60_000)
        return await frame.locator(".banner .id").inner_text()

    replayed = harness.run(replay(), timeout=90)
    assert replayed != exec_id
    assert harness.ok("kitaru_executions_get", {"exec_id": replayed})["original_exec_id"] == exec_id
    harness.run(page.close())


def test_an_unknown_exec_id_shows_the_not_found_message(harness: Harness) -> None:
    direct = harness.tool("kitaru_executions_get", {"exec_id": UNKNOWN_ID})
    assert direct.get("isError")
    message = json.loads(direct["content"][0]["text"])["message"]
    page = harness.open("kitaru_executions_get", {"exec_id": UNKNOWN_ID})
    frame = _frame(page)

    async def check() -> str:
        error = frame.locator('[data-code="not_found"]')
        await error.wait_for(timeout=20_000)
        return await error.inner_text()

    shown = harness.run(check())
    assert message in shown
    harness.run(page.close())
